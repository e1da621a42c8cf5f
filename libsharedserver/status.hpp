// Lock-free reads of a server's state: `info`, `list`, `check`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "error.hpp"
#include "records.hpp"

namespace sharedserver {

struct ClientInfo {
    pid_t pid = 0;
    int64_t attached_at_ms = 0;
    std::string metadata;
};

struct ServerInfo {
    std::string name;
    int state = SHAREDSERVER_STOPPED;
    pid_t pid = 0;
    pid_t watcher_pid = 0;
    std::vector<ClientInfo> clients;
    ServerSpec spec;
    int64_t grace_deadline_ms = 0;
    int64_t started_at_ms = 0;
    int port = 0;
    int64_t ready_at_ms = 0;
    std::size_t restarts = 0;
    int liveness_failures = 0;         // liveness attempts failed in a row
    int64_t liveness_failed_at_ms = 0;  // the last failed attempt (wall clock); 0: none
    std::string error;  // why the record cannot be read (state SHAREDSERVER_CORRUPT)
    // The running servers whose watcher holds a reference on this one
    // because they depend on it (spec.depends_on is the other direction).
    std::vector<std::string> needed_by;
};

// "stopped", "starting", "active", "grace", "stopping", "corrupt".
const char *state_name(int state);
// "no", "on-failure", "always".
const char *restart_policy_name(int mode);

// A stopped name gives state SHAREDSERVER_STOPPED; a corrupt record an error.
Result<ServerInfo> read_server_info(const ServerFiles &files);

// Only the state: no clients parse, no JSON of the clients file.
Result<int> read_server_state(const ServerFiles &files);

// Every live server in the directory, sorted by name. A name whose record
// cannot be read is listed too, as SHAREDSERVER_CORRUPT with the reason:
// a server may run under it, and a list must never hide one.
std::vector<ServerInfo> list_servers(const std::string &state_dir);

std::string info_to_json(const ServerInfo &info);
std::string infos_to_json(const std::vector<ServerInfo> &infos);

}  // namespace sharedserver
