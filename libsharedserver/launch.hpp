// Inside the watcher (single-threaded, so fork is safe): fork the server into
// its own process group, stdin from /dev/null, stdout/stderr to the log pump's
// pipe (log_pump.hpp), no other descriptor, and report exactly why exec
// failed when it does.
#pragma once

#include <string>
#include <vector>

#include "error.hpp"
#include "process.hpp"
#include "records.hpp"

namespace sharedserver {

// Errors name the path and the reason ("/x: No such file or directory"); the
// caller adds which server it was. `output`: what stdout and stderr become.
// `identity`: the variables that tell the server who it is
// (identity_environment()); they win over the spec's env.
Result<ProcessId> launch_server(const ServerSpec &spec, int output, const std::vector<std::string> &identity);

// The watcher raises its own soft descriptor limit to its hard one (it may
// watch many clients); what it starts (the server, a readiness command)
// gets the limits the client had. Call once, before raising it.
void keep_limits_for_children();
// In a forked child, before exec (async-signal-safe).
void restore_limits_in_child();

// Forks `sh -c line` for a readiness or liveness command: its own process
// group (so a timeout kills all of it), stdin from /dev/null, the server's
// environment, working dir and limits, no signal blocked. The child's pid,
// or -1 with errno set.
pid_t spawn_probe_command(const std::string &line, const std::vector<std::string> &env, const std::string &working_dir);

// The inherited environment with `additions` ("KEY=VALUE") applied: what the
// server, and its readiness command, run with.
std::vector<std::string> server_environment(const std::vector<std::string> &additions);

}  // namespace sharedserver
