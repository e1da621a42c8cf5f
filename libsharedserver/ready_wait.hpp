// The client side of readiness: wait (without polling the watcher) until the
// record says the server is ready, or explain why it never will be.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <sys/types.h>

#include "error.hpp"
#include "state_dir.hpp"

namespace sharedserver {

using WaitProgress = std::function<void(int64_t elapsed_ms, const std::string &newest_log_line)>;

// Whose readiness a caller waits for.
struct WaitTarget {
    // The server the caller started or attached to; 0: whichever runs under
    // the name. A wait follows the name's record (a restart's new server is
    // waited for too), and a failure is found in the event log by the pid of
    // the last server it saw, not by the clock.
    pid_t server = 0;
    // Unix ms the caller's own attempt began: without a pid to go by, older
    // failures are history, not this wait's answer.
    int64_t since_ms = 0;
};

// A server that fails its probe, or dies before it is ready, gives the reason
// (exit code or signal, probe result) and the last lines of its log, always:
// when the record shows the server dead, the wait lets the watcher finish
// recording the exit before it reads the event log. A name that was simply
// not running is SHAREDSERVER_ENOTRUNNING. timeout_ms < 0: the probe's own
// timeout (the watcher enforces it).
Status wait_until_ready(const ServerFiles &files, int64_t timeout_ms, const WaitTarget &target,
                        const WaitProgress &progress = {});

// Why the server `target` names stopped, with its log's last lines; "" when
// no failure was recorded. `code` receives the error code to report.
std::string describe_failure(const ServerFiles &files, const WaitTarget &target, int *code);

}  // namespace sharedserver
