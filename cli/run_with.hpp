// `sharedserver with <name>... -- <command>`: hold servers for exactly as long
// as one command runs (a Makefile or CI step: `sharedserver with postgres
// redis -- pytest`).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <sharedserver/sharedserver.hpp>

namespace cli {

// Attaches this process to every server (starting those the project
// defines), runs `command` with SHAREDSERVER_<NAME>_PID and _PORT in its
// environment, attached as a client too (so the servers outlive a `with`
// killed while its command runs), forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT to
// it, releases every reference when it ends, and returns its exit code
// (128+N for signal N).
int run_with(sharedserver::Context &ctx, const std::optional<sharedserver::Project> &project,
             const std::vector<std::string> &names, const std::vector<std::string> &command);

// "my-db.1" -> "MY_DB_1"
std::string env_name(const std::string &server);

}  // namespace cli
