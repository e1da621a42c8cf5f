// The run as a supervisor plus a runner: every process of the run carries an
// environment token; when the runner ends (normally, failing, or killed), the
// supervisor kills by pid every process still carrying it and removes the
// run's temp directory.
#pragma once

#include <functional>
#include <string>

namespace bench {

// Sets the token to `root`, forks the runner that calls `run`, and returns
// its exit code once everything of the run is gone (128 + signal when
// SIGINT/SIGTERM/SIGHUP ended the run).
int supervise(const std::string &root, const std::function<int()> &run);

}  // namespace bench
