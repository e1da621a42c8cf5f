#include "exit_info.hpp"

#include <map>
#include <sstream>

#include "duration.hpp"
#include "events.hpp"
#include "log_tail.hpp"
#include "names.hpp"

namespace sharedserver {

using nlohmann::json;

namespace {

// What the log told about one server process before it ended.
struct Life {
    bool ready = true;  // logs from before "ready" was recorded on "started" count as ready
    bool stopping = false;
    std::string stop_reason;
    bool probe_failed = false;
    std::string probe_detail;
    int64_t probe_timeout_ms = 0;
    bool gave_up = false;
    std::size_t restarts = 0;
    bool unhealthy = false;
    std::string unhealthy_detail;
};

int stop_reason_kind(const std::string &reason) {
    if (reason == "grace period expired") return SHAREDSERVER_EXIT_GRACE_EXPIRED;
    if (reason == "its record was removed") return SHAREDSERVER_EXIT_ORPHANED;
    if (reason == "the readiness probe failed") return SHAREDSERVER_EXIT_PROBE_FAILED;
    return SHAREDSERVER_EXIT_STOPPED;
}

std::string plural(std::size_t n, const char *word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

}  // namespace

std::string probe_failure_detail(const std::string &probe, const std::string &reason) {
    if (reason.empty()) return probe;
    if (probe.empty() || reason.starts_with(probe + ":") || reason.starts_with(probe + " ")) return reason;
    return probe + ": " + reason;
}

std::vector<json> parse_event_lines(const std::string &text) {
    std::vector<json> events;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        json e = json::parse(line, nullptr, false);
        if (e.is_object()) events.push_back(std::move(e));
    }
    return events;
}

std::string exit_phrase(const ExitInfo &e) {
    const std::string starting = e.while_starting ? " while starting" : "";
    switch (e.reason) {
        case SHAREDSERVER_EXIT_SIGNALLED: return "was killed by signal " + std::to_string(e.signal) + starting;
        case SHAREDSERVER_EXIT_PROBE_FAILED:
            return "did not become ready within " + format_duration(e.probe_timeout_ms) +
                   (e.detail.empty() ? "" : " (" + e.detail + ")");
        case SHAREDSERVER_EXIT_GAVE_UP:
            if (!e.detail.empty()) return "exited and could not be restarted: " + e.detail;
            return "kept exiting and was given up after " + plural(e.restarts, "restart");
        case SHAREDSERVER_EXIT_STOPPED:
            if (e.while_starting) return "was stopped while starting" + (e.detail.empty() ? "" : " (" + e.detail + ")");
            return "was stopped by a client" + (e.detail.empty() ? "" : " (" + e.detail + ")");
        case SHAREDSERVER_EXIT_GRACE_EXPIRED: return "was stopped: its grace period ended";
        case SHAREDSERVER_EXIT_KILLED: return "was killed (admin kill)" + starting;
        case SHAREDSERVER_EXIT_ORPHANED: return "was stopped: its record was removed";
        case SHAREDSERVER_EXIT_UNHEALTHY:
            return "was stopped: it failed its liveness probe" + (e.detail.empty() ? "" : " (" + e.detail + ")");
        default:
            if (e.code < 0) return "exited" + starting;
            return "exited with code " + std::to_string(e.code) + starting;
    }
}

std::vector<ExitInfo> exits_in(const std::vector<json> &events) {
    std::vector<ExitInfo> out;
    std::map<pid_t, Life> lives;
    for (const json &e : events) {
        const std::string kind = event_text(e, "event");
        const pid_t pid = event_pid(e);
        const int64_t at = event_int(e, "at");
        if (kind == "started" || kind == "restarted" || kind == "adopted") {
            Life life;
            if (e.contains("ready") && e["ready"].is_boolean()) life.ready = e["ready"].get<bool>();
            lives[pid] = life;
        } else if (kind == "ready") {
            lives[pid].ready = true;
        } else if (kind == "stopping") {
            Life &life = lives[pid];
            life.stopping = true;
            life.stop_reason = event_text(e, "reason");
        } else if (kind == "probe-failed") {
            Life &life = lives[pid];
            life.probe_failed = true;
            life.probe_detail = probe_failure_detail(event_text(e, "probe"), event_text(e, "reason"));
            life.probe_timeout_ms = event_int(e, "timeout_ms");
        } else if (kind == "liveness-failed") {
            Life &life = lives[pid];
            life.unhealthy = true;
            life.unhealthy_detail = probe_failure_detail(event_text(e, "probe"), event_text(e, "reason")) + ", " +
                                    std::to_string(event_int(e, "failures")) + " times in a row";
        } else if (kind == "gave-up") {
            Life &life = lives[pid];
            if (e.contains("error")) {
                // The relaunch failed: its exit was recorded before "restarting".
                ExitInfo x;
                x.reason = SHAREDSERVER_EXIT_GAVE_UP;
                x.pid = pid;
                x.at_ms = at;
                x.unexpected = true;
                x.detail = event_text(e, "error");
                out.push_back(x);
                continue;
            }
            life.gave_up = true;
            life.restarts = static_cast<std::size_t>(std::max(0, static_cast<int>(event_int(e, "restarts", 0))));
        } else if (kind == "killed") {
            ExitInfo x;
            x.reason = SHAREDSERVER_EXIT_KILLED;
            x.pid = pid;
            x.at_ms = at;
            x.while_starting = pid > 0 && lives.contains(pid) && !lives[pid].ready;
            out.push_back(x);
        } else if (kind == "exited") {
            Life life = lives[pid];
            lives.erase(pid);
            ExitInfo x;
            x.pid = pid;
            x.at_ms = at;
            x.code = static_cast<int>(event_int(e, "code", -1));
            x.signal = static_cast<int>(event_int(e, "signal", 0));
            x.unexpected = e.contains("unexpected") && e["unexpected"].is_boolean() && e["unexpected"].get<bool>();
            x.while_starting = !life.ready;
            if (life.probe_failed) {
                x.reason = SHAREDSERVER_EXIT_PROBE_FAILED;
                x.detail = life.probe_detail;
                x.probe_timeout_ms = life.probe_timeout_ms;
            } else if (life.unhealthy) {
                x.reason = SHAREDSERVER_EXIT_UNHEALTHY;
                x.detail = life.unhealthy_detail;
            } else if (life.gave_up) {
                x.reason = SHAREDSERVER_EXIT_GAVE_UP;
                x.restarts = life.restarts;
            } else if (life.stopping) {
                x.reason = stop_reason_kind(life.stop_reason);
                if (x.reason == SHAREDSERVER_EXIT_STOPPED) x.detail = life.stop_reason;
            } else if (x.signal != 0) {
                x.reason = SHAREDSERVER_EXIT_SIGNALLED;
            } else {
                x.reason = SHAREDSERVER_EXIT_EXITED;
            }
            if (x.reason != SHAREDSERVER_EXIT_EXITED) x.code = -1;
            out.push_back(x);
        }
    }
    return out;
}

std::optional<ExitInfo> find_exit(const ServerFiles &files, int64_t since_ms, std::size_t log_lines) {
    auto text = read_events(files);
    if (!text) return std::nullopt;
    auto exits = exits_in(parse_event_lines(*text));
    for (auto it = exits.rbegin(); it != exits.rend(); ++it) {
        if (it->at_ms < since_ms) break;
        ExitInfo found = *it;
        found.message = "server " + quote(files.name) + " " + exit_phrase(found);
        if (log_lines > 0)
            if (auto tail = tail_server_log(files, log_lines)) found.log_tail = *tail;
        return found;
    }
    return std::nullopt;
}

}  // namespace sharedserver
