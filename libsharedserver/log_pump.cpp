#include "log_pump.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

extern char **environ;

namespace sharedserver {

namespace {

// A bigger pipe than the default 64 KiB: fewer wake-ups of the pump per MB
// of a chatty server's output. Refused past the user's pipe allowance; the
// default then stays.
constexpr int pipe_capacity = 1 << 20;
constexpr std::size_t read_size = 128 * 1024;

}  // namespace

LogWriter::~LogWriter() {
    if (fd_ >= 0) ::close(fd_);
}

bool LogWriter::open_log() {
    if (fd_ >= 0) return true;
    int flags = O_WRONLY | O_APPEND | O_CLOEXEC | (options_.no_follow ? O_NOFOLLOW : 0);
    fd_ = ::open(options_.log_file.c_str(), flags);
    created_ = fd_ < 0 && errno == ENOENT;
    if (created_) fd_ = ::open(options_.log_file.c_str(), flags | O_CREAT | O_EXCL, 0600);
    if (fd_ < 0) return false;
    struct stat st {};
    rotatable_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
    size_ = rotatable_ ? st.st_size : 0;
    at_line_start_ = true;  // an older log ends where it ends; our lines start afresh
    return true;
}

// log -> log.1 (replacing the older one); the next write starts a new log.
// Nobody writes to the renamed file again, which is what lets a reader
// (the log probe, `logs -f`) finish it before it moves on.
void LogWriter::rotate() {
    const std::string kept = options_.log_file + ".1";
    if (::rename(options_.log_file.c_str(), kept.c_str()) != 0 && errno != ENOENT) {
        // Cannot rotate (the directory turned read-only, say): the cap still
        // holds, at the price of what the log held.
        int err = errno;
        if (::ftruncate(fd_, 0) == 0) drop(static_cast<std::size_t>(size_), err);
    }
    ::close(fd_);
    fd_ = -1;
    size_ = 0;
    created_ = false;
}

bool LogWriter::put(std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd_, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            drop(data.size(), n < 0 ? errno : ENOSPC);
            forget_if_empty();
            return false;
        }
        size_ += n;
        at_line_start_ = data[static_cast<std::size_t>(n) - 1] == '\n';
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// A log we created and could not write a byte to (a full disk) is not left
// behind empty: the next output makes it again.
void LogWriter::forget_if_empty() {
    if (!created_ || size_ != 0) return;
    ::unlink(options_.log_file.c_str());
    ::close(fd_);
    fd_ = -1;
}

void LogWriter::drop(std::size_t bytes, int err) {
    dropped_ += bytes;
    drop_errno_ = err;
}

bool LogWriter::write_drop_notice() {
    char notice[160];
    int n = std::snprintf(notice, sizeof notice, "%s[sharedserver: %llu bytes of output dropped: %s]\n",
                          at_line_start_ ? "" : "\n", static_cast<unsigned long long>(dropped_),
                          std::strerror(drop_errno_));
    uint64_t dropped = dropped_;
    dropped_ = 0;
    if (put(std::string_view(notice, static_cast<std::size_t>(n)))) return true;
    dropped_ = dropped;  // put() counted the notice's own bytes: they were never output
    return false;
}

void LogWriter::write(std::string_view data) {
    while (!data.empty()) {
        if (!open_log()) {
            drop(data.size(), errno);
            return;
        }
        if (dropped_ > 0 && !write_drop_notice()) {
            drop(data.size(), drop_errno_);
            return;
        }
        std::size_t take = data.size();
        if (rotatable_ && options_.max_size > 0) {
            const int64_t room = options_.max_size - size_;
            if (room <= 0 || static_cast<int64_t>(data.size()) > room) {
                std::size_t fits = room > 0 ? static_cast<std::size_t>(room) : 0;
                std::size_t newline = fits > 0 ? data.rfind('\n', fits - 1) : std::string_view::npos;
                if (newline != std::string_view::npos) {
                    take = newline + 1;  // whole lines up to the cap, the rest in the next log
                } else if (size_ == 0) {
                    take = fits;  // one line longer than the cap: split it
                } else {
                    rotate();  // the line starts the next log
                    continue;
                }
            }
        }
        if (!put(data.substr(0, take))) {
            drop(data.size() - take, drop_errno_);
            return;
        }
        data.remove_prefix(take);
        if (!data.empty()) rotate();
    }
}

Status check_log_file(const LogPumpOptions &options) {
    const std::string &path = options.log_file;
    int no_follow = options.no_follow ? O_NOFOLLOW : 0;
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK | no_follow);
    if (fd >= 0) {
        ::close(fd);
        return {};
    }
    if (errno != ENOENT) return fail_errno(SHAREDSERVER_ESPAWN, "log file", path, errno);
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0)
        return fail_errno(SHAREDSERVER_ESPAWN, "log file", path, errno);
    return {};
}

int run_log_pump(const LogPumpOptions &options) {
    // Nothing stops the pump but the end of its input: it must outlive the
    // server's last words. A user who kills it gives the server EPIPE.
    for (int sig : {SIGHUP, SIGINT, SIGPIPE}) ::signal(sig, SIG_IGN);
    LogWriter writer(options);
    std::vector<char> buf(read_size);
    while (true) {
        ssize_t n = ::read(0, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        writer.write(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    }
}

Result<StartedLogPump> start_log_pump(const LogPumpOptions &options) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno(SHAREDSERVER_ESPAWN, "cannot create the log pipe", "", errno);
    (void)::fcntl(fds[1], F_SETPIPE_SZ, pipe_capacity);
    std::string max_size = std::to_string(options.max_size);
    std::vector<std::string> args = {"sharedserver-watcher", log_pump_mode, "--log", options.log_file,
                                     "--max-size", max_size};
    if (options.no_follow) args.push_back("--no-follow");
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);  // nor does it block the watchers' wake-up signal
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    // /proc/self/exe: the executable we run, even if it was replaced on disk
    // since (an upgrade while servers run).
    int rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(fds[0]);
    if (rc != 0) {
        ::close(fds[1]);
        Error error = fail_errno(SHAREDSERVER_ESPAWN, "cannot start the log pump", "", rc).error();
        if (rc == EAGAIN) error.message += " (too many processes for this user? see `ulimit -u`)";
        return std::unexpected(error);
    }
    return StartedLogPump{fds[1], pid};
}

}  // namespace sharedserver
