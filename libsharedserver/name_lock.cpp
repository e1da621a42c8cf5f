#include "name_lock.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sharedserver {

Result<NameLock> NameLock::acquire(const std::string &lock_path) { return lock_file(lock_path, O_CREAT); }

Result<NameLock> NameLock::acquire_existing(const std::string &lock_path) { return lock_file(lock_path, 0); }

Result<NameLock> NameLock::lock_file(const std::string &lock_path, int create) {
    while (true) {
        int fd = ::open(lock_path.c_str(), O_RDWR | create | O_CLOEXEC | O_NOFOLLOW, 0600);
        // A state dir remounted read-only: flock() needs no write access,
        // and a watcher must still be able to stop its server at the end of
        // its grace period (no transaction can write anything meanwhile).
        if (fd < 0 && errno == EROFS) fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) return fail_errno(SHAREDSERVER_ERROR, "cannot open lock file", lock_path, errno);
        int rc;
        do rc = ::flock(fd, LOCK_EX);
        while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            int err = errno;
            ::close(fd);
            return fail_errno(SHAREDSERVER_ERROR, "cannot lock", lock_path, err);
        }
        // The previous holder may have removed the file while we waited: then
        // we hold a lock on an inode nobody else will ever lock. Start again.
        struct stat held {}, named {};
        if (::fstat(fd, &held) == 0 && ::lstat(lock_path.c_str(), &named) == 0 &&
            held.st_ino == named.st_ino && held.st_dev == named.st_dev)
            return NameLock(fd, lock_path);
        ::close(fd);
    }
}

bool NameLock::wait_for_holder(const std::string &lock_path) {
    int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return errno == ENOENT;  // no lock file: its last holder removed it when done
    while (::flock(fd, LOCK_SH) != 0 && errno == EINTR) {
    }
    ::close(fd);
    return true;
}

bool NameLock::wait_for_holder(const std::string &lock_path, int64_t timeout_ms) {
    int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return true;
    // flock has no timeout: try without blocking, a few times a millisecond
    // at first, then every 10 ms.
    bool free = false;
    for (int64_t waited_us = 0, step_us = 200;; waited_us += step_us, step_us = std::min<int64_t>(step_us * 2, 10'000)) {
        if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
            free = true;
            break;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) break;
        if (waited_us >= timeout_ms * 1000) break;
        ::usleep(static_cast<useconds_t>(step_us));
    }
    ::close(fd);
    return free;
}

NameLock::NameLock(NameLock &&other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
    other.fd_ = -1;
}

NameLock &NameLock::operator=(NameLock &&other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.fd_;
        path_ = std::move(other.path_);
        other.fd_ = -1;
    }
    return *this;
}

NameLock::~NameLock() {
    if (fd_ >= 0) ::close(fd_);
}

void NameLock::remove_file() {
    if (fd_ >= 0) ::unlink(path_.c_str());
}

}  // namespace sharedserver
