#include "termination.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <poll.h>
#include <set>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.hpp"

namespace sharedserver {

namespace {

constexpr int64_t kill_timeout_ms = 2000;
constexpr int64_t recheck_ms = 10;  // how often the process table is read again while waiting

bool descriptors_to_spare() {
    rlimit limit{};
    return ::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= 64;
}

// Sleeps up to `ms`, waking early when `fd` (a pidfd of the leader) says it exited.
void pause(int fd, int64_t ms) {
    ms = std::clamp<int64_t>(ms, 0, recheck_ms);
    if (fd >= 0) {
        pollfd p{fd, POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(ms));
    } else {
        ::usleep(static_cast<useconds_t>(ms) * 1000);
    }
}

// Sends `sig` to the members that have not had it and reads them again,
// until none is left or the deadline passes (the caller has just read
// them). `outlived` collects what it saw.
void signal_until_gone(Members &members, int sig, int64_t deadline, std::set<ProcessId> &outlived) {
    for (bool fresh = true;; fresh = false) {
        if (!fresh) members.refresh();
        outlived.insert(members.alive().begin(), members.alive().end());
        members.signal_newcomers(sig);
        if (members.alive().empty()) return;
        int64_t left = deadline - monotonic_now_ms();
        if (left <= 0) return;
        pause(-1, left);
    }
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

Stopped terminate_server(const ServerIdentity &server, int64_t timeout_ms, bool force) {
    Stopped result;
    Members members(server);
    members.refresh();
    if (members.blind()) {
        result.outcome = Termination::unknown;
        return result;
    }
    if (members.leader_alive() && !process_owned_by_me(server.leader.pid)) {
        result.outcome = Termination::not_ours;
        return result;
    }
    int64_t deadline = monotonic_now_ms() + std::max<int64_t>(0, timeout_ms);
    if (members.leader_alive()) {
        // A pidfd wakes the wait the moment the leader exits, instead of at
        // the next re-read of the table (10 ms). Under a tiny descriptor
        // limit (a watcher started from `ulimit -n 8` holds its lock and
        // has two to spare) it would leave none to read the table or prove
        // a member with: then the re-reads alone tell.
        int leader_fd = descriptors_to_spare() ? open_process_handle(server.leader.pid) : -1;
        members.signal(SIGTERM);
        while (members.leader_alive() && monotonic_now_ms() < deadline) {
            pause(leader_fd, deadline - monotonic_now_ms());
            members.refresh();
            members.signal_newcomers(SIGTERM);
        }
        if (members.leader_alive() && force) {
            members.signal(SIGKILL);
            int64_t kill_deadline = monotonic_now_ms() + kill_timeout_ms;
            while (members.leader_alive() && monotonic_now_ms() < kill_deadline) {
                pause(leader_fd, kill_deadline - monotonic_now_ms());
                members.refresh();
                members.signal_newcomers(SIGKILL);
            }
        }
        if (leader_fd >= 0) ::close(leader_fd);
        if (members.leader_alive() || members.blind()) {
            result.outcome = members.blind() ? Termination::unknown : Termination::still_running;
            return result;
        }
    }
    // What outlived the leader: it may have had TERM with the leader, and
    // ignored it; then it gets KILL when the timeout passes.
    std::set<ProcessId> before(members.signalled());
    std::set<ProcessId> outlived;
    signal_until_gone(members, SIGTERM, deadline, outlived);
    std::set<ProcessId> killed_after;
    if (!members.alive().empty()) {
        members.signal(SIGKILL);
        killed_after = members.alive();
        members.refresh();
        signal_until_gone(members, SIGKILL, monotonic_now_ms() + kill_timeout_ms, killed_after);
    }
    std::set<ProcessId> leftovers = killed_after;
    for (const ProcessId &id : outlived)
        if (!before.count(id)) leftovers.insert(id);
    leftovers.erase(server.leader);
    result.leftovers = leftovers.size();
    result.unreachable = members.alive().size() + members.unreachable().size();
    if (members.blind()) result.outcome = Termination::unknown;
    return result;
}

Stopped kill_server(Members &members) {
    Stopped result;
    members.refresh();
    std::set<ProcessId> seen(members.alive());
    signal_until_gone(members, SIGKILL, monotonic_now_ms() + kill_timeout_ms, seen);
    result.unreachable = members.alive().size() + members.unreachable().size();
    if (!members.alive().empty()) result.outcome = Termination::still_running;
    if (members.blind()) result.outcome = Termination::unknown;
    return result;
}

}  // namespace sharedserver
