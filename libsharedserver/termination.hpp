// Stopping a server: TERM its process group, wait, KILL when allowed. Used by
// every stop path (admin stop, restart, grace expiry, watcher shutdown) so
// they all escalate the same way and never signal a process that is not ours.
#pragma once

#include <cstdint>
#include <sys/types.h>

#include "process.hpp"

namespace sharedserver {

// Waits until `id` is gone (dead or a zombie). True when it is gone in time.
bool wait_for_exit(const ProcessId &id, int64_t timeout_ms);

enum class Termination { gone, still_running, not_ours };

// TERM to the group (or the pid when it leads no group), wait `timeout_ms`;
// with `force`, KILL what is left. Stragglers of the group are killed once
// the leader is gone: nothing may outlive a stopped server.
Termination terminate_server(const ProcessId &leader, pid_t pgid, int64_t timeout_ms, bool force);

}  // namespace sharedserver

namespace sharedserver {

// After the group leader was reaped, TERM then KILL what is left of its
// group. Safe because a pgid is never reused while its group has members.
void reap_group_stragglers(pid_t pgid);

}  // namespace sharedserver
