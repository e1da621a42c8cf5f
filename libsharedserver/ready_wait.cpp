#include "ready_wait.hpp"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "duration.hpp"
#include "events.hpp"
#include "exit_info.hpp"
#include "log_tail.hpp"
#include "name_lock.hpp"
#include "names.hpp"
#include "records.hpp"

namespace sharedserver {

using nlohmann::json;

namespace {

constexpr int64_t progress_interval_ms = 100;
constexpr int64_t watcher_slack_ms = 5000;
// How long a waiter that saw the server gone lets the transaction in flight
// (the watcher recording the exit) finish before it reads the event log.
constexpr int64_t settle_timeout_ms = 10'000;
constexpr std::size_t failure_log_lines = 20;

class DirectoryChanges {
public:
    explicit DirectoryChanges(const std::string &dir) {
        fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (fd_ >= 0 && ::inotify_add_watch(fd_, dir.c_str(), IN_MOVED_TO | IN_DELETE) < 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~DirectoryChanges() {
        if (fd_ >= 0) ::close(fd_);
    }
    // Sleeps until something in the directory changes or `ms` pass.
    void wait(int64_t ms) {
        if (ms <= 0) return;
        if (fd_ < 0) {
            ::usleep(static_cast<useconds_t>(std::min<int64_t>(ms, 10)) * 1000);
            return;
        }
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(ms)) > 0) {
            char buf[4096];
            while (::read(fd_, buf, sizeof buf) > 0) {
            }
        }
    }

private:
    int fd_ = -1;
};

std::string newest_line(const ServerFiles &files) {
    auto tail = tail_server_log(files, 1);
    if (!tail) return {};
    std::string line = *tail;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return line;
}

// The events that can tell how the server `target` names ended: those after
// its "started" or "restarted" event when the log still has it, else those
// recorded since the caller's attempt began.
std::vector<json> events_of(const std::vector<json> &events, const WaitTarget &target) {
    std::size_t first = events.size();
    if (target.server > 0)
        for (std::size_t i = events.size(); i-- > 0;) {
            std::string kind = event_text(events[i], "event");
            if ((kind == "started" || kind == "restarted") && event_pid(events[i]) == target.server) {
                first = i + 1;
                break;
            }
        }
    std::vector<json> out;
    if (first < events.size()) {
        for (std::size_t i = first; i < events.size(); ++i) {
            pid_t pid = event_pid(events[i]);
            if (pid == 0 || pid == target.server) out.push_back(events[i]);
        }
        return out;
    }
    for (const json &e : events)
        if (event_int(e, "at") >= target.since_ms) out.push_back(e);
    return out;
}

std::string with_log_tail(const ServerFiles &files, std::string message) {
    if (auto tail = tail_server_log(files, failure_log_lines); tail && !tail->empty())
        message += "; the last lines of its log:\n" + *tail;
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return message;
}

// The record is gone, or names a server that died with its watcher: let the
// transaction in flight finish (a watcher records the exit under the lock,
// after removing the record), then say what the event log knows.
std::unexpected<Error> explain_end(const ServerFiles &files, const WaitTarget &target, bool watcher_gone) {
    NameLock::wait_for_holder(files.lock(), settle_timeout_ms);
    int code = SHAREDSERVER_ESPAWN;
    std::string why = describe_failure(files, target, &code);
    if (!why.empty()) return fail(code, why);
    if (watcher_gone)
        return fail(SHAREDSERVER_ESPAWN,
                    with_log_tail(files, "server " + quote(files.name) + " (pid " + std::to_string(target.server) +
                                             ") exited while starting, and its watcher is gone too, so how it "
                                             "ended was not recorded"));
    return fail(SHAREDSERVER_ENOTRUNNING, "server " + quote(files.name) + " is not running");
}

}  // namespace

std::string describe_failure(const ServerFiles &files, const WaitTarget &target, int *code) {
    auto text = read_events(files);
    if (!text) return {};
    *code = SHAREDSERVER_ESPAWN;
    const std::vector<json> events = events_of(parse_event_lines(*text), target);
    std::optional<ExitInfo> ended;
    if (auto exits = exits_in(events); !exits.empty()) ended = exits.front();
    if (!ended) {
        // The exit may not be recorded yet: the probe's verdict or a stop's
        // own event is enough.
        for (const json &e : events) {
            std::string kind = event_text(e, "event");
            if (kind == "probe-failed" || kind == "stopping") {
                ExitInfo x;
                x.pid = event_pid(e);
                x.reason = kind == "probe-failed" ? SHAREDSERVER_EXIT_PROBE_FAILED : SHAREDSERVER_EXIT_STOPPED;
                if (kind == "probe-failed") {
                    x.detail = probe_failure_detail(event_text(e, "probe"), event_text(e, "reason"));
                    x.probe_timeout_ms = event_int(e, "timeout_ms");
                } else {
                    x.detail = event_text(e, "reason");
                }
                ended = x;
                break;
            }
            if (kind == "repaired" && event_pid(e) == target.server && target.server > 0)
                return with_log_tail(files, "server " + quote(files.name) +
                                                " exited while starting, and its watcher is gone too, so how it ended was not recorded");
        }
    }
    if (!ended) return {};
    // The waiter waits for a start: however it ended, it ended while starting.
    ended->while_starting = true;
    if (ended->reason == SHAREDSERVER_EXIT_PROBE_FAILED) *code = SHAREDSERVER_ETIMEOUT;
    return with_log_tail(files, "server " + quote(files.name) + " " + exit_phrase(*ended));
}

Status wait_until_ready(const ServerFiles &files, int64_t timeout_ms, const WaitTarget &asked,
                        const WaitProgress &progress) {
    DirectoryChanges changes(files.dir);
    WaitTarget target = asked;
    const int64_t started = monotonic_now_ms();
    int64_t deadline = timeout_ms >= 0 ? started + timeout_ms : -1;
    int64_t next_progress = started + progress_interval_ms;
    while (true) {
        auto loaded = load_server_record(files);
        if (!loaded) return std::unexpected(loaded.error());  // corrupt: it can never become ready
        if (!*loaded) return explain_end(files, target, false);
        const ServerRecord &record = **loaded;
        target.server = record.server.pid;
        bool alive = record_alive(record);
        if (alive && record.ready_at_ms > 0 && !record.restarting) return {};
        // A dead server under a live watcher is being recorded (its exit, a
        // restart): wait for the record to change. With the watcher gone too,
        // nobody will.
        if (!alive && !watcher_alive(record)) return explain_end(files, target, true);
        if (deadline < 0) deadline = started + record.spec.ready.timeout_ms + watcher_slack_ms;
        int64_t now = monotonic_now_ms();
        if (now >= deadline) {
            if (!alive)
                return fail(SHAREDSERVER_ESPAWN,
                            with_log_tail(files, "server " + quote(files.name) + " (pid " +
                                                     std::to_string(record.server.pid) +
                                                     ") exited while starting, and its watcher has not recorded how; "
                                                     "its event log may tell more"));
            return fail(SHAREDSERVER_ETIMEOUT, "server " + quote(files.name) + " is still starting after " +
                                                   format_duration(now - started) +
                                                   "; wait longer for it");
        }
        if (progress && now >= next_progress) {
            progress(now - started, newest_line(files));
            next_progress = now + progress_interval_ms;
        }
        changes.wait(std::min(progress_interval_ms, deadline - now));
    }
}

}  // namespace sharedserver
