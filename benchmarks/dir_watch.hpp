// Waiting for a file of a state directory to change, through inotify: how the
// benchmark sees the moment a watcher records something (e.g. a client's death).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace bench {

class DirWatch {
public:
    // `mask`: the inotify events to watch for (IN_DELETE, IN_CLOSE_WRITE, ...).
    DirWatch(const std::string &dir, uint32_t mask);
    ~DirWatch();
    DirWatch(const DirWatch &) = delete;
    DirWatch &operator=(const DirWatch &) = delete;

    // Forgets the events so far.
    void drain();

    // Waits until an event names `file` and `done()` holds right after it;
    // false if that did not happen within `timeout_ms`.
    bool wait_for(const std::string &file, const std::function<bool()> &done, double timeout_ms);

private:
    int fd_ = -1;
};

}  // namespace bench
