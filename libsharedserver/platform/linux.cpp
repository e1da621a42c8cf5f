// Linux: /proc for identity, pidfd for exit notification.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../process.hpp"

namespace sharedserver {

namespace {

// Reads /proc/<pid>/stat into `buf`; the comm field may hold spaces and
// parentheses, so fields are parsed after the last ')'.
const char *stat_fields_after_comm(pid_t pid, char *buf, std::size_t size) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    ssize_t n = ::read(fd, buf, size - 1);
    ::close(fd);
    if (n <= 0) return nullptr;
    buf[n] = '\0';
    const char *close_paren = std::strrchr(buf, ')');
    if (!close_paren || close_paren[1] != ' ') return nullptr;
    return close_paren + 2;  // field 3 (state)
}

}  // namespace

std::optional<uint64_t> process_start_stamp(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    char buf[1024];
    const char *p = stat_fields_after_comm(pid, buf, sizeof buf);
    if (!p) return std::nullopt;
    if (*p == 'Z' || *p == 'X' || *p == 'x') return std::nullopt;  // zombies are not alive
    // Field 3 is the state; starttime is field 22: skip 19 more fields.
    for (int field = 3; field < 22; ++field) {
        p = std::strchr(p, ' ');
        if (!p) return std::nullopt;
        ++p;
    }
    char *end = nullptr;
    unsigned long long start = std::strtoull(p, &end, 10);
    if (end == p) return std::nullopt;
    return static_cast<uint64_t>(start);
}

std::optional<ProcessId> identify_process(pid_t pid) {
    auto start = process_start_stamp(pid);
    if (!start) return std::nullopt;
    return ProcessId{pid, *start};
}

bool process_alive(const ProcessId &id) {
    auto start = process_start_stamp(id.pid);
    return start && *start == id.start;
}

bool process_owned_by_me(pid_t pid) {
    if (pid <= 1) return false;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d", static_cast<int>(pid));
    struct stat st {};
    if (::stat(path, &st) != 0) return false;
    return st.st_uid == ::geteuid();
}

const std::string &boot_id() {
    static const std::string id = [] {
        std::string value;
        int fd = ::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            char buf[64];
            ssize_t n = ::read(fd, buf, sizeof buf);
            ::close(fd);
            if (n > 0) value.assign(buf, static_cast<std::size_t>(n));
            while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.pop_back();
        }
        return value;
    }();
    return id;
}

pid_t parent_pid() { return ::getppid(); }

bool process_group_alive(pid_t pgid) {
    if (pgid <= 1) return false;
    if (::kill(-pgid, 0) != 0 && errno != EPERM) return false;
    // kill() also reaches zombies, which are dead already: look for a live member.
    DIR *proc = ::opendir("/proc");
    if (!proc) return true;
    bool alive = false;
    while (dirent *entry = ::readdir(proc)) {
        char *end = nullptr;
        long pid = std::strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 0) continue;
        char buf[1024];
        const char *p = stat_fields_after_comm(static_cast<pid_t>(pid), buf, sizeof buf);
        if (!p || *p == 'Z' || *p == 'X') continue;
        // Fields after comm: state ppid pgrp ...
        const char *ppid = std::strchr(p, ' ');
        const char *pgrp = ppid ? std::strchr(ppid + 1, ' ') : nullptr;
        if (pgrp && std::strtol(pgrp + 1, nullptr, 10) == pgid) {
            alive = true;
            break;
        }
    }
    ::closedir(proc);
    return alive;
}

int open_process_handle(pid_t pid) {
#ifdef SYS_pidfd_open
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd >= 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

}  // namespace sharedserver
