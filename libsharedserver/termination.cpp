#include "termination.hpp"

#include <cerrno>
#include <csignal>
#include <poll.h>
#include <unistd.h>

#include "clock.hpp"

namespace sharedserver {

namespace {

constexpr int64_t straggler_timeout_ms = 1000;
constexpr int64_t kill_timeout_ms = 2000;

void signal_group(const ProcessId &leader, pid_t pgid, int sig) {
    if (pgid > 1 && process_owned_by_me(leader.pid) && ::kill(-pgid, sig) == 0) return;
    if (process_alive(leader) && process_owned_by_me(leader.pid)) ::kill(leader.pid, sig);
}

bool wait_for_group(pid_t pgid, int64_t timeout_ms) {
    int64_t deadline = monotonic_now_ms() + timeout_ms;
    while (process_group_alive(pgid)) {
        if (monotonic_now_ms() >= deadline) return false;
        ::usleep(5000);
    }
    return true;
}

}  // namespace

bool wait_for_exit(const ProcessId &id, int64_t timeout_ms) {
    int fd = open_process_handle(id.pid);
    if (fd >= 0 && !process_alive(id)) {  // opened after the pid was recycled or reaped
        ::close(fd);
        return true;
    }
    int64_t deadline = monotonic_now_ms() + timeout_ms;
    bool gone = false;
    while (!(gone = !process_alive(id))) {
        int64_t left = deadline - monotonic_now_ms();
        if (left <= 0) break;
        if (fd >= 0) {
            pollfd p{fd, POLLIN, 0};
            int rc = ::poll(&p, 1, static_cast<int>(left));
            if (rc < 0 && errno != EINTR) break;
        } else {
            ::usleep(left > 5 ? 5000 : static_cast<useconds_t>(left) * 1000);
        }
    }
    if (fd >= 0) ::close(fd);
    return gone;
}

Termination terminate_server(const ProcessId &leader, pid_t pgid, int64_t timeout_ms, bool force) {
    if (!process_alive(leader)) {
        // The leader died before we came (killed, or exited on its own), and
        // maybe not its group: nothing may outlive a stopped server. While a
        // member lives, the group's id is not handed out again; a live
        // process with the leader's pid means it was, and it is left alone.
        if (pgid > 1 && !process_start_stamp(pgid)) reap_group_stragglers(pgid);
        return Termination::gone;
    }
    if (!process_owned_by_me(leader.pid)) return Termination::not_ours;
    signal_group(leader, pgid, SIGTERM);
    if (!wait_for_exit(leader, timeout_ms)) {
        if (!force) return Termination::still_running;
        signal_group(leader, pgid, SIGKILL);
        if (!wait_for_exit(leader, kill_timeout_ms)) return Termination::still_running;
    }
    if (pgid > 1 && !wait_for_group(pgid, straggler_timeout_ms)) {
        ::kill(-pgid, SIGKILL);
        wait_for_group(pgid, kill_timeout_ms);
    }
    return Termination::gone;
}

}  // namespace sharedserver

namespace sharedserver {

void reap_group_stragglers(pid_t pgid) {
    if (pgid <= 1 || !process_group_alive(pgid)) return;
    ::kill(-pgid, SIGTERM);
    if (!wait_for_group(pgid, straggler_timeout_ms)) {
        ::kill(-pgid, SIGKILL);
        wait_for_group(pgid, kill_timeout_ms);
    }
}

}  // namespace sharedserver
