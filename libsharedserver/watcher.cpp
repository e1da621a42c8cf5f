#include "watcher.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "dependencies.hpp"
#include "duration.hpp"
#include "events.hpp"
#include "files.hpp"
#include "launch.hpp"
#include "liveness_check.hpp"
#include "log_pump.hpp"
#include "ports.hpp"
#include "probe_runner.hpp"
#include "name_lock.hpp"
#include "names.hpp"
#include "ownership.hpp"
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
    int64_t grace = -1;    // while no live client is attached
    int64_t probe = -1;
    int64_t restart = -1;
    int64_t retry = -1;    // work that failed for lack of a resource
    int64_t liveness = -1;  // the next liveness attempt, or the end of the one in flight

    // What was due already and is still here waits for the retry: it
    // failed for lack of a resource, and must not spin until it has one.
    int64_t next(int64_t now) const {
        int64_t best = -1;
        for (int64_t t : {grace, probe, restart, retry, liveness}) {
            if (t >= 0 && t <= now && retry >= 0) t = retry;
            if (t >= 0 && (best < 0 || t < best)) best = t;
        }
        return best;
    }
};

// What this watcher knows its server by: the leader, itself (whose
// descendants are the server's, as it is their subreaper) and the launch's
// instance token.
ServerIdentity identity_of(const ProcessId &server, const std::string &instance) {
    return {server, identify_process(::getpid()).value_or(ProcessId{}), instance};
}

// The watcher is a child subreaper: what the server's tree orphans becomes
// its child, and its zombie is the watcher's to reap. The children in `keep`
// (the server while it is our child, the log pump, a liveness command) are
// reaped only where their exit is waited for. The readiness command is
// waited for by the probe itself, which runs to its end before this can run.
void reap_orphans(std::initializer_list<pid_t> keep) {
    auto kept = [&](pid_t pid) { return std::find(keep.begin(), keep.end(), pid) != keep.end(); };
    while (true) {
        siginfo_t info{};
        if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return;
        if (kept(info.si_pid)) break;  // first in line: find the others in the table
        ::waitpid(info.si_pid, nullptr, WNOHANG);
    }
    auto table = list_processes();
    if (!table) return;  // the next SIGCHLD tries again
    for (const auto &entry : *table)
        if (entry.zombie && entry.parent == ::getpid() && !kept(entry.id.pid))
            ::waitpid(entry.id.pid, nullptr, WNOHANG);
}

// Work that could not be done for lack of a resource (EMFILE, ENFILE, ENOMEM,
// ENOSPC, EAGAIN, a read-only remount...) is tried again, 50 ms later, then
// twice as long each time up to 5 s: never in a loop, never given up.
class Backoff {
public:
    int64_t next_try() {
        int64_t at = boot_now_ms() + delay_;
        delay_ = std::min<int64_t>(delay_ * 2, 5000);
        return at;
    }
    void reset() { delay_ = 50; }

private:
    int64_t delay_ = 50;
};

// Whether a step of the watcher's work got done, or must be tried again.
enum class Step { done, retry };

// A record that failed to load for want of a resource (not because it is
// corrupt, which admin doctor repairs) is read again later.
template <class T>
bool unreadable(const Result<T> &loaded) {
    return !loaded && loaded.error().code != SHAREDSERVER_ECORRUPT;
}

// The descriptors a watcher needs besides its process handles: 0-2, the
// signalfd, the timerfd, the inotify instance and a liveness attempt's
// socket; and a reserve for its transactions (the lock, a record, a /proc
// file, a pidfd while stopping, the pipes of a launch).
constexpr std::size_t fixed_descriptors = 7;
constexpr std::size_t transaction_descriptors = 6;

class Watcher {
public:
    // `pump`: the write end of the log pump's pipe (our stdout and stderr
    // by now) and the pump's pid; none for an adopted server, whose pump we
    // do not know. `instance`: the launch's token (ownership.hpp).
    Watcher(const WatcherOptions &options, ProcessId server, bool is_child, LogStart log_start,
            StartedLogPump pump, std::string instance)
        : files_{options.state_dir, options.name}, server_(server), is_child_(is_child), log_start_(log_start),
          pump_(pump.input), pump_pid_(pump.pid), instance_(std::move(instance)) {}

