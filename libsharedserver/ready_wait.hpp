// The client side of readiness: wait (without polling the watcher) until the
// record says the server is ready, or explain why it never will be.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "error.hpp"
#include "state_dir.hpp"

namespace sharedserver {

using WaitProgress = std::function<void(int64_t elapsed_ms, const std::string &newest_log_line)>;

// `since_ms`: unix time the caller's own attempt began; a failure recorded
// after it is reported with its reason and the last lines of the log, a name
// that was simply not running is SHAREDSERVER_ENOTRUNNING. timeout_ms < 0:
// the probe's own timeout (the watcher enforces it).
Status wait_until_ready(const ServerFiles &files, int64_t timeout_ms, int64_t since_ms,
                        const WaitProgress &progress = {});

// Why the server under `files` stopped since `since_ms`, with its log's
// last lines; "" when no failure was recorded.
std::string describe_failure(const ServerFiles &files, int64_t since_ms, int *code);

}  // namespace sharedserver
