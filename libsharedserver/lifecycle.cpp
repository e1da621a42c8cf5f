#include "lifecycle.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <dirent.h>
#include <set>
#include <unistd.h>

#include "clock.hpp"
#include "duration.hpp"
#include "events.hpp"
#include "files.hpp"
#include "name_lock.hpp"
#include "names.hpp"
#include "ports.hpp"
#include "probe.hpp"
#include "spawn.hpp"
#include "spec_limits.hpp"
#include "termination.hpp"

namespace sharedserver {

using nlohmann::json;

namespace {

std::string current_directory() {
    char buf[PATH_MAX];
    return ::getcwd(buf, sizeof buf) ? std::string(buf) : std::string("/");
}

std::string absolute(const std::string &path) {
    if (path.empty() || path.front() == '/') return path;
    return current_directory() + "/" + path;
}

std::string join(const std::vector<std::string> &items) {
    std::string out;
    for (const auto &item : items) out += (out.empty() ? "" : " ") + item;
    return out;
}

std::unexpected<Error> not_running(const std::string &name) {
    return fail(SHAREDSERVER_ENOTRUNNING,
                "server " + quote(name) + " is not running; start it with `sharedserver use " + name +
                    " -- <command>`");
}

// Whether the live server a record names is somebody else's process (a
// recycled pid): never to be touched. Liveness is read again after the
// ownership check, into `server_up`: a server that dies between the two
// reads loses its /proc entry, which must not pass for somebody else's
// (`use` failed with "not your server" when a server was killed then).
bool names_a_stranger(const ServerRecord &record, bool &server_up) {
    if (!server_up || process_owned_by_me(record.server.pid)) return false;
    server_up = server_alive(record);
    return server_up;
}

void remove_records(const ServerFiles &files) {
    (void)remove_file(files.clients());
    (void)remove_file(files.server());
}

// Drops clients whose process is gone and returns them. Their
// `client-died` events wait until the caller has written the clients record
// without them (record_client_deaths): an event is never visible before the
// state it describes (DESIGN §4, events).
std::vector<pid_t> prune_dead_clients(ClientMap &clients) {
    std::vector<pid_t> dead;
    for (auto it = clients.begin(); it != clients.end();) {
        if (process_alive({it->first, it->second.start})) {
            ++it;
            continue;
        }
        dead.push_back(it->first);
        it = clients.erase(it);
    }
    return dead;
}

void record_client_deaths(const ServerFiles &files, const std::vector<pid_t> &dead) {
    for (pid_t pid : dead) record_event(files, "client-died", {{"client", pid}});
}

// Under the lock, for a record whose server is gone: what its group left
// behind (children of a leader killed with its watcher) must not run on
// beside the next server.
void forget_dead_server(const ServerFiles &files, const ServerRecord &record) {
    if (record.boot_id == boot_id() && !process_start_stamp(record.pgid)) reap_group_stragglers(record.pgid);
    remove_records(files);
    record_event(files, "repaired", {{"what", "removed the record of a server that is gone"}, {"pid", record.server.pid}});
}

Result<ServerRecord> start_locked(const ServerFiles &files, const std::string &watcher_path,
                                  const ServerSpec &spec, const ClientMap &clients, int port = 0);

// Under the lock: the live record of `name`, after repairing what a dead
// process left behind. A stale record is removed (nullopt); a live server
// whose watcher died gets a new one; a stop or a restart whose client died
// midway is finished. The live server's watcher is woken here, before the
// caller writes; with `wake_later`, its handle goes there instead, for a
// caller that wakes it only when it writes what the watcher must learn.
Result<std::optional<ServerRecord>> load_live_record(const ServerFiles &files,
                                                     const std::string &watcher_path,
                                                     ProcessHandle *wake_later = nullptr) {
    auto loaded = load_server_record(files);
    if (!loaded) return std::unexpected(loaded.error());
    if (!*loaded) {
        (void)remove_file(files.clients());  // clients of no server are meaningless
        return std::optional<ServerRecord>{};
    }
    ServerRecord record = **loaded;
    bool server_up = server_alive(record);
    if (record.server.pid <= 1 || names_a_stranger(record, server_up))
        return fail(SHAREDSERVER_ECORRUPT,
                    "record " + quote(files.server()) + " names pid " + std::to_string(record.server.pid) +
                        ", which is not your server; run `sharedserver admin doctor` to remove it",
                    0, files.server());
    // Opened before the watcher's identity is checked, to wake it below.
    ProcessHandle watcher = record.watcher_wakes_on_signal ? ProcessHandle(record.watcher.pid) : ProcessHandle();
    bool watcher_up = watcher_alive(record);
    // `restarting` is written by two hands. A client's restart (admin restart,
    // use on a changed definition) sets it, with readiness cleared, while the
    // old process still runs, and holds this lock until the new server's
    // record replaces it. The watcher sets it, keeping the readiness, only for
    // a server that exited after becoming ready and that its policy starts
    // again. So a client's mark seen under the lock means its restarter died
    // midway: the old server runs on, and every reader would see "starting"
    // forever (and every `use` time out waiting for it to be ready).
    bool restarter_died = record.restarting && (server_up || record.ready_at_ms == 0);
    if (!server_up && !(record.restarting && watcher_up && !restarter_died)) {  // record_alive(), from what we just read
        forget_dead_server(files, record);
        return std::optional<ServerRecord>{};
    }
    if (record.stopping) {
        terminate_server(record.server, record.pgid, 0, true);
        remove_records(files);
        record_event(files, "repaired", {{"what", "finished an interrupted stop"}, {"pid", record.server.pid}});
        return std::optional<ServerRecord>{};
    }
    if (restarter_died) {
        // Finish it as restart() would have: the old process goes, the clients stay.
        auto clients = load_clients(files);
        ClientMap kept = clients ? *clients : ClientMap{};
        auto dead = prune_dead_clients(kept);
        if (terminate_server(record.server, record.pgid, default_stop_timeout_ms, true) != Termination::gone)
            return fail(SHAREDSERVER_EPERM, "cannot stop pid " + std::to_string(record.server.pid) + " of " +
                                                quote(files.name) + " to finish its interrupted restart");
        auto restarted = start_locked(files, watcher_path, record.spec, kept, record.port);
        if (!restarted) {
            remove_records(files);
            return std::unexpected(restarted.error());
        }
        record_client_deaths(files, dead);
        record_event(files, "repaired", {{"what", "finished an interrupted restart"},
                                         {"old_pid", record.server.pid},
                                         {"pid", restarted->server.pid}});
        return std::optional<ServerRecord>{*restarted};
    }
    if (!watcher_up) {
        auto adopted = adopt_server(watcher_path, files, record.server);
        if (!adopted && !server_alive(record)) {  // it died while we adopted it
            forget_dead_server(files, record);
            return std::optional<ServerRecord>{};
        }
        if (!adopted) return std::unexpected(adopted.error());
        record.watcher = adopted->watcher;
        record.watcher_wakes_on_signal = adopted->watcher_wakes_on_signal;
        if (auto saved = save_server_record(files, record); !saved) return std::unexpected(saved.error());
        record_event(files, "adopted", {{"pid", record.server.pid}, {"watcher_pid", record.watcher.pid}});
    } else if (process_owned_by_me(record.watcher.pid)) {
        // The caller is about to write: wake the watcher now, before the
        // writes, so a caller killed midway cannot leave it asleep. It waits
        // for our lock before it reads.
        if (wake_later) *wake_later = std::move(watcher);
        else (void)watcher.signal(SIGUSR1);
    }
    return std::optional<ServerRecord>{record};
}

// Spawns the server and writes both records before the lock is released.
// `port`: the one a restarted server keeps; 0 lets the spec decide.
Result<ServerRecord> start_locked(const ServerFiles &files, const std::string &watcher_path,
                                  const ServerSpec &spec, const ClientMap &clients, int port) {
    if (port == 0 && spec.port == SHAREDSERVER_PORT_AUTO) {
        auto allocated = allocate_free_port();
        if (!allocated) return std::unexpected(allocated.error());
        port = *allocated;
    } else if (port == 0) {
        port = spec.port;
    }
    auto spawned = spawn_server(watcher_path, files, spec_for_port(spec, port));
    if (!spawned) {
        Error error = spawned.error();
        error.message = "cannot start " + quote(files.name) + ": " + error.message;
        return std::unexpected(error);
    }
    ServerRecord record;
    record.name = files.name;
    record.server = spawned->server;
    record.pgid = spawned->server.pid;
    record.watcher = spawned->watcher;
    record.watcher_wakes_on_signal = spawned->watcher_wakes_on_signal;
    record.boot_id = boot_id();
    record.spec = spec;
    record.started_at_ms = unix_now_ms();
    record.port = port;
    record.ready_at_ms = spec.ready.kind == SHAREDSERVER_PROBE_NONE ? record.started_at_ms : 0;
    if (clients.empty()) record.grace_deadline_ms = record.started_at_ms + spec.grace_period_ms;
    if (auto saved = save_server_record(files, record); !saved) return std::unexpected(saved.error());
    if (auto saved = save_clients(files, clients); !saved) {
        (void)remove_file(files.server());  // the watcher then stops the server it launched
        return std::unexpected(saved.error());
    }
    json started = {{"pid", record.server.pid},
                    {"watcher_pid", record.watcher.pid},
                    {"command", spec.argv},
                    {"log_file", spec.log_file}};
    if (port > 0) started["port"] = port;
    record_event(files, "started", started);
    spawned->handshake.close();
    return record;
}

}  // namespace

std::vector<std::string> names_in_state_dir(const std::string &dir) {
    std::set<std::string> names;
    DIR *d = ::opendir(dir.c_str());
    if (!d) return {};
    static const std::string suffixes[] = {".server.json", ".clients.json", ".lock"};
    while (dirent *entry = ::readdir(d)) {
        std::string file = entry->d_name;
        for (const auto &suffix : suffixes) {
            if (file.size() > suffix.size() && file.ends_with(suffix)) {
                std::string name = file.substr(0, file.size() - suffix.size());
                if (validate_name(name)) names.insert(name);
            }
        }
    }
    ::closedir(d);
    return {names.begin(), names.end()};
}

Result<ServerSpec> normalize_spec(ServerSpec spec, const ServerFiles &files) {
    if (spec.argv.empty() || spec.argv.front().empty())
        return fail(SHAREDSERVER_EINVALID, "no command given for " + quote(files.name) +
                                               ": pass it after `--` (sharedserver use " + files.name +
                                               " -- <command> [args...])");
    for (const auto &entry : spec.env) {
        auto eq = entry.find('=');
        if (eq == std::string::npos || eq == 0)
            return fail(SHAREDSERVER_EINVALID,
                        "invalid environment entry " + quote(entry) + ": expected KEY=VALUE (e.g. --env PORT=8080)");
    }
    if (spec.grace_period_ms < 0) spec.grace_period_ms = default_grace_period_ms;
    if (spec.port < SHAREDSERVER_PORT_AUTO || spec.port > 65535)
        return fail(SHAREDSERVER_EINVALID, "invalid port " + std::to_string(spec.port) +
                                               ": expected auto or a number from 1 to 65535");
    if (auto probe = normalize_probe(spec.ready, spec.port != 0); !probe) return std::unexpected(probe.error());
    if (spec.restart.mode < SHAREDSERVER_RESTART_NO || spec.restart.mode > SHAREDSERVER_RESTART_ALWAYS)
        return fail(SHAREDSERVER_EINVALID, "invalid restart policy " + std::to_string(spec.restart.mode) +
                                               ": expected no, on-failure or always");
    if (spec.restart.max_restarts < 0) spec.restart.max_restarts = 5;
    if (spec.log_max_size < 0) spec.log_max_size = default_log_max_size;
    if (spec.restart.window_ms < 0) spec.restart.window_ms = 60'000;
    spec.working_dir = spec.working_dir.empty() ? current_directory() : absolute(spec.working_dir);
    spec.log_file = spec.log_file.empty() ? files.log() : absolute(spec.log_file);
    if (auto within = check_spec_limits(spec, files.name); !within) return std::unexpected(within.error());
    return spec;
}

std::string describe_mismatch(const ServerSpec &running, const ServerSpec &asked, bool compare_working_dir) {
    std::vector<std::string> parts;
    if (running.argv != asked.argv)
        parts.push_back("command is `" + join(running.argv) + "`, asked `" + join(asked.argv) + "`");
    if (running.env != asked.env)
        parts.push_back("env is [" + join(running.env) + "], asked [" + join(asked.env) + "]");
    if (compare_working_dir && running.working_dir != asked.working_dir)
        parts.push_back("working dir is " + running.working_dir + ", asked " + asked.working_dir);
    std::string out;
    for (const auto &p : parts) out += (out.empty() ? "" : "; ") + p;
    return out;
}

Result<UseOutcome> Lifecycle::use(const std::string &name, const UseRequest &request) {
    if (auto valid = validate_name(name); !valid) return std::unexpected(valid.error());
    ServerFiles f = files(name);
    if (auto metadata = check_metadata(request.metadata); !metadata) return std::unexpected(metadata.error());
    std::optional<ServerSpec> spec;
    if (request.spec) {
        auto normalized = normalize_spec(*request.spec, f);
        if (!normalized) return std::unexpected(normalized.error());
        spec = *normalized;
    }
    auto lock = NameLock::acquire(f.lock());
    if (!lock) return std::unexpected(lock.error());
    ProcessHandle watcher;
    auto live = load_live_record(f, watcher_path_, &watcher);
    if (!live) return std::unexpected(live.error());

    ClientEntry entry{request.client.start, unix_now_ms(), request.metadata};
    UseOutcome outcome;
    if (!*live) {
        if (!spec) {
            lock->remove_file();
            return not_running(name);
        }
        ClientMap clients{{request.client.pid, entry}};
        auto record = start_locked(f, watcher_path_, *spec, clients);
        if (!record) {
            lock->remove_file();
            return std::unexpected(record.error());
        }
        outcome.outcome = SHAREDSERVER_STARTED;
        outcome.server = record->server;
        outcome.port = record->port;
        outcome.ready = record->ready_at_ms > 0;
        outcome.refcount = 1;
        record_event(f, "attached", {{"client", request.client.pid}});
        return outcome;
    }

    ServerRecord &record = **live;
    std::string mismatch = spec ? describe_mismatch(record.spec, *spec, request.working_dir_given) : "";
    if (!mismatch.empty() && request.on_mismatch == SHAREDSERVER_MISMATCH_ERROR)
        return fail(SHAREDSERVER_EALREADY, "server " + quote(name) + " runs with a different definition (" + mismatch +
                                               "); stop it first, or ask to restart it on a mismatch");
    auto clients = load_clients(f);
    if (!clients) return std::unexpected(clients.error());
    auto dead = prune_dead_clients(*clients);
    bool in_grace = clients->empty();
    auto existing = clients->find(request.client.pid);
    bool joins = existing == clients->end() || existing->second.start != request.client.start;
    if (joins) (*clients)[request.client.pid] = entry;
    // The watcher must learn of a new client (to see it die) and of any
    // change to the record; a client already attached changes neither.
    if (joins || in_grace || !mismatch.empty()) (void)watcher.signal(SIGUSR1);
    if (!mismatch.empty() && request.on_mismatch == SHAREDSERVER_MISMATCH_RESTART) {
        // The new definition wins: the old process goes, the clients stay.
        ServerRecord old = record;
        old.restarting = true;
        old.ready_at_ms = 0;
        (void)save_server_record(f, old);
        record_event(f, "stopping", {{"pid", old.server.pid}, {"reason", "definition changed: " + mismatch}});
        if (terminate_server(old.server, old.pgid, default_stop_timeout_ms, true) != Termination::gone)
            return fail(SHAREDSERVER_EPERM, "cannot stop pid " + std::to_string(old.server.pid) + " of " + quote(name));
        int keep_port = spec->port == old.spec.port ? old.port : 0;
        auto started = start_locked(f, watcher_path_, *spec, *clients, keep_port);
        if (!started) {
            remove_records(f);
            lock->remove_file();
            return std::unexpected(started.error());
        }
        record_client_deaths(f, dead);
        record_event(f, "restarted", {{"old_pid", old.server.pid}, {"pid", started->server.pid}, {"reason", "definition changed"}});
        outcome.outcome = SHAREDSERVER_STARTED;
        outcome.server = started->server;
        outcome.port = started->port;
        outcome.ready = started->ready_at_ms > 0;
        outcome.refcount = clients->size();
        outcome.mismatch = mismatch;
        return outcome;
    }
    if (in_grace) {
        record.grace_deadline_ms = 0;
        if (auto saved = save_server_record(f, record); !saved) return std::unexpected(saved.error());
    }
    // Grace ends when clients.json exists again: the events follow it.
    if (auto saved = save_clients(f, *clients); !saved) return std::unexpected(saved.error());
    record_client_deaths(f, dead);
    if (in_grace) record_event(f, "grace-cancelled", {{"client", request.client.pid}});
    record_event(f, "attached", {{"client", request.client.pid}});
    outcome.outcome = in_grace ? SHAREDSERVER_RESCUED : SHAREDSERVER_ATTACHED;
    outcome.server = record.server;
    outcome.port = record.port;
    outcome.ready = record.ready_at_ms > 0 && !record.restarting;
    outcome.refcount = clients->size();
    outcome.mismatch = mismatch;
    return outcome;
}

Result<std::size_t> Lifecycle::unuse(const std::string &name, pid_t client) {
    if (auto valid = validate_name(name); !valid) return std::unexpected(valid.error());
    ServerFiles f = files(name);
    if (!file_exists(f.server())) return not_running(name);
    auto lock = NameLock::acquire(f.lock());
    if (!lock) return std::unexpected(lock.error());
    ProcessHandle watcher;
    auto live = load_live_record(f, watcher_path_, &watcher);
    if (!live) return std::unexpected(live.error());
    if (!*live) {
        lock->remove_file();
        return not_running(name);
    }
    ServerRecord &record = **live;
    auto clients = load_clients(f);
    if (!clients) return std::unexpected(clients.error());
    if (clients->erase(client) == 0) {
        std::string attached;
        for (const auto &[pid, c] : *clients) attached += (attached.empty() ? "" : ", ") + std::to_string(pid);
        return fail(SHAREDSERVER_ENOTCLIENT,
                    "pid " + std::to_string(client) + " is not attached to " + quote(name) +
                        (attached.empty() ? std::string(" (no client is attached)") : " (attached: " + attached + ")") +
                        "; pass the pid that ran `use` with --pid");
    }
    auto dead = prune_dead_clients(*clients);
    // A client that leaves while others stay is none of the watcher's
    // business (it only ever watched it die); the last one starts the grace
    // period, which it must time.
    if (clients->empty()) (void)watcher.signal(SIGUSR1);
    if (clients->empty()) {
        record.grace_deadline_ms = unix_now_ms() + record.spec.grace_period_ms;
        // The deadline is written before clients.json disappears: the watcher
        // reads it when it sees the removal.
        if (auto saved = save_server_record(f, record); !saved) return std::unexpected(saved.error());
    }
    if (auto saved = save_clients(f, *clients); !saved) return std::unexpected(saved.error());
    record_event(f, "detached", {{"client", client}});
    record_client_deaths(f, dead);
    if (clients->empty()) record_event(f, "grace-entered", {{"deadline", record.grace_deadline_ms}});
    return clients->size();
}

Result<ServerRecord> Lifecycle::start(const std::string &name, const ServerSpec &asked) {
    if (auto valid = validate_name(name); !valid) return std::unexpected(valid.error());
    ServerFiles f = files(name);
    auto spec = normalize_spec(asked, f);
    if (!spec) return std::unexpected(spec.error());
    auto lock = NameLock::acquire(f.lock());
    if (!lock) return std::unexpected(lock.error());
    auto live = load_live_record(f, watcher_path_);
    if (!live) return std::unexpected(live.error());
    if (*live)
        return fail(SHAREDSERVER_EALREADY, "server " + quote(name) + " is already running (pid " +
                                               std::to_string((*live)->server.pid) +
                                               "); use `sharedserver use " + name + "` to attach");
    auto record = start_locked(f, watcher_path_, *spec, {});
    if (!record) {
        lock->remove_file();
        return std::unexpected(record.error());
    }
    record_event(f, "grace-entered", {{"deadline", record->grace_deadline_ms}});
    return *record;
}

Status Lifecycle::stop(const std::string &name, bool force, int64_t timeout_ms) {
    if (auto valid = validate_name(name); !valid) return std::unexpected(valid.error());
    if (timeout_ms < 0) timeout_ms = default_stop_timeout_ms;
    ServerFiles f = files(name);
    if (!file_exists(f.server())) return not_running(name);
    auto lock = NameLock::acquire(f.lock());
    if (!lock) return std::unexpected(lock.error());
    auto live = load_live_record(f, watcher_path_);
    if (!live) return std::unexpected(live.error());
    if (!*live) {
        lock->remove_file();
        return not_running(name);
    }
    ServerRecord record = **live;
    record.stopping = true;
    (void)save_server_record(f, record);
    record_event(f, "stopping", {{"pid", record.server.pid}, {"force", force}, {"by", getpid()}});
    switch (terminate_server(record.server, record.pgid, timeout_ms, force)) {
        case Termination::gone:
            break;
        case Termination::not_ours:
            record.stopping = false;
            (void)save_server_record(f, record);
            return fail(SHAREDSERVER_EPERM, "refusing to signal pid " + std::to_string(record.server.pid) +
                                                " of " + quote(name) + ": it is not your process");
        case Termination::still_running:
            record.stopping = false;
            (void)save_server_record(f, record);
            return fail(SHAREDSERVER_ETIMEOUT,
                        "server " + quote(name) + " (pid " + std::to_string(record.server.pid) +
                            ") did not exit within " + format_duration(timeout_ms) +
                            " of SIGTERM; use --force to SIGKILL it");
    }
    remove_records(f);
    lock->remove_file();
    return {};
}

Result<ProcessId> Lifecycle::restart(const std::string &name) {
    if (auto valid = validate_name(name); !valid) return std::unexpected(valid.error());
    ServerFiles f = files(name);
    if (!file_exists(f.server())) return not_running(name);
    auto lock = NameLock::acquire(f.lock());
    if (!lock) return std::unexpected(lock.error());
    auto live = load_live_record(f, watcher_path_);
    if (!live) return std::unexpected(live.error());
    if (!*live) {
        lock->remove_file();
        return not_running(name);
    }
    ServerRecord old = **live;
    auto clients = load_clients(f);
    if (!clients) return std::unexpected(clients.error());
    auto dead = prune_dead_clients(*clients);
    // Readers see "starting" (not "stopped") while the old process goes.
    old.restarting = true;
    old.ready_at_ms = 0;
    (void)save_server_record(f, old);
    record_event(f, "stopping", {{"pid", old.server.pid}, {"reason", "restart"}});
    if (terminate_server(old.server, old.pgid, default_stop_timeout_ms, true) != Termination::gone)
        return fail(SHAREDSERVER_EPERM, "cannot stop pid " + std::to_string(old.server.pid) + " of " + quote(name));
    auto record = start_locked(f, watcher_path_, old.spec, *clients, old.port);
    if (!record) {
        remove_records(f);
        lock->remove_file();
        return std::unexpected(record.error());
    }
    record_client_deaths(f, dead);
    record_event(f, "restarted", {{"old_pid", old.server.pid}, {"pid", record->server.pid}});
    return record->server;
}

Status Lifecycle::kill(const std::string &name) {
    if (auto valid = validate_name(name); !valid) return std::unexpected(valid.error());
    ServerFiles f = files(name);
    auto lock = NameLock::acquire(f.lock());
    if (!lock) return std::unexpected(lock.error());
    auto loaded = load_server_record(f);
    bool found = loaded && *loaded;
    if (found) {
        const ServerRecord &record = **loaded;
        if (watcher_alive(record) && process_owned_by_me(record.watcher.pid)) ::kill(record.watcher.pid, SIGKILL);
        if (server_alive(record) && process_owned_by_me(record.server.pid)) {
            ::kill(record.pgid > 1 ? -record.pgid : record.server.pid, SIGKILL);
            wait_for_exit(record.server, 2000);
        }
    }
    bool had_files = found || !loaded || file_exists(f.clients());
    remove_records(f);
    if (found) record_event(f, "killed", {{"pid", (*loaded)->server.pid}});
    lock->remove_file();
    if (!had_files) return not_running(name);
    return {};
}

Result<std::vector<std::string>> Lifecycle::doctor(const std::string &only) {
    std::vector<std::string> names;
    if (!only.empty()) {
        if (auto valid = validate_name(only); !valid) return std::unexpected(valid.error());
        names.push_back(only);
    } else {
        names = names_in_state_dir(dir_);
    }
    std::vector<std::string> report;
    for (const auto &name : names) {
        ServerFiles f = files(name);
        auto lock = NameLock::acquire(f.lock());
        if (!lock) return std::unexpected(lock.error());
        auto loaded = load_server_record(f);
        if (!loaded) {
            // No record to name its watcher: find it by its arguments, and
            // wake it before the removal (see load_live_record) so it stops
            // the server, which must not outlive its record.
            for (const ProcessId &watcher : find_watchers_blocking(dir_, name, SIGUSR1))
                (void)signal_exactly(watcher, SIGUSR1);
            remove_records(f);
            report.push_back(name + ": removed a corrupt record (" + loaded.error().message + ")");
            record_event(f, "repaired", {{"what", "removed a corrupt record"}});
            lock->remove_file();
            continue;
        }
        if (!*loaded) {
            if (file_exists(f.clients())) {
                (void)remove_file(f.clients());
                report.push_back(name + ": removed a clients record without a server");
            }
            lock->remove_file();
            continue;
        }
        const ServerRecord &record = **loaded;
        bool server_up = server_alive(record);
        if (record.server.pid <= 1 || names_a_stranger(record, server_up)) {
            remove_records(f);
            lock->remove_file();
            report.push_back(name + ": removed a record naming pid " + std::to_string(record.server.pid) +
                             ", which is not your server (it was not signalled)");
            continue;
        }
        if (!record_alive(record)) {
            forget_dead_server(f, record);
            lock->remove_file();
            report.push_back(name + ": removed the record of pid " + std::to_string(record.server.pid) +
                             ", which is no longer running");
            continue;
        }
        bool had_watcher = watcher_alive(record);
        auto live = load_live_record(f, watcher_path_);
        if (!live) return std::unexpected(live.error());
        if (!had_watcher && *live)
            report.push_back(name + ": adopted server pid " + std::to_string(record.server.pid) +
                             " with a new watcher (pid " + std::to_string((*live)->watcher.pid) + ")");
        auto clients = load_clients(f);
        if (!clients) {
            (void)remove_file(f.clients());
            report.push_back(name + ": removed a corrupt clients record; the server is now in its grace period");
            continue;
        }
        if (auto dead = prune_dead_clients(*clients); !dead.empty()) {
            if (clients->empty() && *live) {
                ServerRecord updated = **live;
                updated.grace_deadline_ms = unix_now_ms() + updated.spec.grace_period_ms;
                (void)save_server_record(f, updated);
            }
            (void)save_clients(f, *clients);
            record_client_deaths(f, dead);
            report.push_back(name + ": removed clients that are no longer running");
        }
    }
    return report;
}

}  // namespace sharedserver
