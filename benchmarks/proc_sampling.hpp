// What /proc tells about a process: whether it is still the one we started,
// its memory, CPU time, context switches, system calls and open descriptors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace bench {

// Field 22 of /proc/<pid>/stat; nullopt when gone or a zombie.
std::optional<uint64_t> start_stamp(pid_t pid);

// A "Key: N" line of /proc/<pid>/<file> as a number: `status` (kB for the
// Vm/Rss lines, counts for the context switches), `smaps_rollup` (kB) or `io`.
// -1 when the process or the line is missing.
int64_t proc_field(pid_t pid, const std::string &file, const std::string &key);

// Voluntary + involuntary context switches: how often it woke up.
int64_t context_switches(pid_t pid);

// utime + stime in clock ticks.
int64_t cpu_ticks(pid_t pid);

// Time on the CPU in ns (first field of /proc/<pid>/schedstat): finer than the ticks.
int64_t cpu_ns(pid_t pid);

// The targets of the process's open descriptors ("anon_inode:inotify", ...),
// with the descriptor number.
std::vector<std::pair<std::string, std::string>> fd_links(pid_t pid);

// True once `watcher` holds a pidfd on `target` (it watches that client).
bool holds_pidfd(pid_t watcher, pid_t target);

bool has_inotify(pid_t pid);

int pidfd_open(pid_t pid);

}  // namespace bench
