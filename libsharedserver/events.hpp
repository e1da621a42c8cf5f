// The append-only event log of one name (<name>.events.jsonl): what
// `admin debug` shows and how clients learn how a server ended.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "state_dir.hpp"

namespace sharedserver {

// The log is rewritten to its newest half past this size.
inline constexpr std::size_t max_event_log_size = 256 * 1024;

// Appends {"at": <unix ms>, "event": kind, ...fields}. Failures are ignored:
// the event log is a diagnostic, never a reason to fail a transaction.
void record_event(const ServerFiles &files, const std::string &kind, nlohmann::json fields = {});
// The same, into an event log that exists only: for a watcher whose state
// dir may be in the middle of an `rm -rf`, which a new file would break.
void record_event_if_logged(const ServerFiles &files, const std::string &kind, nlohmann::json fields = {});

Result<std::string> read_events(const ServerFiles &files);

// Fields of one event line, read leniently: a field of another type (an
// older writer, a hand edit) gives the fallback, never an exception that
// would turn a `use` into "internal error".
std::string event_text(const nlohmann::json &event, const char *field);
int64_t event_int(const nlohmann::json &event, const char *field, int64_t otherwise = 0);
pid_t event_pid(const nlohmann::json &event, const char *field = "pid");

struct ExitRecord {
    int exit_code = -1;  // -1 when killed by a signal
    int signal = 0;
    int64_t at_ms = 0;
    bool unexpected = false;
};

std::optional<ExitRecord> last_exit(const ServerFiles &files);

// Whether a "started", "restarted" or "adopted" event names `pid`: the
// server was recorded under this name.
bool server_was_recorded(const ServerFiles &files, pid_t pid);

// The log file the newest server under this name wrote to (from its
// "started" event), for reading logs after the server is gone.
std::optional<std::string> last_log_file(const ServerFiles &files);

}  // namespace sharedserver
