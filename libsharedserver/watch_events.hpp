// What the watcher sleeps on: process exits, changes to the state directory,
// one timer, and termination signals. Linux uses pidfd + inotify + timerfd +
// signalfd under one poll() with no timeout, so an idle watcher makes no
// system calls; where pidfd is missing it falls back to a 1 s poll.
#pragma once

#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "error.hpp"

namespace sharedserver {

class WatchEvents {
public:
    struct Wakeup {
        std::vector<pid_t> exited;    // watched processes that ended
        bool files_changed = false;   // a file named in `watch_files` was replaced or removed
        bool timer = false;
        bool file_grew = false;       // the file given to watch_growth() was written to
        bool terminate = false;       // SIGTERM, SIGINT or SIGHUP
    };

    // Blocks SIGTERM/SIGINT/SIGHUP for the calling (single) thread.
    static Result<std::unique_ptr<WatchEvents>> create(const std::string &dir,
                                                       std::vector<std::string> watch_files);
    virtual ~WatchEvents() = default;

    // False when the process is already gone.
    virtual bool watch_process(pid_t pid) = 0;
    virtual void unwatch_process(pid_t pid) = 0;
    virtual bool watching(pid_t pid) const = 0;
    // Wake when `path` is written to (one file at a time); "" stops it.
    virtual void watch_growth(const std::string &path) = 0;
    // Fires once after `delay_ms` of CLOCK_BOOTTIME (sleep counts); < 0 disarms.
    virtual void arm_timer(int64_t delay_ms) = 0;
    virtual Wakeup wait() = 0;
};

}  // namespace sharedserver
