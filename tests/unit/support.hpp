// Helpers shared by the unit tests: private temp directories, child
// processes the test controls, and polling with a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace testing {

// A fresh mode-0700 directory under $TMPDIR (or /tmp), removed with
// everything in it when the object goes out of scope.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;

    const std::string &path() const { return path_; }
    std::string operator/(const std::string &child) const { return path_ + "/" + child; }

private:
    std::string path_;
};

// A forked child that does nothing until released: it exits with status
// `code` when release() closes its pipe. Killed and reaped on destruction.
class Child {
public:
    Child();
    ~Child();
    Child(const Child &) = delete;
    Child &operator=(const Child &) = delete;

    pid_t pid() const { return pid_; }
    // Lets the child exit; does not reap it.
    void release();
    // SIGKILL, without reaping (so it stays a zombie until reap()).
    void kill();
    // waitpid; returns the raw status.
    int reap();

private:
    pid_t pid_ = -1;
    int pipe_write_ = -1;
    bool reaped_ = false;
};

void write_text(const std::string &path, const std::string &content);
std::string read_text(const std::string &path);
// Entries of a directory, sorted, without "." and "..".
std::vector<std::string> list_dir(const std::string &path);
// mode bits of a path (lstat), & 07777.
unsigned mode_of(const std::string &path);

// Polls `done` every millisecond until it holds or `timeout_ms` passes; true
// when it held.
bool wait_until(const std::function<bool()> &done, int64_t timeout_ms);

// The one-letter state of /proc/<pid>/stat ('R', 'S', 'Z'...), or '\0' when
// the process does not exist.
char proc_state(pid_t pid);

// SIGKILL a process group / process if it still exists (teardown).
void kill_group_if_alive(pid_t pgid);
void kill_if_alive(pid_t pid);

// Sanitized builds (tests/sanitize.sh) run several times slower: latency
// bounds are multiplied by this there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int64_t time_scale = 5;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr int64_t time_scale = 5;
#else
constexpr int64_t time_scale = 1;
#endif
#else
constexpr int64_t time_scale = 1;
#endif

inline int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace testing
