// Linux event sources for the watcher.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../clock.hpp"
#include "../process.hpp"
#include "../watch_events.hpp"

namespace sharedserver {

namespace {

constexpr uint32_t record_events = IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW;
constexpr uint32_t dir_events = IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

struct FileIdentity {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const FileIdentity &) const = default;
};

FileIdentity identity_of(const std::string &path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return {};
    return {true, st.st_dev, st.st_ino};
}

class LinuxWatchEvents final : public WatchEvents {
public:
    LinuxWatchEvents(int timer, bool timer_on_boot_clock, int signals, int inotify, std::size_t process_handles)
        : timer_(timer), timer_on_boot_clock_(timer_on_boot_clock), signals_(signals), inotify_(inotify),
          handle_budget_(process_handles) {}

    ~LinuxWatchEvents() override {
        for (auto &[pid, watched] : processes_)
            if (watched.fd >= 0) ::close(watched.fd);
        for (int fd : {timer_, signals_, inotify_})
            if (fd >= 0) ::close(fd);
    }

    bool watch_process(const ProcessId &id) override {
        if (processes_.count(id.pid)) return true;
        int fd = -1;
        if (handles_ < handle_budget_) {
            fd = open_process_handle(id.pid);
            if (fd < 0 && errno == ESRCH) return false;
        }
        if (process_liveness(id) == Liveness::dead) {
            if (fd >= 0) ::close(fd);
            return false;
        }
        if (fd >= 0) ++handles_;
        processes_[id.pid] = {fd, id.start};
        return true;
    }

    void unwatch_process(pid_t pid) override {
        auto it = processes_.find(pid);
        if (it == processes_.end()) return;
        if (it->second.fd >= 0) {
            ::close(it->second.fd);
            --handles_;
        }
        processes_.erase(it);
    }

    void watch_record(const std::string &record, const std::string &dir) override {
        record_ = record;
        dir_ = dir;
        if (inotify_ < 0) {
            seen_record_ = identity_of(record);
            seen_dir_ = identity_of(dir);
            return;
        }
        if (dir_wd_ < 0) dir_wd_ = ::inotify_add_watch(inotify_, dir.c_str(), dir_events);
        int wd = ::inotify_add_watch(inotify_, record.c_str(), record_events);
        if (record_wd_ >= 0 && wd != record_wd_) ::inotify_rm_watch(inotify_, record_wd_);
        record_wd_ = wd;
        // ENOENT: no record (the caller reads that); anything else (out of
        // watches): look on the timer instead.
        record_polled_ = wd < 0 && errno != ENOENT;
        if (record_polled_) {
            seen_record_ = identity_of(record);
            seen_dir_ = identity_of(dir);
        }
    }

    void arm_timer(int64_t at_ms) override {
        itimerspec spec{};
        int flags = 0;
        if (at_ms >= 0) {
            int64_t when = at_ms;
            if (timer_on_boot_clock_) {
                flags = TFD_TIMER_ABSTIME;
            } else {
                when = std::max<int64_t>(0, at_ms - boot_now_ms());  // a kernel without boot-clock timers
            }
            if (when == 0) when = 1;  // an all-zero it_value would disarm
            spec.it_value.tv_sec = when / 1000;
            spec.it_value.tv_nsec = (when % 1000) * 1'000'000;
        }
        ::timerfd_settime(timer_, flags, &spec, nullptr);
    }

    void watch_descriptor(int fd, short events) override {
        extra_fd_ = fd;
        extra_events_ = events;
    }

    Wakeup wait() override {
        std::vector<pollfd> fds = {{signals_, POLLIN, 0}, {timer_, POLLIN, 0}, {inotify_, POLLIN, 0}, {extra_fd_, extra_events_, 0}};
        std::vector<pid_t> pids;
        for (auto &[pid, watched] : processes_) {
            if (watched.fd < 0) continue;
            fds.push_back({watched.fd, POLLIN, 0});
            pids.push_back(pid);
        }
        Wakeup wakeup;
        int rc = ::poll(fds.data(), fds.size(), check_timeout());
        if (rc < 0) return wakeup;
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo info{};
            while (::read(signals_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
                if (static_cast<int>(info.ssi_signo) == wake_signal()) wakeup.files_changed = true;
                else if (info.ssi_signo == SIGCHLD) wakeup.child_exited = true;
                else wakeup.terminate = true;
            }
        }
        if (fds[1].revents & POLLIN) {
            uint64_t expirations = 0;
            if (::read(timer_, &expirations, sizeof expirations) > 0) wakeup.timer = true;
        }
        if (inotify_ >= 0 && (fds[2].revents & POLLIN)) wakeup.record_changed = drain_inotify();
        if (extra_fd_ >= 0 && fds[3].revents != 0) wakeup.descriptor_ready = true;
        for (std::size_t i = 4; i < fds.size(); ++i)
            if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) wakeup.exited.push_back(pids[i - 4]);
        check_on_timer(wakeup);
        return wakeup;
    }

private:
    struct Watched {
        int fd;  // -1: checked on the timer
        uint64_t start;
    };

