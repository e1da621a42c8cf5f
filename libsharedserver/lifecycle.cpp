#include "lifecycle.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <dirent.h>
#include <map>
#include <set>
#include <unistd.h>

#include "clock.hpp"
#include "definition.hpp"
#include "duration.hpp"
#include "events.hpp"
#include "files.hpp"
#include "name_lock.hpp"
#include "names.hpp"
#include "ownership.hpp"
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
                "server " + quote(name) + " is not running");
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

// What a record proves about its server's processes. Nothing, from another
// boot; not a live leader or watcher that is somebody else's (a forged
// record, or a recycled pid: it is never to be touched).
ServerIdentity identity_of(const ServerRecord &record) {
    if (!record.boot_id.empty() && record.boot_id != boot_id()) return {};
    ServerIdentity identity{record.server, record.watcher, record.instance};
    if (process_start_stamp(record.server.pid) && !process_owned_by_me(record.server.pid)) identity.leader = {};
    if (process_start_stamp(record.watcher.pid) && !process_owned_by_me(record.watcher.pid)) identity.watcher = {};
    return identity;
}

std::string plural(std::size_t n, const char *one, const char *many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

// Under the lock, for a record whose server is gone: what it left behind
// (children of a leader killed with its watcher, a daemon's double fork)
// must not run on beside the next server. Only what is proven its own is
// stopped: its old group id may be another's by now (the leader gone, the
// number reused by a group whose leader is gone too); what is in that group
// but not proven ours is left alone and reported. Returns what it did, for
// doctor's report ("" when nothing was left).
std::string forget_dead_server(const ServerFiles &files, const ServerRecord &record) {
    ServerIdentity identity = identity_of(record);
    Stopped stopped = terminate_server(identity, default_stop_timeout_ms, true);
    json fields = {{"what", "removed the record of a server that is gone"}, {"pid", record.server.pid},
                   {"leftovers", stopped.leftovers}};
    std::string said;
    if (stopped.leftovers > 0) said += "; stopped " + plural(stopped.leftovers, "process", "processes") + " it left";
    if (identity.leader.pid > 0) {
        Members members(identity);
        members.refresh();
        std::vector<ProcessId> strangers = members.unproven_in_group(record.pgid);
        if (!strangers.empty()) {
            json pids = json::array();
            for (const auto &id : strangers) pids.push_back(id.pid);
            record_event(files, "left-alone", {{"pgid", record.pgid}, {"pids", pids},
                                               {"reason", "in the old server's process group, but not proven ours"}});
            said += "; left alone " + plural(strangers.size(), "process", "processes") + " of process group " +
                    std::to_string(record.pgid) + ", not proven yours";
        }
    }
    remove_records(files);
    record_event(files, "repaired", fields);
    return said;
}

Result<ServerRecord> start_locked(const ServerFiles &files, const WatcherExecutable &watcher_exe,
                                  const ServerSpec &spec, const ClientMap &clients, int port = 0);

// Under the lock: the live record of `name`, after repairing what a dead
// process left behind. A stale record is removed (nullopt); a live server
// whose watcher died gets a new one; a stop or a restart whose client died
// midway is finished. The live server's watcher is woken here, before the
// caller writes; with `wake_later`, its handle goes there instead, for a
// caller that wakes it only when it writes what the watcher must learn.
Result<std::optional<ServerRecord>> load_live_record(const ServerFiles &files,
                                                     const WatcherExecutable &watcher_exe,
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
                        ", which is not your server; remove it with doctor",
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
        terminate_server(identity_of(record), 0, true);
        remove_records(files);
        record_event(files, "repaired", {{"what", "finished an interrupted stop"}, {"pid", record.server.pid}});
        return std::optional<ServerRecord>{};
    }
    if (restarter_died) {
        // Finish it as restart() would have: the old process goes, the clients stay.
        auto clients = load_clients(files);
        ClientMap kept = clients ? *clients : ClientMap{};
        auto dead = prune_dead_clients(kept);
        if (terminate_server(identity_of(record), default_stop_timeout_ms, true).outcome != Termination::gone)
            return fail(SHAREDSERVER_EPERM, "cannot stop pid " + std::to_string(record.server.pid) + " of " +
                                                quote(files.name) + " to finish its interrupted restart");
        auto restarted = start_locked(files, watcher_exe, record.spec, kept, record.port);
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
        auto adopted = adopt_server(watcher_exe.path(), files, record.server, record.instance);
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
// The records of a server just launched cannot be written (a full disk): its
// watcher stops it, and the caller learns why only once it is gone, so a
// failed `use` leaves nothing running.
std::unexpected<Error> abandon_launch(SpawnedServer &spawned, const std::string &name, Error why) {
    spawned.handshake.abandon();
    (void)wait_for_exit(spawned.watcher, default_stop_timeout_ms + 3000);
    why.message = "cannot start " + quote(name) + ": " + why.message;
    return std::unexpected(why);
}

Result<ServerRecord> start_locked(const ServerFiles &files, const WatcherExecutable &watcher_exe,
                                  const ServerSpec &spec, const ClientMap &clients, int port) {
    if (port == 0 && spec.port == SHAREDSERVER_PORT_AUTO) {
        auto allocated = allocate_free_port();
        if (!allocated) return std::unexpected(allocated.error());
        port = *allocated;
    } else if (port == 0) {
        port = spec.port;
    }
    auto spawned = spawn_server(watcher_exe.path(), files, spec_for_port(spec, port));
    if (!spawned) {
        Error error = spawned.error();
        // A bad readiness pattern, found by the watcher, is the caller's input.
        if (error.code != SHAREDSERVER_EINVALID) error.message = "cannot start " + quote(files.name) + ": " + error.message;
        return std::unexpected(error);
    }
    ServerRecord record;
    record.name = files.name;
    record.server = spawned->server;
    record.pgid = spawned->server.pid;
    record.watcher = spawned->watcher;
    record.watcher_wakes_on_signal = spawned->watcher_wakes_on_signal;
    record.instance = spawned->instance;
    record.boot_id = boot_id();
    record.spec = spec;
    record.started_at_ms = unix_now_ms();
    record.port = port;
    record.ready_at_ms = spec.ready.kind == SHAREDSERVER_PROBE_NONE ? record.started_at_ms : 0;
    if (clients.empty()) start_grace(record);
    if (auto saved = save_server_record(files, record); !saved) return abandon_launch(*spawned, files.name, saved.error());
    if (auto saved = save_clients(files, clients); !saved) {
        (void)remove_file(files.server());
        return abandon_launch(*spawned, files.name, saved.error());
    }
    json started = {{"pid", record.server.pid},
                    {"watcher_pid", record.watcher.pid},
                    {"command", spec.argv},
                    {"log_file", spec.log_file},
                    {"ready", record.ready_at_ms > 0}};
    if (port > 0) started["port"] = port;
    record_event(files, "started", started);
    spawned->handshake.claim();
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
        return std::unexpected(Error{SHAREDSERVER_EINVALID, "no command given for " + quote(files.name) + ": a definition needs a command to start",
                                     0, {}, "command"});
    if (auto valid = validate_definition(spec, files.name); !valid) return std::unexpected(valid.error());
    spec = with_defaults(std::move(spec));
    (void)normalize_probe(spec.ready, spec.port != 0);
    spec.working_dir = spec.working_dir.empty() ? current_directory() : absolute(spec.working_dir);
    spec.log_file = spec.log_file.empty() ? files.log() : absolute(spec.log_file);
    // The filled-in paths count towards the size limits too.
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
    auto live = load_live_record(f, watcher_, &watcher);
    if (!live) return std::unexpected(live.error());

    ClientEntry entry{request.client.start, unix_now_ms(), request.metadata};
    UseOutcome outcome;
    if (!*live) {
        if (!spec) {
            lock->remove_file();
            return not_running(name);
        }
        ClientMap clients{{request.client.pid, entry}};
        auto record = start_locked(f, watcher_, *spec, clients);
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
        if (terminate_server(identity_of(old), default_stop_timeout_ms, true).outcome != Termination::gone)
            return fail(SHAREDSERVER_EPERM, "cannot stop pid " + std::to_string(old.server.pid) + " of " + quote(name));
        int keep_port = spec->port == old.spec.port ? old.port : 0;
        auto started = start_locked(f, watcher_, *spec, *clients, keep_port);
        if (!started) {
            remove_records(f);
            lock->remove_file();
            return std::unexpected(started.error());
        }
        record_client_deaths(f, dead);
        record_event(f, "restarted", {{"old_pid", old.server.pid},
                                      {"pid", started->server.pid},
                                      {"reason", "definition changed"},
                                      {"ready", started->ready_at_ms > 0}});
        outcome.outcome = SHAREDSERVER_STARTED;
        outcome.server = started->server;
        outcome.port = started->port;
        outcome.ready = started->ready_at_ms > 0;
        outcome.refcount = clients->size();
        outcome.mismatch = mismatch;
        return outcome;
    }
    if (in_grace) {
        cancel_grace(record);
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
    outcome.joined = joins;
    return outcome;
}

Result<std::size_t> Lifecycle::unuse(const std::string &name, pid_t client) {
    if (auto valid = validate_name(name); !valid) return std::unexpected(valid.error());
    ServerFiles f = files(name);
    if (!file_exists(f.server())) return not_running(name);
    auto lock = NameLock::acquire(f.lock());
    if (!lock) return std::unexpected(lock.error());
    ProcessHandle watcher;
    auto live = load_live_record(f, watcher_, &watcher);
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
                        "; detach the pid that attached");
    }
    auto dead = prune_dead_clients(*clients);
    // A client that leaves while others stay is none of the watcher's
    // business (it only ever watched it die); the last one starts the grace
    // period, which it must time.
    if (clients->empty()) (void)watcher.signal(SIGUSR1);
    if (clients->empty()) {
        start_grace(record);
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
    auto live = load_live_record(f, watcher_);
    if (!live) return std::unexpected(live.error());
    if (*live)
        return fail(SHAREDSERVER_EALREADY, "server " + quote(name) + " is already running (pid " +
                                               std::to_string((*live)->server.pid) +
                                               "); attach to it instead");
    auto record = start_locked(f, watcher_, *spec, {});
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
    auto live = load_live_record(f, watcher_);
    if (!live) return std::unexpected(live.error());
    if (!*live) {
        lock->remove_file();
        return not_running(name);
    }
    ServerRecord record = **live;
    record.stopping = true;
    (void)save_server_record(f, record);
    record_event(f, "stopping", {{"pid", record.server.pid}, {"force", force}, {"by", getpid()}});
    switch (terminate_server(identity_of(record), timeout_ms, force).outcome) {
        case Termination::gone:
            break;
        case Termination::not_ours:
            record.stopping = false;
            (void)save_server_record(f, record);
            return fail(SHAREDSERVER_EPERM, "refusing to signal pid " + std::to_string(record.server.pid) +
                                                " of " + quote(name) + ": it is not your process");
        case Termination::unknown:
            record.stopping = false;
            (void)save_server_record(f, record);
            return fail(SHAREDSERVER_ERROR, "cannot tell whether server " + quote(name) + " (pid " +
                                                std::to_string(record.server.pid) +
                                                ") stopped: the process table cannot be read (no file descriptor or memory left); raise the "
                                                "open files limit (ulimit -n) and try again");
        case Termination::still_running:
            record.stopping = false;
            (void)save_server_record(f, record);
            return fail(SHAREDSERVER_ETIMEOUT,
                        "server " + quote(name) + " (pid " + std::to_string(record.server.pid) +
                            ") did not exit within " + format_duration(timeout_ms) +
                            " of SIGTERM; stop it with force to SIGKILL it");
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
    auto live = load_live_record(f, watcher_);
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
    if (terminate_server(identity_of(old), default_stop_timeout_ms, true).outcome != Termination::gone)
        return fail(SHAREDSERVER_EPERM, "cannot stop pid " + std::to_string(old.server.pid) + " of " + quote(name));
    auto record = start_locked(f, watcher_, old.spec, *clients, old.port);
    if (!record) {
        remove_records(f);
        lock->remove_file();
        return std::unexpected(record.error());
    }
    record_client_deaths(f, dead);
    record_event(f, "restarted", {{"old_pid", old.server.pid}, {"pid", record->server.pid}, {"ready", record->ready_at_ms > 0}});
    return record->server;
}

namespace {

std::string unusable_lock(const std::string &name, const Error &error) {
    return name + ": left alone: " + error.message + " (remove it, and run doctor again)";
}

// Orphans: what runs for this state directory that no record names. The
// records were removed from outside (a user's `rm`, a cleanup script), or
// were too corrupt to name anything. Decided under each name's lock (a
// `use` holds it from launching its server to writing its record, so a
// server being started is never taken for an orphan); stopped after it, as
// a watcher stopping its server takes that lock.
void stop_orphans(const std::string &dir, const std::string &only, std::vector<std::string> &report) {
    // Watchers first: asked to stop, a watcher stops its server (TERM, then
    // KILL) and logs how it ended.
    std::map<std::string, std::vector<FoundWatcher>> watchers;
    for (auto &watcher : find_watchers(dir, only)) watchers[watcher.name].push_back(watcher);
    std::vector<std::pair<std::string, ProcessId>> asked;
    for (const auto &[name, found] : watchers) {
        ServerFiles f{dir, name};
        auto lock = NameLock::acquire(f.lock());
        if (!lock) {
            report.push_back(unusable_lock(name, lock.error()));
            continue;
        }
        auto record = load_server_record(f);
        for (const auto &watcher : found) {
            if (record && *record && (*record)->watcher == watcher.id) continue;
            // A second watcher of the server the record names (its child):
            // asked to stop, it would stop that server too.
            auto server = record && *record ? read_process_entry((*record)->server.pid) : std::nullopt;
            bool watches_recorded_server = server && server->id == (*record)->server && server->parent == watcher.id.pid;
            if (watches_recorded_server) {
                if (signal_exactly(watcher.id, SIGKILL))
                    report.push_back(name + ": killed watcher pid " + std::to_string(watcher.id.pid) +
                                     ", a second watcher of its server");
            } else if (signal_exactly(watcher.id, SIGTERM)) {
                asked.emplace_back(name, watcher.id);
            }
        }
        if (!file_exists(f.server())) lock->remove_file();
    }
    for (const auto &[name, watcher] : asked) {
        bool stopped = wait_for_exit(watcher, default_stop_timeout_ms + 3000);
        if (!stopped) {
            (void)signal_exactly(watcher, SIGKILL);
            wait_for_exit(watcher, 2000);
        }
        report.push_back(name + ": stopped watcher pid " + std::to_string(watcher.pid) +
                         ", which no record names, and its server" + (stopped ? "" : " (it had to be killed)"));
        record_event({dir, name}, "repaired", {{"what", "stopped a watcher that no record names"},
                                               {"watcher_pid", watcher.pid}});
    }
    // Then processes stamped with this directory whose launch no record
    // names: a server whose watcher is gone too, or what it left.
    std::map<std::string, std::set<std::string>> instances;
    for (const auto &stamped : find_stamped_processes(dir))
        if (only.empty() || stamped.name == only) instances[stamped.name].insert(stamped.instance);
    for (auto &[name, found] : instances) {
        ServerFiles f{dir, name};
        {
            auto lock = NameLock::acquire(f.lock());
            if (!lock) {
                report.push_back(unusable_lock(name, lock.error()));
                continue;
            }
            auto record = load_server_record(f);
            if (record && *record && record_alive(**record)) found.erase((*record)->instance);
            if (!file_exists(f.server())) lock->remove_file();
        }
        for (const auto &instance : found) {
            Stopped stopped = terminate_server({{}, {}, instance}, default_stop_timeout_ms, true);
            if (stopped.leftovers == 0) continue;  // gone on its own since
            report.push_back(name + ": stopped " + plural(stopped.leftovers, "process", "processes") +
                             " of a server that no record names" +
                             (stopped.unreachable ? " (" + plural(stopped.unreachable, "process", "processes") +
                                                        " could not be signalled)"
                                                  : std::string()));
            record_event(f, "repaired", {{"what", "stopped a server that no record names"},
                                         {"instance", instance},
                                         {"processes", stopped.leftovers}});
        }
    }
}

}  // namespace

Status Lifecycle::kill(const std::string &name) {
    if (auto valid = validate_name(name); !valid) return std::unexpected(valid.error());
    ServerFiles f = files(name);
    auto lock = NameLock::acquire(f.lock());
    if (!lock) return std::unexpected(lock.error());
    auto loaded = load_server_record(f);
    std::optional<ServerRecord> record;
    if (loaded && *loaded) record = **loaded;
    // Everything that is this server's: what its record names when it can be
    // read, and what no record names (its watchers found by their arguments,
    // processes stamped with its name), so that a corrupt record is no
    // hiding place for the server it lost track of.
    std::vector<Members> servers;
    std::vector<ProcessId> watchers;
    if (record) {
        ServerIdentity identity = identity_of(*record);
        servers.emplace_back(identity);
        if (identity.watcher.pid > 0 && watcher_alive(*record)) watchers.push_back(identity.watcher);
    }
    for (const auto &found : find_watchers(dir_, name)) {
        if (std::find(watchers.begin(), watchers.end(), found.id) != watchers.end()) continue;
        watchers.push_back(found.id);
        servers.emplace_back(ServerIdentity{{}, found.id, {}});
    }
    std::set<std::string> instances;
    for (const auto &stamped : find_stamped_processes(dir_))
        if (stamped.name == name && (!record || stamped.instance != record->instance)) instances.insert(stamped.instance);
    for (const auto &instance : instances) servers.emplace_back(ServerIdentity{{}, {}, instance});
    // Proven while the watchers live (their descendants are the servers'),
    // held by identity after they die.
    for (auto &members : servers) members.refresh();
    for (const auto &watcher : watchers) (void)signal_exactly(watcher, SIGKILL);
    std::size_t killed = 0;
    for (auto &members : servers) {
        kill_server(members);
        killed += members.signalled().size();
    }
    for (const auto &watcher : watchers) wait_for_exit(watcher, 2000);
    bool had_files = record || !loaded || file_exists(f.clients());
    remove_records(f);
    if (had_files || killed > 0 || !watchers.empty())
        record_event(f, "killed", {{"pid", record ? json(record->server.pid) : json(nullptr)},
                                   {"processes", killed},
                                   {"watchers", watchers.size()}});
    lock->remove_file();
    if (!had_files && killed == 0 && watchers.empty()) return not_running(name);
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
        if (!lock) {
            // One unusable lock file (a symlink planted in the directory, a
            // directory in its place) is no reason to leave the rest unrepaired.
            report.push_back(unusable_lock(name, lock.error()));
            continue;
        }
        auto loaded = load_server_record(f);
        if (!loaded) {
            // No record to name its watcher: find it by its arguments, and
            // wake it before the removal (see load_live_record) so it stops
            // the server, which must not outlive its record.
            for (const FoundWatcher &watcher : find_watchers(dir_, name))
                if (watcher.blocks_wake_signal) (void)signal_exactly(watcher.id, SIGUSR1);
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
            std::string also = forget_dead_server(f, record);
            lock->remove_file();
            report.push_back(name + ": removed the record of pid " + std::to_string(record.server.pid) +
                             ", which is no longer running" + also);
            continue;
        }
        bool had_watcher = watcher_alive(record);
        auto live = load_live_record(f, watcher_);
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
                start_grace(updated);
                (void)save_server_record(f, updated);
            }
            (void)save_clients(f, *clients);
            record_client_deaths(f, dead);
            report.push_back(name + ": removed clients that are no longer running");
        }
    }
    stop_orphans(dir_, only, report);
    return report;
}

}  // namespace sharedserver
