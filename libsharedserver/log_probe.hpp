// The readiness probe that waits for a line of the server's output.
//
// Lines are matched with RE2, whose matching time is linear in the line: no
// pattern can keep the single-threaded watcher busy (std::regex backtracked
// for seconds on `(a+)+$`, while the ready timeout, client deaths and SIGTERM
// waited). RE2 has no back-references or look-arounds.
//
// The log pump (log_pump.hpp) rotates the log by renaming it to <log>.1 and
// starting a new file, so the probe reads by (file, offset): it keeps the
// file it reads open, finishes it when the path names another file, and
// reads the new one from its start. A line cut by a rotation still matches.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "error.hpp"

namespace re2 {
class RE2;
}

namespace sharedserver {

// Only the first this many bytes of a line are matched: readiness messages
// are short, and a line of megabytes (a dump, minified JSON) must cost no
// more memory or time than one of 2 KiB.
inline constexpr std::size_t log_line_matched = 2048;

// Where the log and its one rotated file stood just before the server
// started: the probe matches only what came after.
struct LogStart {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    int64_t size = 0;
    bool rotated_exists = false;  // <log>.1
    dev_t rotated_dev = 0;
    ino_t rotated_ino = 0;
};

LogStart log_start(const std::string &log_file);

// SHAREDSERVER_EINVALID with one line naming the pattern and what RE2
// found wrong in it.
Status check_log_pattern(const std::string &pattern);

class LogProbe {
public:
    // A pattern that does not compile never matches (the watcher refuses it
    // before it starts anything: check_log_pattern).
    LogProbe(const std::string &pattern, std::string log_file, LogStart start);
    ~LogProbe();
    LogProbe(const LogProbe &) = delete;
    LogProbe &operator=(const LogProbe &) = delete;

    // Reads what was written since the last call; true when a line matched.
    bool attempt();

private:
    bool catch_up_rotation();
    bool open_current();
    bool read_to_end();
    bool feed(std::string_view chunk);
    void close_file();

    std::unique_ptr<re2::RE2> pattern_;
    std::string log_file_;
    LogStart start_;
    bool first_look_ = true;
    int fd_ = -1;
    dev_t dev_ = 0;
    ino_t ino_ = 0;
    int64_t offset_ = 0;
    std::string partial_line_;  // the current line so far, at most its first log_line_matched bytes
};

}  // namespace sharedserver
