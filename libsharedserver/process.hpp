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

    bool operator==(const ProcessId &) const = default;
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

// True when the process belongs to the calling user: the only processes we
// ever signal. Never true for pid 1.
bool process_owned_by_me(pid_t pid);

// This boot's identity; records written under another boot are stale.
const std::string &boot_id();

// A pid's parent (for `--pid` defaulting to the CLI's caller).
pid_t parent_pid();

// The number of live processes in a process group, excluding zombies
// (0 when the group is empty).
bool process_group_alive(pid_t pgid);

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
    bool signal(int sig) const;

private:
    pid_t pid_ = 0;
    int fd_ = -1;  // -1 with pid_ set: a kernel without pidfds; kill() by pid
};

// Sends `sig` to exactly that process (pid and start stamp), if it is ours.
bool signal_exactly(const ProcessId &id, int sig);

// The calling user's live sharedserver-watcher processes supervising `name`
// in `state_dir` (found by their arguments) that block `sig`, i.e. that wake
// on it rather than die of it. For when no readable record names them.
std::vector<ProcessId> find_watchers_blocking(const std::string &state_dir, const std::string &name, int sig);

// A descriptor that becomes readable when the process exits (Linux pidfd);
// -1 when the platform has none or the process is gone.
int open_process_handle(pid_t pid);

}  // namespace sharedserver
