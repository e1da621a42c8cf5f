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

namespace {

// Fields after comm: state ppid pgrp session tty_nr tpgid flags (9) minflt
// cminflt majflt cmajflt utime stime cutime cstime priority nice
// num_threads itrealvalue starttime (field 22).
std::optional<ProcessEntry> parse_entry(pid_t pid) {
    char buf[1024];
    const char *p = stat_fields_after_comm(pid, buf, sizeof buf);
    if (!p) return std::nullopt;
    ProcessEntry entry;
    entry.id.pid = pid;
    entry.zombie = *p == 'Z' || *p == 'X' || *p == 'x';
    char *end = nullptr;
    const char *field = std::strchr(p, ' ');
    if (!field) return std::nullopt;
    entry.parent = static_cast<pid_t>(std::strtol(field + 1, &end, 10));
    entry.group = static_cast<pid_t>(std::strtol(end, &end, 10));
    field = end;  // the space before field 6
    for (int n = 6; n < 9 && field; ++n) field = std::strchr(field + 1, ' ');
    if (!field) return std::nullopt;
    constexpr unsigned long kernel_thread_flag = 0x00200000;  // PF_KTHREAD
    entry.kernel_thread = (std::strtoul(field + 1, &end, 10) & kernel_thread_flag) != 0;
    for (int n = 9; n < 22 && field; ++n) field = std::strchr(field + 1, ' ');
    if (!field) return std::nullopt;
    entry.id.start = std::strtoull(field + 1, &end, 10);
    if (end == field + 1) return std::nullopt;
    return entry;
}

// False when /proc cannot be listed.
template <class Visit>
bool for_each_pid(Visit visit) {
    DIR *proc = ::opendir("/proc");
    if (!proc) return false;
    while (dirent *entry = ::readdir(proc)) {
        char *end = nullptr;
        long pid = std::strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 0) continue;
        visit(static_cast<pid_t>(pid));
    }
    ::closedir(proc);
    return true;
}

bool out_of_resources(int err) { return err == EMFILE || err == ENFILE || err == ENOMEM; }

}  // namespace

std::optional<std::vector<ProcessEntry>> list_processes() {
    std::vector<ProcessEntry> table;
    bool whole = true;
    bool listed = for_each_pid([&](pid_t pid) {
        errno = 0;
        if (auto entry = parse_entry(pid)) table.push_back(*entry);
        else if (out_of_resources(errno)) whole = false;
    });
    if (!listed || !whole) return std::nullopt;
    return table;
}

std::optional<ProcessEntry> read_process_entry(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    return parse_entry(pid);
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

std::string process_environment(pid_t pid) { return read_proc_file(pid, "environ"); }

bool is_watcher_process(pid_t pid) {
    std::string cmdline = read_proc_file(pid, "cmdline");
    std::string program = cmdline.substr(0, cmdline.find('\0'));
    auto slash = program.rfind('/');
    return program.substr(slash == std::string::npos ? 0 : slash + 1) == "sharedserver-watcher";
}

bool process_uids_all(pid_t pid, uid_t uid) {
    std::string status = read_proc_file(pid, "status");
    auto at = status.find("\nUid:");
    if (at == std::string::npos) return false;
    const char *p = status.c_str() + at + 5;
    for (int i = 0; i < 4; ++i) {
        char *end = nullptr;
        unsigned long value = std::strtoul(p, &end, 10);
        if (end == p || value != uid) return false;
        p = end;
    }
    return true;
}

std::vector<FoundWatcher> find_watchers(const std::string &state_dir, const std::string &name) {
    std::vector<FoundWatcher> found;
    const std::string wanted = std::string("--state-dir") + '\0' + state_dir + '\0' + "--name" + '\0';
    for_each_pid([&](pid_t pid) {
        if (pid <= 1 || !process_owned_by_me(pid) || !is_watcher_process(pid)) return;
        std::string cmdline = read_proc_file(pid, "cmdline");
        auto at = cmdline.find(wanted);
        if (at == std::string::npos) return;
        std::string watched = cmdline.substr(at + wanted.size());
        watched = watched.substr(0, watched.find('\0'));
        if (!name.empty() && watched != name) return;
        auto id = identify_process(pid);
        if (id) found.push_back({*id, watched, blocks_signal(pid, SIGUSR1)});
    });
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
    auto send = [&](int s) {
#ifdef SYS_pidfd_send_signal
        if (fd_ >= 0) return ::syscall(SYS_pidfd_send_signal, fd_, s, nullptr, 0) == 0;
#endif
        return ::kill(pid_, s) == 0;  // no pidfds: as exact as the caller's check just before
    };
    if (!send(sig)) return false;
    // A stopped process (SIGSTOP, ^Z, a debugger let go) acts on TERM only
    // once it runs again: without this, stopping it waited out the timeout.
    if (sig == SIGTERM) (void)send(SIGCONT);
    return true;
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
