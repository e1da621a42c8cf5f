// The log pump: the one writer of a server's log (DESIGN §6).
//
// The server's stdout and stderr are a pipe; a small process per server (the
// watcher executable in its `log-pump` mode, started by the watcher before
// the server) reads it and appends to the log. Being the only writer, it can
// keep the log under its cap however fast the server writes: when the next
// chunk would pass the cap it renames the log to <log>.1 (replacing the older
// one) and starts a new log, cutting at a newline where the chunk has one. So
// the log and <log>.1 each stay within the cap, a line longer than the cap is
// split, and no byte is lost at a rotation.
//
// The log is created with the first output, so a server that never ran
// (a failed exec) leaves no empty log. A write that fails (ENOSPC, EIO, a
// quota) drops that output and counts it; once a write succeeds again the
// pump first writes one line saying how much was dropped and why. The server
// never blocks on a full disk and never sees the error. The pump exits when
// every writer is gone (the server, its children, and the watcher, which
// keeps one end open for its readiness command); idle, it sleeps in read().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "error.hpp"

namespace sharedserver {

struct LogPumpOptions {
    std::string log_file;
    int64_t max_size = 0;    // bytes; 0: never rotate
    bool no_follow = false;  // the default log in the state dir: never opened through a symlink
};

// What the pump does with each chunk it reads (the part worth unit tests).
class LogWriter {
public:
    explicit LogWriter(LogPumpOptions options) : options_(std::move(options)) {}
    ~LogWriter();
    LogWriter(const LogWriter &) = delete;
    LogWriter &operator=(const LogWriter &) = delete;

    void write(std::string_view data);
    uint64_t dropped() const { return dropped_; }

private:
    bool open_log();
    void rotate();
    bool put(std::string_view data);
    void drop(std::size_t bytes, int err);
    void forget_if_empty();
    bool write_drop_notice();

    LogPumpOptions options_;
    int fd_ = -1;
    bool rotatable_ = false;  // a regular file: a device or FIFO has no size to cap
    bool created_ = false;    // by us, just now
    int64_t size_ = 0;
    bool at_line_start_ = true;
    uint64_t dropped_ = 0;
    int drop_errno_ = 0;
};

// Whether the pump will be able to write the log, checked before the server
// starts: a log it could never write fails `use` at once, naming it. Creates
// nothing (a missing log is made by the first output).
Status check_log_file(const LogPumpOptions &options);

// The pump's main loop over fd 0; returns the exit code.
int run_log_pump(const LogPumpOptions &options);

struct StartedLogPump {
    int input = -1;  // the write end of its pipe (close-on-exec): the server's stdout and stderr
    pid_t pid = 0;   // a child of the caller
};

// Starts a pump for `options`: the calling executable, in its log-pump mode.
Result<StartedLogPump> start_log_pump(const LogPumpOptions &options);

// The arguments that select the pump's mode of the watcher executable.
inline constexpr const char *log_pump_mode = "log-pump";

}  // namespace sharedserver
