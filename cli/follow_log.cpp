#include "follow_log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>
#include <utility>
#include <fcntl.h>
#include <iostream>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cli {

namespace {

// Without an inotify instance (or when an event is missed), look this often.
constexpr int recheck_ms = 1000;

std::string directory_of(const std::string &path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

// The last `lines` lines of the first `end` bytes of `fd`, each ending in a
// newline, and how many there are.
std::pair<std::string, std::size_t> last_lines(int fd, off_t end, std::size_t lines) {
    std::string tail;
    std::size_t newlines = 0;
    while (end > 0 && newlines <= lines) {
        off_t begin = end > 8192 ? end - 8192 : 0;
        std::string chunk(static_cast<std::size_t>(end - begin), '\0');
        ssize_t n = ::pread(fd, chunk.data(), chunk.size(), begin);
        if (n <= 0) break;
        chunk.resize(static_cast<std::size_t>(n));
        for (char c : chunk) newlines += c == '\n';
        tail = chunk + tail;
        end = begin;
    }
    if (!tail.empty() && tail.back() != '\n') tail += '\n';
    std::size_t pos = tail.size(), seen = 0;
    while (pos > 0 && seen <= lines) {
        if (tail[pos - 1] == '\n' && ++seen > lines) break;
        --pos;
    }
    return {tail.substr(pos), std::min(seen, lines)};
}

// The log as its pump writes it: appended to, renamed to <log>.1 at its cap
// and started anew, and created only with the server's first output. The
// file being read is finished before the next one is started, from its
// beginning: nothing written across a rotation is skipped.
class FollowedLog {
public:
    explicit FollowedLog(std::string path) : path_(std::move(path)) {
        notify_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        // The directory, for the log's creation and the rename that rotates it.
        if (notify_ >= 0) ::inotify_add_watch(notify_, directory_of(path_).c_str(), IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM);
    }
    ~FollowedLog() {
        if (fd_ >= 0) ::close(fd_);
        if (notify_ >= 0) ::close(notify_);
    }

    // Prints the last `lines` lines as of now (the start of them from
    // <log>.1 when the log holds fewer), and goes on from exactly there.
    bool open_with_tail(std::size_t lines) {
        if (!open_current() && errno != ENOENT) return false;
        std::string text;
        std::size_t got = 0;
        if (fd_ >= 0) {
            offset_ = ::lseek(fd_, 0, SEEK_END);
            std::tie(text, got) = last_lines(fd_, offset_, lines);
        }
        if (got < lines) {
            int older = ::open((path_ + ".1").c_str(), O_RDONLY | O_CLOEXEC);
            if (older >= 0) {
                text = last_lines(older, ::lseek(older, 0, SEEK_END), lines - got).first + text;
                ::close(older);
            }
        }
        if (lines > 0) std::cout << text << std::flush;
        return true;
    }

    void print_new_output() {
        while (true) {
            if (fd_ < 0 && !open_current()) return;
            copy_to_end();
            struct stat named {};
            bool exists = ::stat(path_.c_str(), &named) == 0;
            if (exists && named.st_dev == dev_ && named.st_ino == ino_) return;
            copy_to_end();  // renamed away: nothing more will be written to it
            ::close(fd_);
            fd_ = -1;
            if (!exists) return;
        }
    }

    void wait() {
        pollfd p{notify_, POLLIN, 0};
        if (notify_ < 0 || ::poll(&p, 1, recheck_ms) <= 0) {
            if (notify_ < 0) ::usleep(200'000);
            return;
        }
        char events[4096];
        while (::read(notify_, events, sizeof events) > 0) {
        }
    }

private:
    bool open_current() {
        fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) return false;
        struct stat st {};
        ::fstat(fd_, &st);
        dev_ = st.st_dev;
        ino_ = st.st_ino;
        offset_ = 0;
        if (notify_ >= 0) {
            if (file_watch_ >= 0) ::inotify_rm_watch(notify_, file_watch_);
            file_watch_ = ::inotify_add_watch(notify_, path_.c_str(), IN_MODIFY);
        }
        return true;
    }

    void copy_to_end() {
        struct stat st {};
        if (::fstat(fd_, &st) == 0 && st.st_size < offset_) offset_ = 0;  // truncated by someone
        char buf[65536];
        ssize_t n;
        while ((n = ::pread(fd_, buf, sizeof buf, offset_)) > 0) {
            std::cout.write(buf, n);
            offset_ += n;
        }
        std::cout.flush();
    }

    std::string path_;
    int notify_ = -1;
    int file_watch_ = -1;
    int fd_ = -1;
    dev_t dev_ = 0;
    ino_t ino_ = 0;
    off_t offset_ = 0;
};

}  // namespace

int follow_log(const std::string &path, std::size_t lines) {
    FollowedLog log(path);
    if (!log.open_with_tail(lines)) {
        std::cerr << "sharedserver: cannot follow " << path << ": " << std::strerror(errno) << "\n";
        return 1;
    }
    while (true) {
        log.print_new_output();
        log.wait();
    }
}

}  // namespace cli
