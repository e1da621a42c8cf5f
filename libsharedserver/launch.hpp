// Inside the watcher (single-threaded, so fork is safe): fork the server into
// its own process group, stdin from /dev/null, stdout/stderr to the log, no
// other descriptor, and report exactly why exec failed when it does.
#pragma once

#include <string>

#include "error.hpp"
#include "process.hpp"
#include "records.hpp"

namespace sharedserver {

// Errors name the path and the reason ("/x: No such file or directory"); the
// caller adds which server it was.
Result<ProcessId> launch_server(const ServerSpec &spec);

}  // namespace sharedserver
