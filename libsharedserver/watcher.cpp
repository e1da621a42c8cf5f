#include "watcher.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "duration.hpp"
#include "events.hpp"
#include "files.hpp"
#include "launch.hpp"
#include "log_pump.hpp"
#include "ports.hpp"
#include "probe_runner.hpp"
#include "name_lock.hpp"
#include "names.hpp"
#include "records.hpp"
#include "spawn.hpp"
#include "termination.hpp"
#include "watch_events.hpp"

namespace sharedserver {

using nlohmann::json;

namespace {

// Writes one line to fd 1 and points fd 1 at /dev/null: the report is the
// only thing the client reads from us.
void report(const json &message) {
    std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    ssize_t ignored = ::write(1, line.data(), line.size());
    (void)ignored;
    int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd >= 0) {
        ::dup2(null_fd, 1);
        ::close(null_fd);
    }
}

std::string read_request_line() {
    std::string line;
    char c;
    while (true) {
        ssize_t n = ::read(0, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || c == '\n') break;
        line += c;
    }
    return line;
}

enum class ClientWord { claimed, abandoned, vanished };

// Blocks until the client closes the handshake (spawn.hpp), then points fd 0
// at /dev/null. Its last word says whether the records name our server.
ClientWord wait_for_handshake() {
    std::string said;
    char buf[256];
    while (true) {
        ssize_t n = ::read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (said.size() < 64) said.append(buf, static_cast<std::size_t>(n));
    }
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) {
        ::dup2(null_fd, 0);
        ::close(null_fd);
    }
    if (said == std::string(handshake_claimed) + "\n") return ClientWord::claimed;
    if (said == std::string(handshake_abandoned) + "\n") return ClientWord::abandoned;
    return ClientWord::vanished;
}

// Deadlines the watcher sleeps towards, in CLOCK_BOOTTIME milliseconds; -1: none.
struct Schedule {
    int64_t grace = -1;
    int64_t probe = -1;
    int64_t restart = -1;

    int64_t next() const {
        int64_t best = -1;
        for (int64_t t : {grace, probe, restart})
            if (t >= 0 && (best < 0 || t < best)) best = t;
        return best;
    }
};

class Watcher {
public:
    // `pump`: the write end of the log pump's pipe (our stdout and stderr
    // by now) and the pump's pid; none for an adopted server, whose pump we
    // do not know.
    Watcher(const WatcherOptions &options, ProcessId server, bool is_child, LogStart log_start,
            StartedLogPump pump)
        : files_{options.state_dir, options.name}, server_(server), is_child_(is_child), log_start_(log_start),
          pump_(pump.input), pump_pid_(pump.pid) {}

    int run();

private:
    bool record_is_mine(const std::optional<ServerRecord> &record) const {
        return record && record->server == server_;
    }
    void rearm();
    void sync_clients();
    void prune_dead_clients(const std::vector<pid_t> &dead);
    void grace_timer_fired();
    void probe_due();
    void server_exited();
    void restart_due();
    void shutdown(const char *reason);
    bool record_taken_away();
    int wait_status();
    void log_exit(int status, bool unexpected);
    void start_probe(const ServerRecord &record);
    void stop_and_forget(NameLock &lock, const char *reason);
    Result<int> log_pump_for(const ServerSpec &spec);
    void finish_log();

    ServerFiles files_;
    ProcessId server_;
    bool is_child_;
    LogStart log_start_;
    int pump_;
    pid_t pump_pid_;
    std::unique_ptr<WatchEvents> events_;
    ClientMap clients_;
    Schedule due_;
    std::optional<ProbeRunner> probe_;
    int64_t probe_started_ = 0;
    int64_t probe_deadline_ = 0;
    int64_t probe_interval_ = 0;
    bool server_running_ = true;  // false between an exit and its restart
    bool done_ = false;
};

LogPumpOptions log_pump_options(const ServerFiles &files, const ServerSpec &spec) {
    // The default log lives in the state dir and is never followed through a
    // symlink; a log file the user named may be one.
    return {spec.log_file, spec.log_max_size, spec.log_file == files.log()};
}

