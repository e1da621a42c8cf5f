#include "ready_wait.hpp"

#include <cerrno>
#include <poll.h>
#include <sstream>
#include <sys/inotify.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "duration.hpp"
#include "events.hpp"
#include "log_tail.hpp"
#include "names.hpp"
#include "records.hpp"

namespace sharedserver {

using nlohmann::json;

namespace {

constexpr int64_t progress_interval_ms = 100;
constexpr int64_t watcher_slack_ms = 5000;
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

}  // namespace

std::string describe_failure(const ServerFiles &files, int64_t since_ms, int *code) {
    auto text = read_events(files);
    if (!text) return {};
    std::istringstream lines(*text);
    std::string reason;
    *code = SHAREDSERVER_ESPAWN;
    for (std::string line; std::getline(lines, line);) {
        json e = json::parse(line, nullptr, false);
        if (!e.is_object() || e.value("at", int64_t{0}) < since_ms) continue;
        std::string kind = e.value("event", "");
        if (kind == "probe-failed") {
            reason = "did not become ready within " + format_duration(e.value("timeout_ms", int64_t{0})) + " (" +
                     e.value("probe", "") + ": " + e.value("reason", "") + ")";
            *code = SHAREDSERVER_ETIMEOUT;
        } else if (kind == "exited" && reason.empty()) {
            if (e.contains("signal") && e.value("signal", 0) != 0)
                reason = "was killed by signal " + std::to_string(e.value("signal", 0)) + " while starting";
            else if (e.contains("code") && e["code"].is_number())
                reason = "exited with code " + std::to_string(e.value("code", 0)) + " while starting";
            else
                reason = "exited while starting";
        } else if (kind == "gave-up") {
            reason = "kept exiting and was given up after " + std::to_string(e.value("restarts", 0)) + " restarts";
        }
    }
    if (reason.empty()) return {};
    std::string message = "server " + quote(files.name) + " " + reason;
    if (auto tail = tail_server_log(files, failure_log_lines); tail && !tail->empty())
        message += "; the last lines of its log:\n" + *tail;
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return message;
}

Status wait_until_ready(const ServerFiles &files, int64_t timeout_ms, int64_t since_ms,
                        const WaitProgress &progress) {
    DirectoryChanges changes(files.dir);
    const int64_t started = monotonic_now_ms();
    int64_t deadline = -1;
    int64_t next_progress = started + progress_interval_ms;
    while (true) {
        auto loaded = load_server_record(files);
        if (loaded && (!*loaded || !record_alive(**loaded))) {
            int code = SHAREDSERVER_ESPAWN;
            std::string why = describe_failure(files, since_ms, &code);
            if (why.empty())
                return fail(SHAREDSERVER_ENOTRUNNING, "server " + quote(files.name) + " is not running; start it with `sharedserver use " +
                                                          files.name + " -- <command>`");
            return fail(code, why);
        }
        if (loaded && loaded->has_value()) {
            const ServerRecord &record = **loaded;
            if (record.ready_at_ms > 0 && !record.restarting) return {};
            if (deadline < 0)
                deadline = started + (timeout_ms >= 0 ? timeout_ms : record.spec.ready.timeout_ms + watcher_slack_ms);
        }
        int64_t now = monotonic_now_ms();
        if (deadline >= 0 && now >= deadline)
            return fail(SHAREDSERVER_ETIMEOUT, "server " + quote(files.name) + " is still starting after " +
                                                   format_duration(now - started) +
                                                   "; wait longer with `sharedserver wait " + files.name + " --timeout 2m`");
        if (progress && now >= next_progress) {
            progress(now - started, newest_line(files));
            next_progress = now + progress_interval_ms;
        }
        int64_t sleep = progress_interval_ms;
        if (deadline >= 0) sleep = std::min(sleep, deadline - now);
        changes.wait(sleep);
    }
}

}  // namespace sharedserver
