// Readiness probes: validated when a client asks (so a bad URL, regex or port
// fails before anything starts) and run by the watcher, which is the one
// process that lives as long as the server.
#pragma once

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"
#include "records.hpp"

namespace sharedserver {

inline constexpr int64_t default_ready_timeout_ms = 30'000;

// Checks the probe a client asked for and fills in its defaults.
Status normalize_probe(ReadyProbe &probe, bool has_port);

// "port 6379", "http://127.0.0.1:8000/health", "log /ready/", ...
std::string describe_probe(const ReadyProbe &probe);

int64_t default_probe_interval_ms(int kind);

class ProbeRunner {
public:
    // `log_offset`: where the log file ended before this launch, so a log
    // probe only matches what this server wrote. `env`: the server's
    // environment, which a readiness command runs with too.
    ProbeRunner(ReadyProbe probe, std::string log_file, int64_t log_offset, std::vector<std::string> env);

    enum class Result { ready, not_yet };
    // One attempt; `why` receives the latest reason it is not ready.
    Result attempt(std::string &why);

private:
    // Feeds log text to the line matcher; true when a line matched.
    bool match_lines(std::string_view chunk);

    ReadyProbe probe_;
    std::string log_file_;
    int64_t log_offset_;
    std::vector<std::string> env_;
    std::string partial_line_;  // the current line so far, at most its first 2 KiB
    std::unique_ptr<std::regex> pattern_;
};

// The current size of a file (0 when missing).
int64_t file_size(const std::string &path);

}  // namespace sharedserver
