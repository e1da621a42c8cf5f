// What the watcher sleeps on: process exits, a wake-up signal from clients
// that changed its records, its own record file vanishing or being replaced
// from outside, one timer, and termination signals. Linux uses pidfd +
// signalfd + timerfd + one inotify instance under one poll() with no
// timeout, so an idle watcher makes no system calls.
//
// Records changes arrive as SIGUSR1 rather than through an inotify watch on
// the state directory's entries: such a watch wakes every watcher on every
// write of any name (N watchers, N wake-ups per transaction). The one watch
// on the record is on its file (inode), re-armed after each read, and the
// one on the directory is for the directory itself (removed or moved), so a
// write to another name wakes nobody.
//
// Resources are budgeted (watcher.cpp): past its budget of process handles,
// or when none can be opened (EMFILE), a process is checked on a timer; with
// no inotify instance left (the user's limit, 128 by default), so is the
// record. Only then does the watcher wake periodically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "error.hpp"
#include "process.hpp"

namespace sharedserver {

class WatchEvents {
public:
    struct Wakeup {
        std::vector<pid_t> exited;    // watched processes that ended
        bool files_changed = false;   // a client changed the records (SIGUSR1)
        bool record_changed = false;  // the record file or the state dir was removed, moved or rewritten
        bool timer = false;
        bool terminate = false;       // SIGTERM, SIGINT or SIGHUP
        bool child_exited = false;    // SIGCHLD: a child (maybe an adopted orphan) is waiting to be reaped
        bool descriptor_ready = false;  // the descriptor of watch_descriptor()
    };

    // How often a process without a handle is checked, and a record
    // without an inotify watch.
    static constexpr int64_t process_check_interval_ms = 250;
    static constexpr int64_t record_check_interval_ms = 2000;

    // Blocks wake_signal, SIGCHLD and SIGTERM/SIGINT/SIGHUP for the calling
    // (single) thread. `what` names the watcher in an error. At most
    // `process_handles` pidfds are held; `record_watch`: whether to spend an
    // inotify instance.
    static Result<std::unique_ptr<WatchEvents>> create(const std::string &what, std::size_t process_handles,
                                                       bool record_watch);
    // The signal clients send; blocked from the watcher's first instruction on.
    static int wake_signal();
    virtual ~WatchEvents() = default;

    // False when that process (pid and start stamp) is gone: its identity is
    // checked after its handle is open, so a recycled pid is never watched.
    // "Could not look" (EMFILE) is not "gone": such a process is checked
    // again on the timer.
    virtual bool watch_process(const ProcessId &id) = 0;
    virtual void unwatch_process(pid_t pid) = 0;
    // Wake when the file `record` names now is removed, renamed or written,
    // or when `dir` is removed or renamed. Called before each read of the
    // record, so a change after the read is never missed.
    virtual void watch_record(const std::string &record, const std::string &dir) = 0;
    // Fires once at `at_ms` of CLOCK_BOOTTIME (clock.hpp: a wall-clock jump
    // does not move it, a suspend counts toward it); < 0 disarms.
    virtual void arm_timer(int64_t at_ms) = 0;
    // Also wake when `fd` (not ours: the caller closes it) is ready for
    // `events` (a liveness attempt's socket); -1: no such descriptor.
    virtual void watch_descriptor(int fd, short events) = 0;
    virtual Wakeup wait() = 0;
};

}  // namespace sharedserver
