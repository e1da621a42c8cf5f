// Starting, timing and killing the processes of a run. Everything a section
// starts is tracked with its start stamp and killed by pid when the section
// ends: a process is signalled only while it is still the one we started.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace bench {

// posix_spawn with stdin/stdout/stderr on /dev/null (stdout to `out` if
// given), this environment plus `extra_env` ("K=V", overriding), in `cwd`.
pid_t spawn(const std::vector<std::string> &args, const std::string &out = "/dev/null",
            const std::string &err = "/dev/null", const std::vector<std::string> &extra_env = {},
            const std::string &cwd = "");

// Waits for our child; its user + system CPU time (ms) goes to *cpu_ms.
// The exit code, or 128 + the signal.
int wait_exit(pid_t pid, double *cpu_ms = nullptr);

// One whole process, spawned and waited for.
struct Timed {
    double ms = 0;      // spawn until reaped
    double cpu_ms = 0;  // its user + system time (rusage)
    int code = 0;
};
Timed time_process(const std::vector<std::string> &args, const std::string &out = "/dev/null",
                   const std::vector<std::string> &extra_env = {});

// The same, but a Failure unless it exits 0; returns the wall time in ms.
double time_ok(const std::vector<std::string> &args, double *cpu_ms = nullptr, const std::string &out = "/dev/null",
               const std::vector<std::string> &extra_env = {});

struct Tracked {
    pid_t pid;
    uint64_t start;
    bool group;  // kill the process group it leads (servers)
};

// Remembers `pid` (if alive) for the kill at the end of the section.
void track(pid_t pid, bool group);
bool is_same(const Tracked &t);
const std::vector<Tracked> &tracked();

// SIGKILLs every tracked process that is still the one we started, watchers
// first, then server groups; waits until they are gone (or zombies of
// someone else). Returns how many were killed.
int kill_tracked();

// A client process that only exists to be attached (and maybe killed).
pid_t spawn_client();
void kill_client(pid_t pid);

}  // namespace bench
