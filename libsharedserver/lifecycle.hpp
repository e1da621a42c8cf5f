// The write transactions of DESIGN §5. Each takes the name's lock, reads,
// decides, writes, and unlocks; concurrent callers serialise on the lock, so
// however many processes `use` a stopped name at once, one server starts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "error.hpp"
#include "process.hpp"
#include "records.hpp"
#include "spawn.hpp"
#include "state_dir.hpp"

namespace sharedserver {

struct UseRequest {
    std::optional<ServerSpec> spec;  // nullopt: attach only, never start
    bool working_dir_given = true;   // false: the caller's cwd was a default, not a wish
    int on_mismatch = SHAREDSERVER_MISMATCH_WARN;
    ProcessId client;
    std::string metadata;
};

struct UseOutcome {
    int outcome = SHAREDSERVER_STARTED;
    ProcessId server;
    int port = 0;
    bool ready = false;
    std::size_t refcount = 0;
    std::string mismatch;  // what differs between the asked and the running definition
    bool joined = true;    // false: this client was attached already
};

class Lifecycle {
public:
    // watcher_path "": found when first needed (WatcherExecutable).
    Lifecycle(std::string state_dir, std::string watcher_path)
        : dir_(std::move(state_dir)), watcher_(std::move(watcher_path)) {}

    const std::string &state_dir() const { return dir_; }
    const std::string &watcher_path() const { return watcher_.path(); }
    ServerFiles files(const std::string &name) const { return {dir_, name}; }

    Result<UseOutcome> use(const std::string &name, const UseRequest &request);
    Result<std::size_t> unuse(const std::string &name, pid_t client);
    Result<ServerRecord> start(const std::string &name, const ServerSpec &spec);
    Status stop(const std::string &name, bool force, int64_t timeout_ms);
    Result<ProcessId> restart(const std::string &name);
    Status kill(const std::string &name);
    // One line per repair; names every server in the directory when `name` is empty.
    Result<std::vector<std::string>> doctor(const std::string &name);

private:
    std::string dir_;
    WatcherExecutable watcher_;
};

inline constexpr int64_t default_log_max_size = 10 * 1024 * 1024;

// The names that have any file in the state directory, sorted.
std::vector<std::string> names_in_state_dir(const std::string &dir);

// Fills in defaults and checks what a client asked to run: absolute working
// dir and log file, KEY=VALUE env entries, a non-empty command, a valid
// readiness probe, port and restart policy.
Result<ServerSpec> normalize_spec(ServerSpec spec, const ServerFiles &files);

// What differs between the running definition and the one asked for; "" if nothing.
// A working dir the caller did not choose is not compared.
std::string describe_mismatch(const ServerSpec &running, const ServerSpec &asked, bool compare_working_dir = true);

}  // namespace sharedserver
