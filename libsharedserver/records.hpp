// The two records of a live server: <name>.server.json (exists while the
// server lives) and <name>.clients.json (exists while refcount > 0; its
// absence is the grace period). Refcount is always the size of the map.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "error.hpp"
#include "process.hpp"
#include "state_dir.hpp"

namespace sharedserver {

inline constexpr int record_schema_version = 1;

// How the watcher decides that a started server is ready (DESIGN §7).
struct ReadyProbe {
    int kind = SHAREDSERVER_PROBE_NONE;  // sharedserver_probe_kind
    std::string target;                  // port, socket path, URL, shell line or regex; may hold {port}
    int64_t timeout_ms = 0;
    int64_t interval_ms = 0;

    bool operator==(const ReadyProbe &) const = default;
};

// Whether the watcher brings a server back when it exits on its own.
struct RestartPolicy {
    int mode = SHAREDSERVER_RESTART_NO;  // sharedserver_restart_policy
    int max_restarts = 0;
    int64_t window_ms = 0;

    bool operator==(const RestartPolicy &) const = default;
};

// The probe the watcher repeats while a ready server runs (DESIGN §7
// Liveness): one of the readiness kinds but a log pattern; its timeout is
// per attempt. `failures` attempts failing in a row restart the server.
struct LivenessProbe {
    ReadyProbe probe;  // kind SHAREDSERVER_PROBE_NONE: no liveness probe
    int failures = 0;

    bool operator==(const LivenessProbe &) const = default;
};

// What a client asks to run; also what the server record remembers of it.
// argv and env are kept as given: {port} is substituted only at launch.
struct ServerSpec {
    std::vector<std::string> argv;
    std::vector<std::string> env;  // "KEY=VALUE" additions to the inherited environment
    std::string working_dir;       // absolute
    std::string log_file;          // absolute
    int64_t grace_period_ms = 0;
    ReadyProbe ready;
    int port = 0;  // 0: none, -1: allocate a free one at first start, N: this one
    RestartPolicy restart;
    int64_t log_max_size = 0;  // bytes; past it the log is rotated to <log>.1; 0: never
    LivenessProbe liveness;
    // Servers this one needs running (and ready) first; its watcher holds a
    // reference on each for as long as it runs (dependencies.hpp).
    std::vector<std::string> depends_on;

    bool operator==(const ServerSpec &) const = default;
};

struct ServerRecord {
    int schema = record_schema_version;
    std::string name;
    ProcessId server;
    pid_t pgid = 0;
    ProcessId watcher;
    // The watcher re-reads the records on SIGUSR1 (watcher_wake_signal): a
    // transaction that writes what it must learn sends it one. Watchers from
    // before that watched the state directory with inotify instead, and
    // SIGUSR1 would kill them.
    bool watcher_wakes_on_signal = false;
    // This launch's token, in the server's environment as
    // SHAREDSERVER_INSTANCE: what proves its processes ours once its leader
    // and watcher are gone (ownership.hpp). "" in records from before it.
    std::string instance;
    std::string boot_id;
    ServerSpec spec;
    bool stopping = false;
    // Set while no client is attached: the deadline on CLOCK_BOOTTIME, which
    // the watcher acts on, and the wall-clock time it fell at when written,
    // for display (clock.hpp). Set both with start_grace().
    int64_t grace_deadline_ms = 0;
    int64_t grace_deadline_boot_ms = 0;
    int64_t started_at_ms = 0;
    int port = 0;                   // the port this server was given (allocated or fixed)
    int64_t ready_at_ms = 0;        // 0 while the readiness probe has not passed
    bool restarting = false;        // the server exited and the watcher will start it again
    std::vector<int64_t> restarts_boot_ms;  // when the watcher restarted it, within the window (CLOCK_BOOTTIME)
    int liveness_failures = 0;         // liveness attempts failed in a row (this server; 0 after a pass)
    int64_t liveness_failed_at_ms = 0;  // wall clock of the last failed attempt, kept across restarts

    bool operator==(const ServerRecord &) const = default;
};

struct ClientEntry {
    uint64_t start = 0;
    int64_t attached_at_ms = 0;
    std::string metadata;
};

using ClientMap = std::map<pid_t, ClientEntry>;

std::string to_json(const ServerRecord &record);
std::string to_json(const ClientMap &clients);

// Corrupt content gives SHAREDSERVER_ECORRUPT naming the file. A record of an
// older schema reads with defaults for the fields it lacks.
Result<ServerRecord> parse_server_record(const std::string &text, const std::string &path);
Result<ClientMap> parse_clients(const std::string &text, const std::string &path);

// Absent files read as nullopt / an empty map.
Result<std::optional<ServerRecord>> load_server_record(const ServerFiles &files);
Result<ClientMap> load_clients(const ServerFiles &files);

Status save_server_record(const ServerFiles &files, const ServerRecord &record);
// An empty map removes the file: that is how grace begins.
Status save_clients(const ServerFiles &files, const ClientMap &clients);

// The grace period of `record` ends at `boot_deadline_ms` (CLOCK_BOOTTIME).
void start_grace(ServerRecord &record, int64_t boot_deadline_ms);
// It ends a grace period after now.
void start_grace(ServerRecord &record);
void cancel_grace(ServerRecord &record);
// The CLOCK_BOOTTIME deadline of its grace period; 0 when it has none. A
// record written before boot deadlines existed gives its wall-clock one,
// converted as of now.
int64_t grace_deadline_boot(const ServerRecord &record);

// The server process of this record is alive, in this boot.
bool server_alive(const ServerRecord &record);
// The server lives, or is between two lives under a restart policy whose
// watcher will start it again: either way, the name is taken.
bool record_alive(const ServerRecord &record);
bool watcher_alive(const ServerRecord &record);

}  // namespace sharedserver
