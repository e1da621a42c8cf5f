// Stopping a server: TERM every proven member (ownership.hpp), wait, KILL
// when allowed. Used by every stop path (admin stop, restart, grace expiry,
// the leader's own exit, watcher shutdown, stale records) so they all
// escalate the same way and never signal a process that is not ours.
#pragma once

#include <cstdint>
#include <sys/types.h>

#include "ownership.hpp"
#include "process.hpp"

namespace sharedserver {

// Waits until `id` is gone (dead or a zombie). True when it is gone in time.
bool wait_for_exit(const ProcessId &id, int64_t timeout_ms);

// unknown: the process table could not be read (no descriptor left), so
// nothing can be said to be gone.
enum class Termination { gone, still_running, not_ours, unknown };

struct Stopped {
    Termination outcome = Termination::gone;
    // Members other than the leader that outlived it and were stopped after
    // it (a daemonized child, a worker that ignored the group's TERM).
    std::size_t leftovers = 0;
    // Live members that could not be signalled (another user's, or no
    // descriptor left to hold them by): still running.
    std::size_t unreachable = 0;
};

// TERM to every member; wait up to `timeout_ms` for the leader; with `force`,
// KILL what is left. Whatever outlives the leader is stopped too, force or
// not (TERM, then KILL once `timeout_ms` has passed): nothing may outlive a
// stopped server. A live leader that is not the caller's: not_ours, and
// nothing is signalled.
Stopped terminate_server(const ServerIdentity &server, int64_t timeout_ms, bool force);

// SIGKILL to every member at once, until none is left (or 2 s pass).
Stopped kill_server(Members &members);

}  // namespace sharedserver
