// What a client's call does around a transaction: who the client is (its pid
// proven by its start time), and the wait for readiness after a use or a
// start. Every client (the C ABI, and through it the CLI, Lua and Python)
// gets the same orchestration.
#pragma once

#include <cstdint>
#include <string>

#include "definition.hpp"
#include "error.hpp"
#include "lifecycle.hpp"
#include "process.hpp"

namespace sharedserver {

struct ClientOptions {
    int64_t client_pid = 0;  // 0: this process
    std::string metadata;
    bool no_wait = false;
    int64_t wait_timeout_ms = -1;  // < 0: the probe's own timeout
};

// The pid as a process id: 0 is this process. SHAREDSERVER_EINVALID when it
// is not a pid.
Result<pid_t> client_pid_of(int64_t pid);

// The live process `pid` names, with its start time.
Result<ProcessId> identify_client(int64_t pid);

// Attaches the client to `name`, starting `def` when nothing runs (def NULL:
// attach only), then waits for readiness unless told not to: every caller
// of a starting server waits for the same probe.
Result<UseOutcome> use_server(Lifecycle &lifecycle, const std::string &name, const Definition *def,
                              const ClientOptions &client);

// Starts `def` with no client attached, then waits for readiness unless told not to.
Result<ServerRecord> start_server(Lifecycle &lifecycle, const std::string &name, const Definition &def,
                                  const ClientOptions &client);

}  // namespace sharedserver
