// What the watcher sleeps on: process exits, a wake-up signal from clients
// that changed its records, one timer and termination signals. Linux uses
// pidfd + signalfd + timerfd under one poll() with no timeout, so an idle
// watcher makes no system calls; where pidfd is missing it falls back to a
// 1 s poll. The log needs no watching: its pump keeps it under its cap.
//
// Records changes arrive as SIGUSR1 rather than through an inotify watch on
// the state directory: such a watch wakes every watcher on every write of any
// name (N watchers, N wake-ups per transaction), and costs one of the user's
// 128 inotify instances per server.
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
        bool files_changed = false;   // a client changed the records (SIGUSR1)
        bool timer = false;
        bool terminate = false;       // SIGTERM, SIGINT or SIGHUP
    };

    // Blocks wake_signal and SIGTERM/SIGINT/SIGHUP for the calling (single)
    // thread. `what` names the watcher in an error.
    static Result<std::unique_ptr<WatchEvents>> create(const std::string &what);
    // The signal clients send; blocked from the watcher's first instruction on.
    static int wake_signal();
    virtual ~WatchEvents() = default;

    // False when the process is already gone.
    virtual bool watch_process(pid_t pid) = 0;
    virtual void unwatch_process(pid_t pid) = 0;
    virtual bool watching(pid_t pid) const = 0;
    // Fires once at `at_ms` of CLOCK_BOOTTIME (clock.hpp: a wall-clock jump
    // does not move it, a suspend counts toward it); < 0 disarms.
    virtual void arm_timer(int64_t at_ms) = 0;
    virtual Wakeup wait() = 0;
};

}  // namespace sharedserver
