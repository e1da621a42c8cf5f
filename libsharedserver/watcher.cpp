#include "watcher.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "duration.hpp"
#include "events.hpp"
#include "files.hpp"
#include "launch.hpp"
#include "log_tail.hpp"
#include "ports.hpp"
#include "probe.hpp"
#include "name_lock.hpp"
#include "names.hpp"
#include "records.hpp"
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

// Blocks until the client closes the handshake (records written, or the
// client died), then points fd 0 at /dev/null.
void wait_for_handshake() {
    char buf[256];
    while (true) {
        ssize_t n = ::read(0, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) {
        ::dup2(null_fd, 0);
        ::close(null_fd);
    }
}

// Deadlines the watcher sleeps towards, in monotonic milliseconds; -1: none.
struct Schedule {
    int64_t grace = -1;
    int64_t probe = -1;
    int64_t restart = -1;
    int64_t log_check = -1;

    int64_t next() const {
        int64_t best = -1;
        for (int64_t t : {grace, probe, restart, log_check})
            if (t >= 0 && (best < 0 || t < best)) best = t;
        return best;
    }
};

class Watcher {
public:
    Watcher(const WatcherOptions &options, ProcessId server, bool is_child, int64_t log_offset)
        : files_{options.state_dir, options.name}, server_(server), is_child_(is_child), log_offset_(log_offset) {}

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
    void log_written();
    void log_check_due();

    ServerFiles files_;
    ProcessId server_;
    bool is_child_;
    int64_t log_offset_;
    std::unique_ptr<WatchEvents> events_;
    ClientMap clients_;
    Schedule due_;
    std::optional<ProbeRunner> probe_;
    int64_t probe_started_ = 0;
    int64_t probe_deadline_ = 0;
    int64_t probe_interval_ = 0;
    bool server_running_ = true;  // false between an exit and its restart
    std::string log_file_;
    int64_t log_max_size_ = 0;
    bool done_ = false;
};

// The log was written to: rotate it past its cap, then look again at most
// once a second, so a chatty server does not keep its watcher busy.
void Watcher::log_written() {
    events_->watch_growth("");
    if (file_size(log_file_) > log_max_size_) {
        auto rotated = rotate_log(log_file_);
        if (rotated) record_event(files_, "log-rotated", {{"log_file", log_file_}, {"kept", log_file_ + ".1"}});
    }
    due_.log_check = monotonic_now_ms() + 1000;
}

void Watcher::log_check_due() {
    due_.log_check = -1;
    // Without an inotify instance (past the user's limit), look every 10 s.
    if (!events_->watch_growth(log_file_)) due_.log_check = monotonic_now_ms() + 10'000;
    if (file_size(log_file_) > log_max_size_) log_written();
}

void Watcher::rearm() {
    int64_t next = due_.next();
    events_->arm_timer(next < 0 ? -1 : std::max<int64_t>(0, next - monotonic_now_ms()));
}

int Watcher::wait_status() {
    if (!is_child_) return -1;
    int status = 0;
    while (::waitpid(server_.pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return status;
}

void record_exit(const ServerFiles &files, pid_t pid, int status, bool unexpected) {
    json fields = {{"pid", pid}, {"unexpected", unexpected}};
    if (status >= 0 && WIFEXITED(status)) {
        fields["code"] = WEXITSTATUS(status);
    } else if (status >= 0 && WIFSIGNALED(status)) {
        fields["code"] = -1;
        fields["signal"] = WTERMSIG(status);
    } else {
        fields["code"] = nullptr;  // adopted: not our child, the status is unknowable
    }
    record_event(files, "exited", fields);
}

void Watcher::log_exit(int status, bool unexpected) { record_exit(files_, server_.pid, status, unexpected); }

// Under `lock`: stop our server, record why, remove its records, and finish.
void Watcher::stop_and_forget(NameLock &lock, const char *reason) {
    auto record = load_server_record(files_);
    if (record && record_is_mine(*record)) {
        ServerRecord stopping = **record;
        stopping.stopping = true;
        (void)save_server_record(files_, stopping);
    }
    record_event(files_, "stopping", {{"pid", server_.pid}, {"reason", reason}});
    int status = -1;
    if (server_running_) {
        terminate_server(server_, server_.pid, default_stop_timeout_ms, true);
        status = wait_status();
    }
    if (record && record_is_mine(*record)) {
        (void)save_clients(files_, {});
        (void)remove_file(files_.server());
    }
    if (server_running_) log_exit(status, false);  // after the records that named it are gone
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
            int64_t deadline = (*record)->grace_deadline_ms;
            if (deadline <= 0) deadline = unix_now_ms() + (*record)->spec.grace_period_ms;
            due_.grace = monotonic_now_ms() + std::max<int64_t>(0, deadline - unix_now_ms());
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
        std::vector<pid_t> died;
        for (auto it = clients->begin(); it != clients->end();) {
            if (process_alive({it->first, it->second.start})) {
                ++it;
                continue;
            }
            died.push_back(it->first);
            it = clients->erase(it);
        }
        if (!died.empty()) {
            // The records first, then the events that describe them.
            ServerRecord updated = **record;
            if (clients->empty()) {
                updated.grace_deadline_ms = unix_now_ms() + updated.spec.grace_period_ms;
                (void)save_server_record(files_, updated);
            }
            (void)save_clients(files_, *clients);
            for (pid_t pid : died) record_event(files_, "client-died", {{"client", pid}});
            if (clients->empty()) record_event(files_, "grace-entered", {{"deadline", updated.grace_deadline_ms}});
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
    int64_t left = (*record)->grace_deadline_ms - unix_now_ms();
    if ((*record)->grace_deadline_ms > 0 && left > 0) {
        due_.grace = monotonic_now_ms() + left;
        return;
    }
    stop_and_forget(*lock, "grace period expired");
}

void Watcher::start_probe(const ServerRecord &record) {
    ServerSpec launched = spec_for_port(record.spec, record.port);
    probe_.emplace(launched.ready, launched.log_file, log_offset_, server_environment(launched.env));
    probe_started_ = monotonic_now_ms();
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
                                       {"after_ms", monotonic_now_ms() - probe_started_},
                                       {"probe", describe_probe(spec_for_port(ready.spec, ready.port).ready)}});
        return;
    }
    if (monotonic_now_ms() < probe_deadline_) {
        due_.probe = monotonic_now_ms() + probe_interval_;
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
    // A stop by a client removed the record first: then the exit was asked
    // for. The exit is logged once no record names the server as running.
    bool unexpected = mine && !(*record)->stopping;
    if (!mine) {
        log_exit(status, unexpected);
        if (lock && !file_exists(files_.server())) lock->remove_file();
        done_ = true;
        return;
    }
    ServerRecord r = **record;
    const RestartPolicy &policy = r.spec.restart;
    bool failed = !(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    // A server that never became ready fails its waiting clients instead:
    // a crash at start is a configuration problem, not bad luck.
    bool wanted = policy.mode == SHAREDSERVER_RESTART_ALWAYS ||
                  (policy.mode == SHAREDSERVER_RESTART_ON_FAILURE && failed);
    if (!wanted || r.ready_at_ms == 0 || r.stopping) {
        (void)save_clients(files_, {});
        (void)remove_file(files_.server());
        log_exit(status, unexpected);
        if (lock) lock->remove_file();
        done_ = true;
        return;
    }
    int64_t now = unix_now_ms();
    std::erase_if(r.restarts_ms, [&](int64_t t) { return t < now - policy.window_ms; });
    if (static_cast<int>(r.restarts_ms.size()) >= policy.max_restarts) {
        (void)save_clients(files_, {});
        (void)remove_file(files_.server());
        // `exited` last: clients (the Neovim plugin) read how it ended when they see it.
        record_event(files_, "gave-up", {{"pid", server_.pid},
                                         {"restarts", r.restarts_ms.size()},
                                         {"window_ms", policy.window_ms}});
        log_exit(status, unexpected);
        if (lock) lock->remove_file();
        done_ = true;
        return;
    }
    // Exponential backoff: 100 ms, 200 ms, ... capped at 30 s.
    int64_t delay = 100;
    for (std::size_t i = 0; i < r.restarts_ms.size() && delay < 30'000; ++i) delay *= 2;
    delay = std::min<int64_t>(delay, 30'000);
    r.restarting = true;
    (void)save_server_record(files_, r);
    log_exit(status, unexpected);
    json fields = {{"pid", server_.pid}, {"delay_ms", delay}};
    if (status >= 0 && WIFEXITED(status)) fields["code"] = WEXITSTATUS(status);
    if (status >= 0 && WIFSIGNALED(status)) fields["signal"] = WTERMSIG(status);
    record_event(files_, "restarting", fields);
    due_.restart = monotonic_now_ms() + delay;
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
    log_offset_ = file_size(launched.log_file);
    auto relaunched = launch_server(launched, launched.log_file == files_.log());
    if (!relaunched) {
        (void)save_clients(files_, {});
        (void)remove_file(files_.server());
        record_event(files_, "gave-up", {{"pid", server_.pid}, {"error", relaunched.error().message}});
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
    r.restarts_ms.push_back(unix_now_ms());
    r.ready_at_ms = r.spec.ready.kind == SHAREDSERVER_PROBE_NONE ? unix_now_ms() : 0;
    (void)save_server_record(files_, r);
    record_event(files_, "restarted", {{"old_pid", old.pid}, {"pid", server_.pid}, {"restarts", r.restarts_ms.size()}});
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
        log_exit(wait_status(), false);
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
        log_file_ = (*record)->spec.log_file;
        log_max_size_ = (*record)->spec.log_max_size;
        if (log_max_size_ > 0 && !log_file_.empty()) log_check_due();
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
        if (wakeup.file_grew) log_written();
        int64_t now = monotonic_now_ms();
        if (due_.probe >= 0 && now >= due_.probe) probe_due();
        if (!done_ && due_.restart >= 0 && now >= due_.restart) restart_due();
        if (!done_ && due_.grace >= 0 && now >= due_.grace) grace_timer_fired();
        if (!done_ && due_.log_check >= 0 && now >= due_.log_check) log_check_due();
    }
    return 0;
}

// After the handshake, under the lock: is the record ours? If the client
// died before writing it, the server we launched must not outlive us. If a
// stop took the lock before us, the server it ended was recorded (started or
// adopted) and its exit is ours to log: otherwise the name's last exit would
// be an older server's.
bool claimed_by_record(const ServerFiles &files, const ProcessId &server, bool is_child) {
    auto lock = NameLock::acquire(files.lock());
    auto record = load_server_record(files);
    if (record && *record && (*record)->server == server) return true;
    int status = -1;
    if (is_child) {
        terminate_server(server, server.pid, default_stop_timeout_ms, true);
        while (::waitpid(server.pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    // An adopted server was recorded by definition; a launched one only if
    // its client wrote the records before the stop.
    if (!process_alive(server) && (!is_child || server_was_recorded(files, server.pid)))
        record_exit(files, server.pid, status, false);
    if (is_child && lock && !file_exists(files.server())) lock->remove_file();
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
        report({{"ok", false}, {"message", "cannot fork the watcher"}, {"errno", errno}});
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
    int64_t log_offset = 0;
    if (options.adopt) {
        server = {request.value("pid", 0), request.value("start", uint64_t{0})};
        log_offset = file_size(request.value("log_file", files.log()));
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
        if (spec.argv.empty()) {
            report({{"ok", false}, {"message", "no command to start"}});
            return 1;
        }
        log_offset = file_size(spec.log_file);
        auto launched = launch_server(spec, spec.log_file == files.log());
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
    wait_for_handshake();
    if (!claimed_by_record(files, server, !options.adopt)) return 0;
    return Watcher(options, server, !options.adopt, log_offset).run();
}

}  // namespace sharedserver
