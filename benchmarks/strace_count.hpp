// System calls of running processes over a window, counted by `strace -f -c`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <sys/types.h>

namespace bench {

struct StraceResult {
    int64_t calls = -1;  // -1: strace failed (see error)
    std::string detail;  // syscall:count,...
    std::string error;
};

bool have_strace();

// Traces every process of `targets` (label -> pid) at the same time for
// `seconds`; strace's tables go to `dir`/strace-<label>.txt.
std::map<std::string, StraceResult> count_syscalls(const std::map<std::string, pid_t> &targets, double seconds,
                                                   const std::string &dir);

}  // namespace bench