// The pipe a relaunched server writes to: the pump of the last one while it
// runs (its read end open), else a new pump on fd 1 and 2, ours too.
Result<int> Watcher::log_pump_for(const ServerSpec &spec) {
    if (pump_ >= 0) {
        pollfd p{pump_, 0, 0};
        if (::poll(&p, 1, 0) == 0) return pump_;  // POLLERR: the pump is gone
    }
    auto options = log_pump_options(files_, spec);
    if (auto usable = check_log_file(options); !usable) return std::unexpected(usable.error());
    auto started = start_log_pump(options);
    if (!started) return std::unexpected(started.error());
    ::dup2(started->input, 1);
    ::dup2(started->input, 2);
    ::close(started->input);
    pump_ = 1;
    pump_pid_ = started->pid;
    return pump_;
}

// The server is gone for good: the pump writes what it still holds before
// the exit is recorded, so whoever reads the exit and then the log's last
// lines (the message of a failed start) finds the server's last words there.
// Our ends closed, the pump sees the end of its input once no descendant of
// the server holds one; it is not waited for longer than a second.
void Watcher::finish_log() {
    if (pump_ < 0) return;
    int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd >= 0) {
        ::dup2(null_fd, 1);
        ::dup2(null_fd, 2);
        ::close(null_fd);
    }
    pump_ = -1;
    if (pump_pid_ > 0) {
        int exited = open_process_handle(pump_pid_);
        pollfd p{exited, POLLIN, 0};
        if (exited >= 0) {
            while (::poll(&p, 1, 1000) < 0 && errno == EINTR) {
            }
            ::close(exited);
        }
        int status;
        (void)::waitpid(pump_pid_, &status, WNOHANG);
    }
    pump_pid_ = 0;
}

void Watcher::rearm() {
    events_->arm_timer(due_.next());
}

