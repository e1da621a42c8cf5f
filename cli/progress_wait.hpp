// Waiting for a starting server to be ready, with a spinner on a terminal.
#pragma once

#include <cstdint>
#include <string>

#include <sharedserver/sharedserver.hpp>

namespace cli {

// Context::wait, drawing progress on stderr when it is a terminal.
// timeout_ms < 0: the server's own readiness timeout.
void wait_with_progress(sharedserver::Context &ctx, const std::string &name, int64_t timeout_ms);

}  // namespace cli
