// Linux event sources for the watcher.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../clock.hpp"
#include "../process.hpp"
#include "../watch_events.hpp"

namespace sharedserver {

namespace {

constexpr int fallback_poll_ms = 1000;

class LinuxWatchEvents final : public WatchEvents {
public:
    LinuxWatchEvents(int timer, bool timer_on_boot_clock, int signals)
        : timer_(timer), timer_on_boot_clock_(timer_on_boot_clock), signals_(signals) {}

    ~LinuxWatchEvents() override {
        for (auto &[pid, fd] : processes_)
            if (fd >= 0) ::close(fd);
        for (int fd : {timer_, signals_})
            if (fd >= 0) ::close(fd);
    }

    bool watch_process(pid_t pid) override {
        if (processes_.count(pid)) return true;
        int fd = open_process_handle(pid);
        if (fd < 0) {
            if (errno == ESRCH || !process_start_stamp(pid)) return false;
            polling_ = true;  // no pidfd on this kernel: check liveness on a timer
        }
        processes_[pid] = fd;
        return true;
    }

    void unwatch_process(pid_t pid) override {
        auto it = processes_.find(pid);
        if (it == processes_.end()) return;
        if (it->second >= 0) ::close(it->second);
        processes_.erase(it);
    }

    bool watching(pid_t pid) const override { return processes_.count(pid) != 0; }

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

    Wakeup wait() override {
        std::vector<pollfd> fds = {{signals_, POLLIN, 0}, {timer_, POLLIN, 0}};
        std::vector<pid_t> pids;
        for (auto &[pid, fd] : processes_) {
            if (fd < 0) continue;
            fds.push_back({fd, POLLIN, 0});
            pids.push_back(pid);
        }
        Wakeup wakeup;
        int rc = ::poll(fds.data(), fds.size(), polling_ ? fallback_poll_ms : -1);
        if (rc < 0) return wakeup;
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo info{};
            while (::read(signals_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
                if (static_cast<int>(info.ssi_signo) == wake_signal()) wakeup.files_changed = true;
                else wakeup.terminate = true;
            }
        }
        if (fds[1].revents & POLLIN) {
            uint64_t expirations = 0;
            if (::read(timer_, &expirations, sizeof expirations) > 0) wakeup.timer = true;
        }
        for (std::size_t i = 2; i < fds.size(); ++i)
            if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) wakeup.exited.push_back(pids[i - 2]);
        if (polling_) {
            for (auto &[pid, fd] : processes_)
                if (fd < 0 && !process_start_stamp(pid)) wakeup.exited.push_back(pid);
            wakeup.files_changed = true;
        }
        return wakeup;
    }

private:
    int timer_;
    bool timer_on_boot_clock_;
    int signals_;
    std::map<pid_t, int> processes_;
    bool polling_ = false;
};

}  // namespace

int WatchEvents::wake_signal() { return SIGUSR1; }

Result<std::unique_ptr<WatchEvents>> WatchEvents::create(const std::string &what) {
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {wake_signal(), SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, sig);
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
    return std::unique_ptr<WatchEvents>(new LinuxWatchEvents(timer, on_boot_clock, signals));
}

}  // namespace sharedserver
