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

    // Returns once no transaction holds the lock (it may not exist at all).
    // Creates nothing: a reader uses it to see a transaction finished.
    static void wait_for_holder(const std::string &lock_path);
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
    NameLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    int fd_ = -1;
    std::string path_;
};

}  // namespace sharedserver
