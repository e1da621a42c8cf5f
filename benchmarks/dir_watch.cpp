#include "dir_watch.hpp"

#include "failure.hpp"
#include "timing.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace bench {

DirWatch::DirWatch(const std::string &dir, uint32_t mask) : fd_(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) {
    if (fd_ < 0 || ::inotify_add_watch(fd_, dir.c_str(), mask) < 0) {
        if (fd_ >= 0) ::close(fd_);
        throw Failure("inotify on " + dir);
    }
}

DirWatch::~DirWatch() { ::close(fd_); }

void DirWatch::drain() {
    char buf[4096];
    while (::read(fd_, buf, sizeof buf) > 0) {
    }
}

bool DirWatch::wait_for(const std::string &file, const std::function<bool()> &done, double timeout_ms) {
    auto t0 = Clock::now();
    while (true) {
        double left = timeout_ms - since_us(t0) / 1000.0;
        if (left <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left) + 1) <= 0) continue;
        alignas(inotify_event) char buf[4096];
        ssize_t n = ::read(fd_, buf, sizeof buf);
        bool named = false;
        for (char *q = buf; n > 0 && q < buf + n;) {
            auto *ev = reinterpret_cast<inotify_event *>(q);
            if (ev->len && file == ev->name) named = true;
            q += sizeof(inotify_event) + ev->len;
        }
        if (named && done()) return true;
    }
}

}  // namespace bench
