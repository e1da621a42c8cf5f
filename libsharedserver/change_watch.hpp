// Change notifications without file names: a client names the servers it
// cares about (or none: every one) and waits on one pollable fd. The event
// log of each name is the change log (events are written after the state
// they describe, DESIGN §8), tailed with an inotify watch on those files
// only, so a client watching its own names is not woken by other names.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "error.hpp"
#include "state_dir.hpp"

namespace sharedserver {

struct Change {
    std::string name;
    int kind = SHAREDSERVER_CHANGE_OTHER;  // sharedserver_change_kind
    int state = SHAREDSERVER_STOPPED;      // the name's state when the change is read
    pid_t pid = 0;
    int64_t at_ms = 0;
    std::string json;  // the event as recorded
};

class ChangeWatch {
public:
    // names empty: every name in `dir`, present and future. since_ms < 0:
    // only changes after now; 0: every recorded one; else those at or after it.
    static Result<std::unique_ptr<ChangeWatch>> open(const std::string &dir, std::vector<std::string> names,
                                                     int64_t since_ms);
    ~ChangeWatch();
    ChangeWatch(const ChangeWatch &) = delete;
    ChangeWatch &operator=(const ChangeWatch &) = delete;

    // Readable while a change may be pending (poll/epoll it, then call next()).
    int fd() const { return epoll_fd_; }

    // The next change, waiting up to timeout_ms (0: not at all; < 0: until
    // one comes). nullopt when none came in time.
    Result<std::optional<Change>> next(int64_t timeout_ms);

private:
    struct Tail {
        std::string name;
        int wd = -1;
        ino_t inode = 0;
        off_t offset = 0;
        std::string partial;     // an unfinished last line
        std::string last_line;   // the newest line delivered, to resume after a trim
        int64_t last_at = 0;
    };

    ChangeWatch() = default;
    // new_name: it appeared after the watch opened, so all of its log is new.
    Status add_name(const std::string &name, bool create, bool new_name);
    void watch_file(Tail &tail);
    void discover_names(bool new_names);
    void read_tail(Tail &tail);
    void read_all();
    void drain_inotify();
    void signal_pending();

    std::string dir_;
    bool every_name_ = false;
    int64_t since_ms_ = 0;
    int inotify_fd_ = -1;
    int pending_fd_ = -1;  // an eventfd, set while `pending_` holds changes
    int epoll_fd_ = -1;
    std::map<std::string, Tail> tails_;
    std::deque<Change> pending_;
};

}  // namespace sharedserver