    int run();

private:
    bool record_is_mine(const std::optional<ServerRecord> &record) const {
        return record && record->server == server_;
    }
    void open_events();
    void take_wakeup(const WatchEvents::Wakeup &wakeup);
    void work();
    Step check_record();
    Step sync_clients();
    void client_exited(pid_t pid);
    Step flush_departed();
    void update_grace(const ServerRecord &record);
    void forget_detached(const ClientMap &listed, const ServerRecord &record);
    Step grace_expired();
    void probe_due();
    Step write_ready();
    Step probe_failed();
    void server_exited();
    void start_liveness(const ServerRecord &record);
    void stop_liveness();
    void liveness_due(bool woken);
    Step write_liveness_count();
    Step liveness_failed();
    void restart_due();
    void shutdown(const char *reason);
    Step stop_orphaned_server();
    int wait_status();
    // `create_log`: false when the state dir may be being removed.
    void log_exit(int status, bool unexpected, const Stopped &stopped, bool create_log = true);
    ServerIdentity identity() const { return identity_of(server_, instance_); }
    void reap_children() {
        reap_orphans({is_child_ ? server_.pid : 0, pump_pid_, live_ ? live_->command_pid() : 0});
    }
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
    std::string instance_;
    std::unique_ptr<WatchEvents> events_;
    // What the watcher knows, authoritative while the records cannot be
    // written: the live clients it watches, and the clients it saw die that
    // the clients record may still list.
    ClientMap clients_;
    std::map<pid_t, uint64_t> departed_;
    int64_t grace_period_ms_ = 0;
    Schedule due_;
    Backoff backoff_;
    bool must_sync_ = true;          // read the clients record (a client changed it)
    bool must_check_record_ = true;  // is the server record still ours?
    bool stop_requested_ = false;
    bool server_gone_ = false;
    bool ready_unwritten_ = false;   // the probe passed; the record does not say so yet
    bool probe_gave_up_ = false;     // the probe timed out; the server is not stopped yet
    std::string probe_why_;
    std::optional<ProbeRunner> probe_;
    int64_t probe_started_ = 0;
    int64_t probe_deadline_ = 0;
    int64_t probe_interval_ = 0;
    bool server_running_ = true;  // false between an exit and its restart
    // The liveness probe, from the server's readiness to its end.
    std::unique_ptr<LivenessCheck> live_;
    int64_t live_interval_ = 0;
    int64_t live_timeout_ = 0;
    int live_threshold_ = 0;
    int64_t live_attempt_started_ = 0;
    int live_failures_ = 0;              // in a row
    int64_t live_failed_at_ms_ = 0;
    bool live_count_unwritten_ = false;  // the record does not show live_failures_ yet
    bool live_failed_ = false;           // the threshold was reached; the server is not stopped yet
    bool live_woken_ = false;            // its socket is ready, or a child (its command?) ended
    bool unhealthy_ = false;             // the server is being stopped for its liveness
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

int Watcher::wait_status() {
    if (!is_child_) return -1;
    int status = 0;
    while (::waitpid(server_.pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return status;
}

// The last event of a server's life: how it ended, and what it left that
// was stopped with it. Written after the records that named it are gone.
void record_exit(const ServerFiles &files, pid_t pid, int status, bool unexpected, const Stopped &stopped = {},
                 bool create_log = true) {
    json fields = {{"pid", pid}, {"unexpected", unexpected}, {"leftovers", stopped.leftovers}};
    if (stopped.unreachable > 0) fields["unreachable"] = stopped.unreachable;
    if (status >= 0 && WIFEXITED(status)) {
        fields["code"] = WEXITSTATUS(status);
    } else if (status >= 0 && WIFSIGNALED(status)) {
        fields["code"] = -1;
        fields["signal"] = WTERMSIG(status);
    } else {
        fields["code"] = nullptr;  // adopted: not our child, the status is unknowable
    }
    if (create_log) record_event(files, "exited", fields);
    else record_event_if_logged(files, "exited", fields);
}

void Watcher::log_exit(int status, bool unexpected, const Stopped &stopped, bool create_log) {
    record_exit(files_, server_.pid, status, unexpected, stopped, create_log);
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
    int status = -1;
    Stopped stopped;
    if (server_running_) {
        stopped = terminate_server(identity(), default_stop_timeout_ms, true);
        status = wait_status();
        finish_log();
    }
    // Removing needs no free space: a full disk cannot keep the records.
    if (!record || record_is_mine(*record)) {
        (void)save_clients(files_, {});
        (void)remove_file(files_.server());
    }
    if (server_running_) log_exit(status, false, stopped);  // after the records that named it are gone
    if (!file_exists(files_.server())) lock.remove_file();
    done_ = true;
}

// Is the server record still ours? Someone may have removed it (a user's
// `rm`, a cleanup script, `rm -rf` of the state dir) or put another server's
// in its place; then nobody else will ever stop our server, and the next
// `use` would start a second one beside it. Runs on SIGUSR1 and when the
// record's file changes; re-arms the watch on the file the path names now.
Step Watcher::check_record() {
    events_->watch_record(files_.server(), files_.dir);
    auto record = load_server_record(files_);
    if (unreadable(record)) return Step::retry;
    if (!record || record_is_mine(*record)) {  // corrupt: left alone until doctor repairs it
        if (record && *record) grace_period_ms_ = (**record).spec.grace_period_ms;
        return Step::done;
    }
    return stop_orphaned_server();
}

// Our server has no record any more. Stopped under the lock when there is a
// lock file; without one (the state dir removed) nobody can be in a
// transaction on this name, and none is made: recreating files would break
// the `rm -rf` that removed them.
Step Watcher::stop_orphaned_server() {
    std::optional<NameLock> lock;
    auto acquired = NameLock::acquire_existing(files_.lock());
    if (!acquired && acquired.error().sys_errno != ENOENT) return Step::retry;
    if (acquired) {
        lock.emplace(std::move(*acquired));
        auto record = load_server_record(files_);
        if (unreadable(record)) return Step::retry;
        if (!record || record_is_mine(*record)) return Step::done;  // put back, or corrupt: doctor's
    }
    if (server_running_) {
        // Alive: nobody stops it but us. Already dead (a client stopped it and
        // removed the records): still ours to reap and to log.
        if (process_liveness(server_) != Liveness::dead)
            record_event_if_logged(files_, "stopping", {{"pid", server_.pid}, {"reason", "its record was removed"}});
        // A leader that died on its own leaves the rest of the server to us:
        // a stop that found it dead signalled nobody (found by the chaos run,
        // seed 1). Before the leader is reaped, as in server_exited().
        Stopped stopped = terminate_server(identity(), default_stop_timeout_ms, true);
        int status = wait_status();
        finish_log();
        log_exit(status, false, stopped, false);
        server_running_ = false;
    }
    if (lock && !file_exists(files_.server())) lock->remove_file();
    done_ = true;
    return Step::done;
}

// Reads the clients record without the lock and watches exactly those
// processes. A client found dead joins the departed, for flush_departed().
Step Watcher::sync_clients() {
    auto loaded = load_clients(files_);
    if (unreadable(loaded)) return Step::retry;
    if (!loaded) return Step::done;  // corrupt: admin doctor repairs it; keep what we had
    auto listed = [&](pid_t pid, uint64_t start) {
        auto it = loaded->find(pid);
        return it != loaded->end() && it->second.start == start;
    };
    for (auto it = clients_.begin(); it != clients_.end();) {
        if (listed(it->first, it->second.start)) {
            ++it;
            continue;
        }
        events_->unwatch_process(it->first);
        it = clients_.erase(it);
    }
    std::erase_if(departed_, [&](const auto &d) { return !listed(d.first, d.second); });
    for (const auto &[pid, entry] : *loaded) {
        if (clients_.count(pid) || departed_.count(pid)) continue;
        if (events_->watch_process({pid, entry.start})) clients_[pid] = entry;
        else departed_[pid] = entry.start;
    }
    if (!clients_.empty()) {
        due_.grace = -1;
        return Step::done;
    }
    auto record = load_server_record(files_);
    if (unreadable(record)) return Step::retry;
    if (record && record_is_mine(*record)) update_grace(**record);
    return Step::done;
}

// A client that detached while others stayed was not woken for (unuse
// signals only the last one out), so we may still watch it. Once the file
// lists none of them, it must not hold off the grace period the file's
// last departure started.
void Watcher::forget_detached(const ClientMap &listed, const ServerRecord &record) {
    for (auto it = clients_.begin(); it != clients_.end();) {
        auto entry = listed.find(it->first);
        if (entry != listed.end() && entry->second.start == it->second.start) {
            ++it;
            continue;
        }
        events_->unwatch_process(it->first);
        it = clients_.erase(it);
    }
    if (clients_.empty() && listed.empty() && due_.grace < 0) update_grace(record);
}

// No live client: when does the grace period end? The record says, unless
// a death we saw is not in it yet: then the period began at that death.
void Watcher::update_grace(const ServerRecord &record) {
    grace_period_ms_ = record.spec.grace_period_ms;
    int64_t written = grace_deadline_boot(record);
    if (departed_.empty() && written > 0) due_.grace = written;
    else if (due_.grace < 0) due_.grace = boot_now_ms() + grace_period_ms_;
}

void Watcher::client_exited(pid_t pid) {
    auto it = clients_.find(pid);
    if (it == clients_.end()) return;
    events_->unwatch_process(pid);
    departed_[pid] = it->second.start;
    clients_.erase(it);
    // The grace period starts now, from memory: writing it down may have
    // to wait (a full disk), the period does not.
    if (clients_.empty() && due_.grace < 0) due_.grace = boot_now_ms() + grace_period_ms_;
}

// Removes the departed clients from the clients record, under the lock;
// the last one out writes the grace deadline first. Events follow the state
// they describe, once each: a write that failed is retried, not repeated.
Step Watcher::flush_departed() {
    auto lock = NameLock::acquire(files_.lock());
    if (!lock) return Step::retry;
    auto record = load_server_record(files_);
    if (unreadable(record)) return Step::retry;
    if (!record || !record_is_mine(*record)) {
        must_check_record_ = true;
        return Step::done;  // corrupt, or not ours: nothing of ours to write
    }
    auto clients = load_clients(files_);
    if (unreadable(clients)) return Step::retry;
    if (!clients) return Step::done;
    std::vector<pid_t> removed;
    for (auto it = clients->begin(); it != clients->end();) {
        auto seen = departed_.find(it->first);
        bool gone = seen != departed_.end() ? seen->second == it->second.start
                                            : !clients_.count(it->first) &&
                                                  process_liveness({it->first, it->second.start}) == Liveness::dead;
        if (!gone) {
            ++it;
            continue;
        }
        removed.push_back(it->first);
        it = clients->erase(it);
    }
    ServerRecord updated = **record;
    if (!removed.empty() && clients->empty()) {
        start_grace(updated, due_.grace >= 0 ? due_.grace : boot_now_ms() + updated.spec.grace_period_ms);
        if (!save_server_record(files_, updated)) return Step::retry;
    }
    if (!removed.empty() && !save_clients(files_, *clients)) return Step::retry;
    departed_.clear();
    forget_detached(*clients, updated);
    for (pid_t pid : removed) record_event(files_, "client-died", {{"client", pid}});
    if (!removed.empty() && clients->empty())
        record_event(files_, "grace-entered", {{"deadline", updated.grace_deadline_ms}});
    return Step::done;
}

// The grace deadline passed with no live client: stop the server, unless a
// client attached meanwhile (its SIGUSR1 may still be on its way).
Step Watcher::grace_expired() {
    auto lock = NameLock::acquire(files_.lock());
    if (!lock) return Step::retry;
    auto record = load_server_record(files_);
    if (unreadable(record)) return Step::retry;
    if (!record) {
        due_.grace = -1;  // corrupt: doctor repairs it, and wakes us
        return Step::done;
    }
    if (!record_is_mine(*record)) {
        must_check_record_ = true;
        return Step::done;
    }
    auto clients = load_clients(files_);
    if (unreadable(clients)) return Step::retry;
    if (clients) {
        for (const auto &[pid, entry] : *clients) {
            auto seen = departed_.find(pid);
            if (seen != departed_.end() && seen->second == entry.start) continue;
            if (process_liveness({pid, entry.start}) == Liveness::dead) continue;
            must_sync_ = true;  // rescued while the timer was in flight
            due_.grace = -1;
            return Step::done;
        }
    }
    // A client that attached and left again since moved the deadline.
    if (int64_t deadline = grace_deadline_boot(**record); departed_.empty() && deadline > boot_now_ms()) {
        due_.grace = deadline;
        return Step::done;
    }
    stop_and_forget(*lock, "grace period expired");
    return Step::done;
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
    if (probe_->attempt(probe_why_) == ProbeRunner::Result::ready) {
        probe_.reset();
        ready_unwritten_ = true;
    } else if (boot_now_ms() < probe_deadline_) {
        due_.probe = boot_now_ms() + probe_interval_;
    } else {
        probe_.reset();
        probe_gave_up_ = true;
    }
}

Step Watcher::write_ready() {
    auto lock = NameLock::acquire(files_.lock());
    if (!lock) return Step::retry;
    auto record = load_server_record(files_);
    if (unreadable(record)) return Step::retry;
    ready_unwritten_ = false;
    if (!record || !record_is_mine(*record)) return Step::done;
    ServerRecord ready = **record;
    ready.ready_at_ms = unix_now_ms();
    if (!save_server_record(files_, ready)) {
        ready_unwritten_ = true;
        return Step::retry;
    }
    record_event(files_, "ready", {{"pid", server_.pid},
                                   {"after_ms", boot_now_ms() - probe_started_},
                                   {"probe", describe_probe(spec_for_port(ready.spec, ready.port).ready)}});
    start_liveness(ready);
    return Step::done;
}

Step Watcher::probe_failed() {
    auto lock = NameLock::acquire(files_.lock());
    if (!lock) return Step::retry;
    auto record = load_server_record(files_);
    if (unreadable(record)) return Step::retry;
    probe_gave_up_ = false;
    if (!record || !record_is_mine(*record)) return Step::done;
    ServerSpec launched = spec_for_port((*record)->spec, (*record)->port);
    record_event(files_, "probe-failed", {{"pid", server_.pid},
                                          {"probe", describe_probe(launched.ready)},
                                          {"reason", probe_why_},
                                          {"timeout_ms", launched.ready.timeout_ms}});
    stop_and_forget(*lock, "the readiness probe failed");
    return Step::done;
}

void Watcher::server_exited() {
    server_gone_ = false;
    stop_liveness();
    // What the leader left behind is stopped with it (a daemonized child, a
    // worker): each is proven ours, and the leader is reaped only after, as
    // its zombie is what proves its group still its own. A server that
    // failed its liveness probe is alive: this stops it (TERM, then KILL).
    Stopped stopped = terminate_server(identity(), default_stop_timeout_ms, true);
    int status = wait_status();
    server_running_ = false;
    events_->unwatch_process(server_.pid);
    auto lock = NameLock::acquire(files_.lock());
    auto record = load_server_record(files_);
    bool mine = record && record_is_mine(*record);
    // A server stopped for its liveness failed, whatever its exit status.
    bool failed = unhealthy_ || !(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unhealthy_ = false;
    // A server that never became ready fails its waiting clients instead:
    // a crash at start is a configuration problem, not bad luck.
    bool restarts = mine && !(*record)->stopping && (*record)->ready_at_ms != 0 &&
                    ((*record)->spec.restart.mode == SHAREDSERVER_RESTART_ALWAYS ||
                     ((*record)->spec.restart.mode == SHAREDSERVER_RESTART_ON_FAILURE && failed));
    if (!restarts) finish_log();
    // A stop by a client removed the record first: then the exit was asked
    // for. The exit is logged once no record names the server as running.
    bool unexpected = mine && !(*record)->stopping;
    if (!mine) {
        log_exit(status, unexpected, stopped);
        if (lock && !file_exists(files_.server())) lock->remove_file();
        done_ = true;
        return;
    }
    ServerRecord r = **record;
    const RestartPolicy &policy = r.spec.restart;
    if (!restarts) {
        (void)save_clients(files_, {});
        (void)remove_file(files_.server());
        log_exit(status, unexpected, stopped);
        if (lock) lock->remove_file();
        done_ = true;
        return;
    }
    int64_t now = boot_now_ms();
    std::erase_if(r.restarts_boot_ms, [&](int64_t t) { return t < now - policy.window_ms; });
    if (static_cast<int>(r.restarts_boot_ms.size()) >= policy.max_restarts) {
        finish_log();
        (void)save_clients(files_, {});
        (void)remove_file(files_.server());
        // `exited` last: clients (the Neovim plugin) read how it ended when they see it.
        record_event(files_, "gave-up", {{"pid", server_.pid},
                                         {"restarts", r.restarts_boot_ms.size()},
                                         {"window_ms", policy.window_ms}});
        log_exit(status, unexpected, stopped);
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
    log_exit(status, unexpected, stopped);
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
    ServerSpec launched =
        spec_with_dependency_ports(spec_for_port(r.spec, r.port), dependency_ports(files_.dir, r.spec.depends_on));
    log_start_ = log_start(launched.log_file);
    std::string instance = new_instance_token();
    auto pump = log_pump_for(launched);
    auto relaunched = pump ? launch_server(launched, *pump, identity_environment(instance, files_.name, files_.dir))
                           : std::unexpected(pump.error());
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
    instance_ = instance;
    is_child_ = true;
    server_running_ = true;
    r.server = server_;
    r.instance = instance_;
    r.pgid = server_.pid;
    r.restarting = false;
    r.restarts_boot_ms.push_back(boot_now_ms());
    r.ready_at_ms = r.spec.ready.kind == SHAREDSERVER_PROBE_NONE ? unix_now_ms() : 0;
    r.liveness_failures = 0;
    (void)save_server_record(files_, r);
    record_event(files_, "restarted", {{"old_pid", old.pid},
                                       {"pid", server_.pid},
                                       {"restarts", r.restarts_boot_ms.size()},
                                       {"ready", r.ready_at_ms > 0}});
    must_check_record_ = true;  // the record is a new file: watch that one
    if (!events_->watch_process(server_)) {
        server_gone_ = true;  // died at once: the exit path handles it
        return;
    }
    if (r.ready_at_ms == 0) start_probe(r);
    else start_liveness(r);
}

void Watcher::start_liveness(const ServerRecord &record) {
    stop_liveness();
    ServerSpec launched = spec_for_port(record.spec, record.port);
    const LivenessProbe &liveness = launched.liveness;
    if (liveness.probe.kind == SHAREDSERVER_PROBE_NONE) return;
    live_ = std::make_unique<LivenessCheck>(liveness.probe, server_environment(launched.env), launched.working_dir);
    live_interval_ = std::max<int64_t>(1, liveness.probe.interval_ms);
    live_timeout_ = std::max<int64_t>(1, liveness.probe.timeout_ms);
    live_threshold_ = std::max(1, liveness.failures);
    live_failures_ = record.liveness_failures;
    live_failed_at_ms_ = record.liveness_failed_at_ms;
    due_.liveness = boot_now_ms() + live_interval_;
}

// An attempt in flight is abandoned (its command killed and reaped).
void Watcher::stop_liveness() {
    live_.reset();
    events_->watch_descriptor(-1, 0);
    due_.liveness = -1;
    live_failed_ = live_count_unwritten_ = live_woken_ = false;
}

// Starts an attempt when one is due, or moves the one in flight on (its
// socket is ready, a child ended, or its time is up). Nothing here waits:
// each step is a system call that returns at once.
void Watcher::liveness_due(bool woken) {
    if (!live_ || live_failed_) return;
    int64_t now = boot_now_ms();
    bool in_flight = live_->fd() >= 0 || live_->command_pid() > 0;
    LivenessCheck::Outcome outcome;
    if (in_flight) {
        if (!woken && now < live_->deadline()) return;
        outcome = live_->advance();
    } else {
        if (due_.liveness < 0 || now < due_.liveness) return;
        live_attempt_started_ = now;
        outcome = live_->begin(now + live_timeout_);
    }
    if (outcome == LivenessCheck::Outcome::pending) {
        events_->watch_descriptor(live_->fd(), live_->events());
        due_.liveness = live_->deadline();
        return;
    }
    events_->watch_descriptor(-1, 0);
    // One attempt per interval, start to start; a slow one is followed at once.
    due_.liveness = std::max(live_attempt_started_ + live_interval_, boot_now_ms());
    if (outcome == LivenessCheck::Outcome::passed) {
        if (live_failures_ > 0) live_count_unwritten_ = true;
        live_failures_ = 0;
        return;
    }
    ++live_failures_;
    live_failed_at_ms_ = unix_now_ms();
    live_count_unwritten_ = true;
    if (live_failures_ >= live_threshold_) {
        live_failed_ = true;
        due_.liveness = -1;
    }
}

// The record shows the failures in a row (info): written when the count
// changes, so a passing probe writes nothing.
Step Watcher::write_liveness_count() {
    auto lock = NameLock::acquire(files_.lock());
    if (!lock) return Step::retry;
    auto record = load_server_record(files_);
    if (unreadable(record)) return Step::retry;
    if (!record || !record_is_mine(*record) || (*record)->stopping || (*record)->restarting) return Step::done;
    ServerRecord updated = **record;
    updated.liveness_failures = live_failures_;
    updated.liveness_failed_at_ms = live_failed_at_ms_;
    if (updated == **record) return Step::done;
    if (!save_server_record(files_, updated)) return Step::retry;
    return Step::done;
}

// Failed `failures` times in a row: say so under the lock, then stop the
// server as if it had died (TERM, then KILL after the stop timeout, each
// process proven ours) and let its restart policy decide. The stop runs
// without the lock, as after a crash: a server that ignores TERM must not
// hold up every use and unuse of its name for the stop timeout.
Step Watcher::liveness_failed() {
    {
        auto lock = NameLock::acquire(files_.lock());
        if (!lock) return Step::retry;
        auto record = load_server_record(files_);
        if (unreadable(record)) return Step::retry;
        live_failed_ = false;
        if (!record || !record_is_mine(*record) || (*record)->stopping || (*record)->restarting) return Step::done;
        record_event(files_, "liveness-failed", {{"pid", server_.pid},
                                                 {"probe", describe_probe(live_->probe())},
                                                 {"reason", live_->why()},
                                                 {"failures", live_failures_}});
    }
    unhealthy_ = true;
    server_exited();
    return Step::done;
}

void Watcher::shutdown(const char *reason) {
    auto lock = NameLock::acquire(files_.lock());
    if (!lock) {
        terminate_server(identity(), default_stop_timeout_ms, true);
        done_ = true;
        return;
    }
    stop_and_forget(*lock, reason);
}

// Until it has its signalfd and timer the watcher cannot supervise anything:
// it tries again, with the same backoff as any other work, never giving up.
void Watcher::open_events() {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    std::size_t descriptors = limit.rlim_cur == RLIM_INFINITY ? std::size_t{1} << 20
                                                               : static_cast<std::size_t>(limit.rlim_cur);
    std::size_t overhead = fixed_descriptors + transaction_descriptors;
    std::size_t handles = descriptors > overhead ? descriptors - overhead : 0;
    // Under a tiny limit the inotify instance is worth more as a spare
    // descriptor: the record is then looked at on the timer.
    bool record_watch = descriptors >= 2 * overhead;
    while (true) {
        auto events = WatchEvents::create("the watcher of " + quote(files_.name), handles, record_watch);
        if (events) {
            events_ = std::move(*events);
            backoff_.reset();
            return;
        }
        int64_t wait = backoff_.next_try() - boot_now_ms();
        ::usleep(static_cast<useconds_t>(std::max<int64_t>(1, wait)) * 1000);
    }
}

void Watcher::take_wakeup(const WatchEvents::Wakeup &wakeup) {
    if (wakeup.terminate) stop_requested_ = true;
    if (wakeup.child_exited) reap_children();
    for (pid_t pid : wakeup.exited) {
        if (server_running_ && pid == server_.pid) server_gone_ = true;
        else if (pid != server_.pid) client_exited(pid);
    }
    if (wakeup.files_changed) must_sync_ = must_check_record_ = true;
    if (wakeup.record_changed) must_check_record_ = true;
    if (wakeup.descriptor_ready || wakeup.child_exited) live_woken_ = true;
}

// Everything due, in order; what fails for lack of a resource is kept for
// the retry timer, and what needs no resource (the grace timer, in memory)
// goes on meanwhile.
void Watcher::work() {
    if (stop_requested_) {
        shutdown("the watcher was asked to stop");
        return;
    }
    if (server_gone_) {
        server_exited();
        if (done_) return;
    }
    bool retry = false;
    auto attempt = [&](bool &pending, auto step) {
        if (!pending || done_) return;
        pending = false;
        if ((this->*step)() == Step::retry) {
            pending = true;
            retry = true;
        }
    };
    if (must_sync_ || must_check_record_) {
        // The client woke us before writing, holding the lock: once it lets
        // go, what it wrote is all there to read.
        if (!NameLock::wait_for_holder(files_.lock())) retry = true;
        else attempt(must_check_record_, &Watcher::check_record);
    }
    if (!retry) attempt(must_sync_, &Watcher::sync_clients);
    bool departed = !departed_.empty();
    attempt(departed, &Watcher::flush_departed);
    int64_t now = boot_now_ms();
    if (!done_ && due_.probe >= 0 && now >= due_.probe) probe_due();
    attempt(ready_unwritten_, &Watcher::write_ready);
    attempt(probe_gave_up_, &Watcher::probe_failed);
    if (!done_ && server_running_) {
        liveness_due(std::exchange(live_woken_, false));
        attempt(live_count_unwritten_, &Watcher::write_liveness_count);
        attempt(live_failed_, &Watcher::liveness_failed);
    }
    if (!done_ && due_.restart >= 0 && now >= due_.restart) restart_due();
    bool grace_over = clients_.empty() && due_.grace >= 0 && now >= due_.grace;
    attempt(grace_over, &Watcher::grace_expired);
    if (retry) {
        due_.retry = backoff_.next_try();
    } else {
        due_.retry = -1;
        backoff_.reset();
    }
}

int Watcher::run() {
    open_events();
    // Orphans that died before SIGCHLD reached the signalfd left no signal.
    reap_children();
    if (!events_->watch_process(server_)) server_gone_ = true;
    if (auto record = load_server_record(files_); record && record_is_mine(*record)) {
        grace_period_ms_ = (**record).spec.grace_period_ms;
        if ((*record)->ready_at_ms == 0) start_probe(**record);
        else start_liveness(**record);
    }
    while (true) {
        work();
        if (done_) return 0;
        events_->arm_timer(due_.next(boot_now_ms()));
        take_wakeup(events_->wait());
    }
}

// A server we launched that no record will ever name must not outlive us.
// Returns its wait status.
int stop_unclaimed(const ProcessId &server, const std::string &instance) {
    terminate_server(identity_of(server, instance), default_stop_timeout_ms, true);
    int status = -1;
    while (::waitpid(server.pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

// After the handshake, under the lock: is the record ours? If the client
// died before writing it, the server we launched must not outlive us. A
// record that names our server but another watcher is an adoption whose
// client died before it wrote us in: that server has its watcher, or gets
// one from the next command; two would both answer for it. If a stop took
// the lock before us, the server it ended was recorded (started or adopted)
// and its exit is ours to log: otherwise the name's last exit would be an
// older server's.
bool claimed_by_record(const ServerFiles &files, const ProcessId &server, bool is_child, const std::string &instance) {
    auto lock = NameLock::acquire(files.lock());
    auto record = load_server_record(files);
    if (record && *record && (*record)->server == server) return (*record)->watcher.pid == ::getpid();
    int status = -1;
    if (is_child) status = stop_unclaimed(server, instance);
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
    // A shell's `ulimit -n 8` must not leave us unable to open a record: we
    // take all the descriptors the hard limit allows (and budget them, see
    // open_events()); what we start gets the client's limit back.
    keep_limits_for_children();
    if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &limit);
    }
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
    // What the server's processes orphan (a daemon's double fork) stays in
    // our tree, where it is proven the server's and stopped with it.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
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
    std::string instance;
    // Released when we exit, whichever way: the server is gone by then.
    HeldDependencies dependencies;
    auto me = identify_process(::getpid());
    if (options.adopt) {
        server = {request.value("pid", 0), request.value("start", uint64_t{0})};
        instance = request.value("instance", std::string());
        started_log = log_start(request.value("log_file", files.log()));
        if (!process_alive(server)) {
            report({{"ok", false}, {"message", "the server to adopt is gone"}});
            return 1;
        }
        // The watcher that died held the server's dependencies; we hold them
        // now, as far as they still run.
        if (auto record = load_server_record(files); me && record && *record && (*record)->server == server)
            for (const auto &name : (*record)->spec.depends_on) (void)dependencies.hold(options.state_dir, files.name, {name}, *me);
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
        // What it depends on is held before it starts, and its ports go into
        // its arguments and environment; the client used it all first.
        if (auto needs = request.value("depends_on", std::vector<std::string>{}); !needs.empty()) {
            auto ports = me ? dependencies.hold(options.state_dir, files.name, needs, *me)
                            : Result<std::map<std::string, int>>(std::unexpected(Error{SHAREDSERVER_ESPAWN, "the watcher cannot read its own start time", 0, {}, {}}));
            if (!ports) {
                report({{"ok", false}, {"message", ports.error().message}});
                return 1;
            }
            spec = spec_with_dependency_ports(std::move(spec), *ports);
        }
        started_log = log_start(spec.log_file);
        // The pump first: the server's first words must find their reader.
        auto options = log_pump_options(files, spec);
        auto usable = check_log_file(options);
        auto started_pump = usable ? start_log_pump(options) : std::unexpected(usable.error());
        if (started_pump) pump = *started_pump;
        instance = new_instance_token();
        auto launched = started_pump ? launch_server(spec, pump.input, identity_environment(instance, files.name, files.dir))
                                     : std::unexpected(started_pump.error());
        if (!launched) {
            report({{"ok", false},
                    {"message", launched.error().message},
                    {"errno", launched.error().sys_errno},
                    {"path", launched.error().path}});
            return 1;
        }
        server = *launched;
    }
    report({{"ok", true},
            {"pid", server.pid},
            {"start", server.start},
            {"watcher_pid", ::getpid()},
            {"watcher_start", me ? me->start : 0},
            {"wake_signal", true},
            {"instance", instance}});
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
        if (!options.adopt) stop_unclaimed(server, instance);
        return 0;
    }
    if (!claimed_by_record(files, server, !options.adopt, instance)) return 0;
    return Watcher(options, server, !options.adopt, started_log, pump, std::move(instance)).run();
}

}  // namespace sharedserver