    bool polling_processes() const {
        return std::any_of(processes_.begin(), processes_.end(), [](const auto &p) { return p.second.fd < 0; });
    }
    bool polling_record() const { return !record_.empty() && (inotify_ < 0 || record_polled_); }

    // The poll() timeout: none at all unless something is checked on the timer.
    int check_timeout() {
        int64_t interval = polling_processes() ? process_check_interval_ms
                           : polling_record()  ? record_check_interval_ms
                                               : -1;
        if (interval < 0) {
            next_check_ = -1;
            return -1;
        }
        int64_t now = boot_now_ms();
        if (next_check_ < 0 || next_check_ > now + interval) next_check_ = now + interval;
        return static_cast<int>(std::max<int64_t>(0, next_check_ - now));
    }

    void check_on_timer(Wakeup &wakeup) {
        if (next_check_ < 0 || boot_now_ms() < next_check_) return;
        next_check_ = -1;
        for (auto &[pid, watched] : processes_)
            if (watched.fd < 0 && process_liveness({pid, watched.start}) == Liveness::dead)
                wakeup.exited.push_back(pid);
        if (polling_record() && (identity_of(record_) != seen_record_ || identity_of(dir_) != seen_dir_))
            wakeup.record_changed = true;
    }

    bool drain_inotify() {
        bool changed = false;
        alignas(inotify_event) char buf[4096];
        ssize_t n;
        while ((n = ::read(inotify_, buf, sizeof buf)) > 0) {
            for (char *p = buf; p < buf + n;) {
                auto *event = reinterpret_cast<inotify_event *>(p);
                // Events of a record file watched before the last re-arm
                // are old news: that read already saw what followed.
                bool current = event->wd == record_wd_ || event->wd == dir_wd_;
                if ((current && !(event->mask & IN_IGNORED)) || (event->mask & IN_Q_OVERFLOW)) changed = true;
                if (event->wd == dir_wd_ && (event->mask & IN_IGNORED)) dir_wd_ = -1;
                p += sizeof(inotify_event) + event->len;
            }
        }
        return changed;
    }

    int timer_;
    bool timer_on_boot_clock_;
    int signals_;
    int inotify_;
    std::size_t handle_budget_;
    std::size_t handles_ = 0;
    std::map<pid_t, Watched> processes_;
    std::string record_, dir_;
    int record_wd_ = -1, dir_wd_ = -1;
    bool record_polled_ = false;
    FileIdentity seen_record_, seen_dir_;
    int64_t next_check_ = -1;
    int extra_fd_ = -1;
    short extra_events_ = 0;
};

}  // namespace

int WatchEvents::wake_signal() { return SIGUSR1; }

Result<std::unique_ptr<WatchEvents>> WatchEvents::create(const std::string &what, std::size_t process_handles,
                                                         bool record_watch) {
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {wake_signal(), SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, sig);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    int signals = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    int timer = ::timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
    bool on_boot_clock = timer >= 0;
    if (timer < 0) timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (signals < 0 || timer < 0) {
        int err = errno;
        for (int fd : {signals, timer})
            if (fd >= 0) ::close(fd);
        return fail_errno(SHAREDSERVER_ERROR, "cannot watch", what, err);
    }
    // Past the user's inotify instances (EMFILE), the record is looked at
    // on the timer instead.
    int inotify = record_watch ? ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK) : -1;
    return std::unique_ptr<WatchEvents>(new LinuxWatchEvents(timer, on_boot_clock, signals, inotify, process_handles));
}

}  // namespace sharedserver
