// Process identity and liveness. A pid alone is never trusted: a process is
// (pid, start stamp), and records from another boot are stale. The functions
// here are the platform interface; platform/<os>.cpp implements them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace sharedserver {

struct ProcessId {
    pid_t pid = 0;
    uint64_t start = 0;  // Linux: starttime in clock ticks since boot (field 22 of stat)

    auto operator<=>(const ProcessId &) const = default;
};

// The start stamp of a live, non-zombie process; nullopt when there is none.
std::optional<uint64_t> process_start_stamp(pid_t pid);

// The identity of a live process right now.
std::optional<ProcessId> identify_process(pid_t pid);

// True when that exact process (same start stamp) is alive and not a zombie.
bool process_alive(const ProcessId &id);

// process_alive() for a caller that must not take "could not look" for
// "dead": /proc unreadable for lack of a descriptor or memory (EMFILE,
// ENFILE, ENOMEM) is `unknown`, never `dead`.
enum class Liveness { alive, dead, unknown };
Liveness process_liveness(const ProcessId &id);

// True when the process belongs to the calling user: a record's server or
// watcher that is not is never signalled (ownership.hpp proves the rest).
// Never true for pid 1.
bool process_owned_by_me(pid_t pid);

// This boot's identity; records written under another boot are stale.
const std::string &boot_id();

// A pid's parent (for `--pid` defaulting to the CLI's caller).
pid_t parent_pid();

// One row of the process table, zombies included (a zombie leader still
// holds its group's id, which is what makes its group provable).
struct ProcessEntry {
    ProcessId id;
    pid_t parent = 0;
    pid_t group = 0;
    bool zombie = false;
    bool kernel_thread = false;  // never any server's
};

// Every process visible in this pid namespace right now; processes that
// exit while the table is read are left out. nullopt when the table cannot
// be read whole (no descriptor or memory left): a missing row would pass
// for a process that is gone.
std::optional<std::vector<ProcessEntry>> list_processes();

// One row, read now; nullopt when there is no such process.
std::optional<ProcessEntry> read_process_entry(pid_t pid);

// The initial environment of a process ("K=V\0K=V\0..."), as far as it can
// be read: empty for another user's process (unless we are root) and for a
// process that is gone. A process may overwrite it (setproctitle).
std::string process_environment(pid_t pid);

// True when argv[0] of the process names the sharedserver-watcher executable.
bool is_watcher_process(pid_t pid);

// True when every uid of the process (real, effective, saved, filesystem) is
// `uid`: a setuid program started by another user is not.
bool process_uids_all(pid_t pid, uid_t uid);

// A handle on one process (Linux: a pidfd) that can be signalled without the
// pid being recycled under it. Open it *before* checking the process's
// identity; a signal through it then reaches that process or none.
class ProcessHandle {
public:
    ProcessHandle() = default;
    explicit ProcessHandle(pid_t pid);
    ProcessHandle(ProcessHandle &&other) noexcept : pid_(other.pid_), fd_(other.fd_) { other.fd_ = -1; }
    ProcessHandle &operator=(ProcessHandle &&other) noexcept;
    ProcessHandle(const ProcessHandle &) = delete;
    ProcessHandle &operator=(const ProcessHandle &) = delete;
    ~ProcessHandle();

    // False when the process had already gone when the handle was opened.
    // SIGTERM is followed by SIGCONT to the same process, so a stopped one
    // acts on it.
    bool signal(int sig) const;

private:
    pid_t pid_ = 0;
    int fd_ = -1;  // -1 with pid_ set: a kernel without pidfds; kill() by pid
};

// Sends `sig` to exactly that process (pid and start stamp), if it is the
// caller's: for a watcher, proven by its record or its arguments.
bool signal_exactly(const ProcessId &id, int sig);

// A sharedserver-watcher found by its arguments, not through a record.
struct FoundWatcher {
    ProcessId id;
    std::string name;  // its --name
    bool blocks_wake_signal = false;  // SIGUSR1 wakes it rather than ends it
};

// The calling user's live sharedserver-watcher processes supervising `name`
// (every name when "") in `state_dir`, found by their arguments. For when no
// readable record names them.
std::vector<FoundWatcher> find_watchers(const std::string &state_dir, const std::string &name);

// A descriptor that becomes readable when the process exits (Linux pidfd);
// -1 when the platform has none or the process is gone.
int open_process_handle(pid_t pid);

}  // namespace sharedserver
