// The per-name write lock: flock(LOCK_EX) on <name>.lock. Every write
// transaction holds it from its first read to its last write.
#pragma once

#include <cstdint>
#include <string>

#include "error.hpp"

namespace sharedserver {

class NameLock {
public:
    // Blocks until the lock is ours. Retries when the lock file was removed
    // (by the holder, at the end of a server's life) while we waited.
    static Result<NameLock> acquire(const std::string &lock_path);
    // The same, but never creating the lock file: ENOENT when there is none
    // (no transaction can be running then). For a watcher whose state dir
    // may be in the middle of an `rm -rf`, which a new file would break.
    static Result<NameLock> acquire_existing(const std::string &lock_path);

    // Returns once no transaction holds the lock (it may not exist at all).
    // Creates nothing: a reader uses it to see a transaction finished.
    // False when it could not look (no descriptor left, say).
    static bool wait_for_holder(const std::string &lock_path);
    // The same, giving up after `timeout_ms`: false when the lock is still
    // held then. For a waiter that must not block past its own deadline.
    static bool wait_for_holder(const std::string &lock_path, int64_t timeout_ms);

    NameLock(NameLock &&other) noexcept;
    NameLock &operator=(NameLock &&other) noexcept;
    NameLock(const NameLock &) = delete;
    NameLock &operator=(const NameLock &) = delete;
    ~NameLock();

    // Removes the lock file; only the holder may, and only when the name has
    // no records left. The lock stays held until destruction.
    void remove_file();

private:
    static Result<NameLock> lock_file(const std::string &lock_path, int create);
    NameLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    int fd_ = -1;
    std::string path_;
};

}  // namespace sharedserver
