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
#include <string>
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

Liveness process_liveness(const ProcessId &id) {
    if (id.pid <= 0) return Liveness::dead;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(id.pid));
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT || errno == ESRCH ? Liveness::dead : Liveness::unknown;
    char buf[1024];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    int err = errno;
    ::close(fd);
    if (n < 0) return err == ESRCH ? Liveness::dead : Liveness::unknown;  // ESRCH: it died since the open
    buf[n > 0 ? n : 0] = '\0';
    // As in process_start_stamp(): fields after the last ')', the state
    // (field 3) not a zombie, the start stamp (field 22) the same.
    const char *p = std::strrchr(buf, ')');
    if (!p || p[1] != ' ') return Liveness::dead;
    p += 2;
    if (*p == 'Z' || *p == 'X' || *p == 'x') return Liveness::dead;
    for (int field = 3; field < 22 && p; ++field) {
        p = std::strchr(p, ' ');
        if (p) ++p;
    }
    return p && std::strtoull(p, nullptr, 10) == id.start ? Liveness::alive : Liveness::dead;
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
    return st.st_uid == ::geteuid();  // not cached: a host may change it (seteuid)
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

namespace {

std::string read_proc_file(pid_t pid, const char *what) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/%s", static_cast<int>(pid), what);
    std::string out;
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && out.size() < 65536) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
}

// SigBlk of /proc/<pid>/status has bit (sig - 1) set when `sig` is blocked.
bool blocks_signal(pid_t pid, int sig) {
    std::string status = read_proc_file(pid, "status");
    auto at = status.find("\nSigBlk:");
    if (at == std::string::npos) return false;
    unsigned long long mask = std::strtoull(status.c_str() + at + 8, nullptr, 16);
    return (mask >> (sig - 1)) & 1ULL;
}

}  // namespace

std::vector<ProcessId> find_watchers_blocking(const std::string &state_dir, const std::string &name, int sig) {
    std::vector<ProcessId> found;
    const std::string wanted = std::string("--state-dir") + '\0' + state_dir + '\0' + "--name" + '\0' + name + '\0';
    DIR *proc = ::opendir("/proc");
    if (!proc) return found;
    while (dirent *entry = ::readdir(proc)) {
        char *end = nullptr;
        long pid = std::strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 1 || !process_owned_by_me(static_cast<pid_t>(pid))) continue;
        std::string cmdline = read_proc_file(static_cast<pid_t>(pid), "cmdline");
        std::string program = cmdline.substr(0, cmdline.find('\0'));
        std::string base = program.substr(program.rfind('/') == std::string::npos ? 0 : program.rfind('/') + 1);
        if (base != "sharedserver-watcher" || cmdline.find(wanted) == std::string::npos) continue;
        auto id = identify_process(static_cast<pid_t>(pid));
        if (id && blocks_signal(id->pid, sig)) found.push_back(*id);
    }
    ::closedir(proc);
    return found;
}

ProcessHandle::ProcessHandle(pid_t pid) {
    if (pid <= 1) return;
    fd_ = open_process_handle(pid);
    if (fd_ >= 0 || errno == ENOSYS) pid_ = pid;  // ESRCH: gone, nothing to signal
}

ProcessHandle &ProcessHandle::operator=(ProcessHandle &&other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        pid_ = other.pid_;
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

ProcessHandle::~ProcessHandle() {
    if (fd_ >= 0) ::close(fd_);
}

bool ProcessHandle::signal(int sig) const {
    if (pid_ <= 1) return false;
#ifdef SYS_pidfd_send_signal
    if (fd_ >= 0) return ::syscall(SYS_pidfd_send_signal, fd_, sig, nullptr, 0) == 0;
#endif
    return ::kill(pid_, sig) == 0;  // no pidfds: as exact as the caller's check just before
}

bool signal_exactly(const ProcessId &id, int sig) {
    if (!process_owned_by_me(id.pid)) return false;
    ProcessHandle handle(id.pid);
    return process_alive(id) && handle.signal(sig);
}

int open_process_handle(pid_t pid) {
#ifdef SYS_pidfd_open
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));  // always close-on-exec
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

}  // namespace sharedserver