int Watcher::wait_status() {
    if (!is_child_) return -1;
    int status = 0;
    while (::waitpid(server_.pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return status;
}

void Watcher::log_exit(int status, bool unexpected) {
    json fields = {{"pid", server_.pid}, {"unexpected", unexpected}};
    if (status >= 0 && WIFEXITED(status)) {
        fields["code"] = WEXITSTATUS(status);
    } else if (status >= 0 && WIFSIGNALED(status)) {
        fields["code"] = -1;
        fields["signal"] = WTERMSIG(status);
    } else {
        fields["code"] = nullptr;  // adopted: not our child, the status is unknowable
    }
    record_event(files_, "exited", fields);
}

// Under `lock`: stop our server, record why, remove its records, and finish.
void Watcher::stop_and_forget(NameLock &lock, const char *reason) {
    auto record = load_server_record(files_);
    if (record && record_is_mine(*record)) {
        ServerRecord stopping = **record;
        stopping.stopping = true;
        (void)save_server_record(files_, stopping);
    }
    record_event(files_, "stopping", {{"pid", server_.pid}, {"reason", reason}});
    if (server_running_) {
        terminate_server(server_, server_.pid, default_stop_timeout_ms, true);
        int status = wait_status();
        finish_log();
        log_exit(status, false);
    }
    if (record && record_is_mine(*record)) {
        (void)save_clients(files_, {});
        (void)remove_file(files_.server());
    }
    if (!file_exists(files_.server())) lock.remove_file();
    done_ = true;
}

// Reads clients.json without the lock and watches exactly those processes.
void Watcher::sync_clients() {
    auto loaded = load_clients(files_);
    if (!loaded) return;  // corrupt: admin doctor repairs it; keep what we had
    std::vector<pid_t> dead;
    for (auto it = clients_.begin(); it != clients_.end();) {
        if (!loaded->count(it->first) || loaded->at(it->first).start != it->second.start) {
            events_->unwatch_process(it->first);
            it = clients_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto &[pid, entry] : *loaded) {
        if (clients_.count(pid)) continue;
        // Watch first, then check the stamp: a pid recycled before we opened
        // it is never mistaken for the client.
        if (!events_->watch_process(pid) || !process_alive({pid, entry.start})) {
            events_->unwatch_process(pid);
            dead.push_back(pid);
            continue;
        }
        clients_[pid] = entry;
    }
    if (!dead.empty()) {
        prune_dead_clients(dead);
        return;
    }
    due_.grace = -1;
    if (clients_.empty()) {
        auto record = load_server_record(files_);
        if (record && record_is_mine(*record)) {
            int64_t deadline = grace_deadline_boot(**record);
            due_.grace = deadline > 0 ? deadline : boot_now_ms() + (*record)->spec.grace_period_ms;
        }
    }
    rearm();
}

void Watcher::prune_dead_clients(const std::vector<pid_t> &dead) {
    for (pid_t pid : dead) {
        events_->unwatch_process(pid);
        clients_.erase(pid);
    }
    {
        auto lock = NameLock::acquire(files_.lock());
        if (!lock) return;
        auto record = load_server_record(files_);
        if (!record || !record_is_mine(*record)) return;
        auto clients = load_clients(files_);
        if (!clients) return;
        bool changed = false;
        for (auto it = clients->begin(); it != clients->end();) {
            if (process_alive({it->first, it->second.start})) {
                ++it;
                continue;
            }
            record_event(files_, "client-died", {{"client", it->first}});
            it = clients->erase(it);
            changed = true;
        }
        if (changed) {
            if (clients->empty()) {
                ServerRecord updated = **record;
                start_grace(updated);
                (void)save_server_record(files_, updated);
                record_event(files_, "grace-entered", {{"deadline", updated.grace_deadline_ms}});
            }
            (void)save_clients(files_, *clients);
        }
    }
    sync_clients();
}

void Watcher::grace_timer_fired() {
    due_.grace = -1;
    auto lock = NameLock::acquire(files_.lock());
    if (!lock) return;
    auto record = load_server_record(files_);
    if (!record || !record_is_mine(*record)) return;
    auto clients = load_clients(files_);
    if (clients && !clients->empty()) return;  // rescued while the timer was in flight
    // A client that attached and left again since moved the deadline.
    if (int64_t deadline = grace_deadline_boot(**record); deadline > boot_now_ms()) {
        due_.grace = deadline;
        return;
    }
    stop_and_forget(*lock, "grace period expired");
}

void Watcher::start_probe(const ServerRecord &record) {
    ServerSpec launched = spec_for_port(record.spec, record.port);
    probe_.emplace(launched.ready, launched.log_file, log_start_, server_environment(launched.env),
                   launched.working_dir);
    probe_started_ = boot_now_ms();
    probe_deadline_ = probe_started_ + launched.ready.timeout_ms;
    probe_interval_ = std::max<int64_t>(1, launched.ready.interval_ms);
    due_.probe = probe_started_;
}

void Watcher::probe_due() {
    due_.probe = -1;
    if (!probe_) return;
    std::string why;
    if (probe_->attempt(why) == ProbeRunner::Result::ready) {
        probe_.reset();
        auto lock = NameLock::acquire(files_.lock());
        auto record = load_server_record(files_);
        if (!record || !record_is_mine(*record)) return;
        ServerRecord ready = **record;
        ready.ready_at_ms = unix_now_ms();
        (void)save_server_record(files_, ready);
        record_event(files_, "ready", {{"pid", server_.pid},
                                       {"after_ms", boot_now_ms() - probe_started_},
                                       {"probe", describe_probe(spec_for_port(ready.spec, ready.port).ready)}});
        return;
    }
    if (boot_now_ms() < probe_deadline_) {
        due_.probe = boot_now_ms() + probe_interval_;
        return;
    }
    auto lock = NameLock::acquire(files_.lock());
    auto record = load_server_record(files_);
    if (!lock || !record || !record_is_mine(*record)) return;
    ServerSpec launched = spec_for_port((*record)->spec, (*record)->port);
    record_event(files_, "probe-failed", {{"pid", server_.pid},
                                          {"probe", describe_probe(launched.ready)},
                                          {"reason", why},
                                          {"timeout_ms", launched.ready.timeout_ms}});
    stop_and_forget(*lock, "the readiness probe failed");
}

void Watcher::server_exited() {
    // Stragglers first, the leader reaped after: until then its zombie keeps
    // the group's id from being handed out again, so the group signal cannot
    // reach a new group that took the number (pid_max can be 32768).
    reap_group_stragglers(server_.pid);
    int status = wait_status();
    server_running_ = false;
    events_->unwatch_process(server_.pid);
    auto lock = NameLock::acquire(files_.lock());
    auto record = load_server_record(files_);
    bool mine = record && record_is_mine(*record);
    bool failed = !(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    // A server that never became ready fails its waiting clients instead:
    // a crash at start is a configuration problem, not bad luck.
    bool restarts = mine && !(*record)->stopping && (*record)->ready_at_ms != 0 &&
                    ((*record)->spec.restart.mode == SHAREDSERVER_RESTART_ALWAYS ||
                     ((*record)->spec.restart.mode == SHAREDSERVER_RESTART_ON_FAILURE && failed));
    if (!restarts) finish_log();
    // A stop by a client removed the record first: then the exit was asked for.
    log_exit(status, mine && !(*record)->stopping);
    if (!mine) {
        if (lock && !file_exists(files_.server())) lock->remove_file();
        done_ = true;
        return;
    }
    ServerRecord r = **record;
    const RestartPolicy &policy = r.spec.restart;
    if (!restarts) {
        (void)save_clients(files_, {});
        (void)remove_file(files_.server());
        if (lock) lock->remove_file();
        done_ = true;
        return;
    }
    int64_t now = boot_now_ms();
    std::erase_if(r.restarts_boot_ms, [&](int64_t t) { return t < now - policy.window_ms; });
    if (static_cast<int>(r.restarts_boot_ms.size()) >= policy.max_restarts) {
        finish_log();
        record_event(files_, "gave-up", {{"pid", server_.pid},
                                         {"restarts", r.restarts_boot_ms.size()},
                                         {"window_ms", policy.window_ms}});
        (void)save_clients(files_, {});
        (void)remove_file(files_.server());
        if (lock) lock->remove_file();
        done_ = true;
        return;
    }
    // Exponential backoff: 100 ms, 200 ms, ... capped at 30 s.
    int64_t delay = 100;
    for (std::size_t i = 0; i < r.restarts_boot_ms.size() && delay < 30'000; ++i) delay *= 2;
    delay = std::min<int64_t>(delay, 30'000);
    r.restarting = true;
    (void)save_server_record(files_, r);
    json fields = {{"pid", server_.pid}, {"delay_ms", delay}};
    if (status >= 0 && WIFEXITED(status)) fields["code"] = WEXITSTATUS(status);
    if (status >= 0 && WIFSIGNALED(status)) fields["signal"] = WTERMSIG(status);
    record_event(files_, "restarting", fields);
    due_.restart = boot_now_ms() + delay;
}

void Watcher::restart_due() {
    due_.restart = -1;
    auto lock = NameLock::acquire(files_.lock());
    auto record = load_server_record(files_);
    if (!lock || !record || !record_is_mine(*record) || !(*record)->restarting) {
        done_ = true;
        return;
    }
    ServerRecord r = **record;
    ServerSpec launched = spec_for_port(r.spec, r.port);
    log_start_ = log_start(launched.log_file);
    auto pump = log_pump_for(launched);
    auto relaunched = pump ? launch_server(launched, *pump) : std::unexpected(pump.error());
    if (!relaunched) {
        record_event(files_, "gave-up", {{"pid", server_.pid}, {"error", relaunched.error().message}});
        (void)save_clients(files_, {});
        (void)remove_file(files_.server());
        lock->remove_file();
        done_ = true;
        return;
    }
    ProcessId old = server_;
    server_ = *relaunched;
    is_child_ = true;
    server_running_ = true;
    r.server = server_;
    r.pgid = server_.pid;
    r.restarting = false;
    r.restarts_boot_ms.push_back(boot_now_ms());
    r.ready_at_ms = r.spec.ready.kind == SHAREDSERVER_PROBE_NONE ? unix_now_ms() : 0;
    (void)save_server_record(files_, r);
    record_event(files_, "restarted", {{"old_pid", old.pid}, {"pid", server_.pid}, {"restarts", r.restarts_boot_ms.size()}});
    if (!events_->watch_process(server_.pid)) return;  // died at once: the exit path handles it
    if (r.ready_at_ms == 0) start_probe(r);
}

void Watcher::shutdown(const char *reason) {
    auto lock = NameLock::acquire(files_.lock());
    if (!lock) {
        terminate_server(server_, server_.pid, default_stop_timeout_ms, true);
        done_ = true;
        return;
    }
    stop_and_forget(*lock, reason);
}

// True (and the server stopped) when the record no longer names our server:
// a stop, restart or kill replaced or removed it, or `admin doctor` removed a
// corrupt one. A server without a record must not live on, or the next `use`
// would start a second one beside it. A corrupt record is left alone until
// doctor repairs it.
bool Watcher::record_taken_away() {
    auto record = load_server_record(files_);
    if (!record || record_is_mine(*record)) return false;
    auto lock = NameLock::acquire(files_.lock());
    record = load_server_record(files_);
    if (!record || record_is_mine(*record)) return false;
    if (server_running_) {
        // Alive: nobody stops it but us. Already dead (a client stopped it and
        // removed the records): still ours to reap and to log.
        if (process_alive(server_)) {
            record_event(files_, "stopping", {{"pid", server_.pid}, {"reason", "its record was removed"}});
            terminate_server(server_, server_.pid, default_stop_timeout_ms, true);
        }
        // A leader that died on its own leaves its group to us: a stop that
        // found it dead signalled nobody (found by the chaos run, seed 1).
        // Before the leader is reaped, as in server_exited().
        reap_group_stragglers(server_.pid);
        int status = wait_status();
        finish_log();
        log_exit(status, false);
        server_running_ = false;
    }
    if (lock && !file_exists(files_.server())) lock->remove_file();
    done_ = true;
    return true;
}

int Watcher::run() {
    auto events = WatchEvents::create("the watcher of " + quote(files_.name));
    if (!events) {
        record_event(files_, "watcher-failed", {{"error", events.error().message}});
        return 1;
    }
    events_ = std::move(*events);
    if (!events_->watch_process(server_.pid)) {
        server_exited();
        if (done_) return 0;
    }
    if (auto record = load_server_record(files_); record && record_is_mine(*record)) {
        if ((*record)->ready_at_ms == 0) start_probe(**record);
    }
    sync_clients();
    while (!done_) {
        rearm();
        WatchEvents::Wakeup wakeup = events_->wait();
        if (wakeup.terminate) {
            shutdown("the watcher was asked to stop");
            break;
        }
        std::vector<pid_t> dead_clients;
        bool server_gone = false;
        for (pid_t pid : wakeup.exited) {
            if (server_running_ && pid == server_.pid) server_gone = true;
            else if (pid != server_.pid) dead_clients.push_back(pid);
        }
        if (server_gone) {
            server_exited();
            if (done_) break;
        }
        if (!dead_clients.empty()) prune_dead_clients(dead_clients);
        if (wakeup.files_changed) {
            // The client woke us before writing, holding the lock: once it
            // lets go, what it wrote is all there to read.
            NameLock::wait_for_holder(files_.lock());
            if (record_taken_away()) break;
            sync_clients();
        }
        int64_t now = boot_now_ms();
        if (due_.probe >= 0 && now >= due_.probe) probe_due();
        if (!done_ && due_.restart >= 0 && now >= due_.restart) restart_due();
        if (!done_ && due_.grace >= 0 && now >= due_.grace) grace_timer_fired();
    }
    return 0;
}

// A server we launched that no record will ever name must not outlive us.
void stop_unclaimed(const ProcessId &server) {
    terminate_server(server, server.pid, default_stop_timeout_ms, true);
    int status;
    while (::waitpid(server.pid, &status, 0) < 0 && errno == EINTR) {
    }
}

// After the handshake, under the lock: is the record ours? If the client
// died before writing it, the server we launched must not outlive us.
bool claimed_by_record(const ServerFiles &files, const ProcessId &server, bool is_child) {
    auto lock = NameLock::acquire(files.lock());
    auto record = load_server_record(files);
    if (record && *record && (*record)->server == server) return true;
    if (is_child) {
        stop_unclaimed(server);
        if (lock && !file_exists(files.server())) lock->remove_file();
    }
    return false;
}

}  // namespace

int run_watcher(const WatcherOptions &options) {
    // A client that dies mid-handshake must not kill us with SIGPIPE: we are
    // the one who stops the server it left unclaimed.
    ::signal(SIGPIPE, SIG_IGN);
    // Clients wake us with this signal as soon as the record names us; its
    // default action would end us. Blocked before anyone knows our pid; the
    // server we launch gets an empty mask.
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, WatchEvents::wake_signal());
    ::sigprocmask(SIG_BLOCK, &wake, nullptr);
    // Inherit nothing from the client but the three standard descriptors.
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    // Detach: a new session, and not the client's child (the client reaps the
    // launcher that exits here, so no zombie is left in it).
    pid_t child = ::fork();
    if (child < 0) {
        int err = errno;
        std::string why = std::string("cannot fork the watcher: ") + std::strerror(err);
        if (err == EAGAIN) why += " (too many processes for this user? see `ulimit -u`)";
        report({{"ok", false}, {"message", why}, {"errno", err}});
        return 1;
    }
    if (child > 0) ::_exit(0);
    ::setsid();
    if (::chdir("/") != 0) {
    }

    json request = json::parse(read_request_line(), nullptr, false);
    if (!request.is_object()) {
        report({{"ok", false}, {"message", "the watcher received no request"}});
        return 1;
    }
    ServerFiles files{options.state_dir, options.name};
    ProcessId server;
    LogStart started_log;
    StartedLogPump pump;
    if (options.adopt) {
        server = {request.value("pid", 0), request.value("start", uint64_t{0})};
        started_log = log_start(request.value("log_file", files.log()));
        if (!process_alive(server)) {
            report({{"ok", false}, {"message", "the server to adopt is gone"}});
            return 1;
        }
    } else {
        ServerSpec spec;
        spec.argv = request.value("command", std::vector<std::string>{});
        spec.env = request.value("env", std::vector<std::string>{});
        spec.working_dir = request.value("working_dir", std::string("/"));
        spec.log_file = request.value("log_file", files.log());
        spec.log_max_size = request.value("log_max_size", int64_t{0});
        if (spec.argv.empty()) {
            report({{"ok", false}, {"message", "no command to start"}});
            return 1;
        }
        // The readiness pattern is compiled by the engine that will match
        // it, before anything starts: a bad one fails `use` at once.
        if (auto pattern = request.find("ready_log"); pattern != request.end() && pattern->is_string()) {
            if (auto valid = check_log_pattern(pattern->get<std::string>()); !valid) {
                report({{"ok", false}, {"message", valid.error().message}, {"invalid", true}});
                return 1;
            }
        }
        started_log = log_start(spec.log_file);
        // The pump first: the server's first words must find their reader.
        auto options = log_pump_options(files, spec);
        auto usable = check_log_file(options);
        auto started_pump = usable ? start_log_pump(options) : std::unexpected(usable.error());
        if (started_pump) pump = *started_pump;
        auto launched = started_pump ? launch_server(spec, pump.input) : std::unexpected(started_pump.error());
        if (!launched) {
            report({{"ok", false},
                    {"message", launched.error().message},
                    {"errno", launched.error().sys_errno},
                    {"path", launched.error().path}});
            return 1;
        }
        server = *launched;
    }
    auto me = identify_process(::getpid());
    report({{"ok", true},
            {"pid", server.pid},
            {"start", server.start},
            {"watcher_pid", ::getpid()},
            {"watcher_start", me ? me->start : 0},
            {"wake_signal", true}});
    if (pump.input >= 0) {
        // Our stdout and stderr become the pump's too (report() is done with
        // fd 1): a readiness command's output reaches the log, and the pump
        // lives as long as we do, across the server's restarts.
        ::dup2(pump.input, 1);
        ::dup2(pump.input, 2);
        ::close(pump.input);
        pump.input = 1;
    }
    ClientWord word = wait_for_handshake();
    if (word == ClientWord::abandoned) {
        // The client could not write the records, and waits for us to stop
        // what we launched before it says so and lets go of the lock.
        if (!options.adopt) stop_unclaimed(server);
        return 0;
    }
    if (!claimed_by_record(files, server, !options.adopt)) return 0;
    return Watcher(options, server, !options.adopt, started_log, pump).run();
}

}  // namespace sharedserver
