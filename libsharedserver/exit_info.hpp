// How a server ended, read from its event log: the reason (exited, killed by
// a signal, failed its probe, given up, stopped, grace ended, killed,
// orphaned), the numbers behind it, and the one line every client shows.
// The waiter's failure report and sharedserver_exit_message() both come
// from exit_phrase().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "state_dir.hpp"

namespace sharedserver {

struct ExitInfo {
    int reason = SHAREDSERVER_EXIT_EXITED;  // sharedserver_exit_kind
    int code = -1;                          // -1 unless it exited on its own with a known status
    int signal = 0;
    pid_t pid = 0;
    int64_t at_ms = 0;
    std::size_t restarts = 0;  // the restarts its policy made before giving up
    bool unexpected = false;   // no client, grace period or stop asked for it
    bool while_starting = false;
    std::string detail;  // the stop's reason, the probe and its result, why a restart failed
    int64_t probe_timeout_ms = 0;
    std::string message;   // "server \"x\" exited with code 3 while starting"
    std::string log_tail;  // the log's last lines, when read
};

// "exited with code 3 while starting", "did not become ready within 2s
// (port 5432: Connection refused)", "kept exiting and was given up after 1
// restart", ... No server name, no advice: any client may show it.
std::string exit_phrase(const ExitInfo &exit);

// Every ending the events record, oldest first (message and log tail unset).
std::vector<ExitInfo> exits_in(const std::vector<nlohmann::json> &events);

// The newest ending of `files.name` recorded at or after since_ms (0: any),
// with its message and the last `log_lines` lines of its log.
std::optional<ExitInfo> find_exit(const ServerFiles &files, int64_t since_ms, std::size_t log_lines = 20);

// What a failed probe tried and why it failed, naming the target once:
// ("port 5432", "port 5432: Connection refused") -> "port 5432: Connection refused".
std::string probe_failure_detail(const std::string &probe, const std::string &reason);

// The event log's lines as JSON objects; lines that are not are skipped.
std::vector<nlohmann::json> parse_event_lines(const std::string &text);

}  // namespace sharedserver
