#include "proc_sampling.hpp"

#include "files.hpp"

#include <dirent.h>
#include <sstream>
#include <sys/syscall.h>
#include <unistd.h>

namespace bench {
namespace {

std::string proc_path(pid_t pid, const std::string &file) { return "/proc/" + std::to_string(pid) + "/" + file; }

// The fields of /proc/<pid>/stat after the command name: state first.
std::vector<std::string> stat_fields(pid_t pid) {
    std::string stat = read_file(proc_path(pid, "stat"));
    auto close = stat.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream in(stat.substr(close + 2));
    std::vector<std::string> fields;
    for (std::string field; in >> field;) fields.push_back(field);
    return fields;
}

}  // namespace

std::optional<uint64_t> start_stamp(pid_t pid) {
    auto fields = stat_fields(pid);
    if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X") return std::nullopt;
    return std::stoull(fields[19]);
}

int64_t proc_field(pid_t pid, const std::string &file, const std::string &key) {
    std::istringstream in(read_file(proc_path(pid, file)));
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1));
    return -1;
}

int64_t context_switches(pid_t pid) {
    return proc_field(pid, "status", "voluntary_ctxt_switches") + proc_field(pid, "status", "nonvoluntary_ctxt_switches");
}

int64_t cpu_ticks(pid_t pid) {
    auto f = stat_fields(pid);
    if (f.size() < 13) return -1;
    return std::stoll(f[11]) + std::stoll(f[12]);
}

int64_t cpu_ns(pid_t pid) {
    std::istringstream in(read_file(proc_path(pid, "schedstat")));
    int64_t ns = -1;
    in >> ns;
    return ns;
}

std::vector<std::pair<std::string, std::string>> fd_links(pid_t pid) {
    std::vector<std::pair<std::string, std::string>> links;
    std::string fds = proc_path(pid, "fd");
    DIR *d = ::opendir(fds.c_str());
    if (!d) return links;
    while (dirent *e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        char link[256];
        ssize_t n = ::readlink((fds + "/" + e->d_name).c_str(), link, sizeof link - 1);
        if (n > 0) links.emplace_back(e->d_name, std::string(link, static_cast<std::size_t>(n)));
    }
    ::closedir(d);
    return links;
}

bool holds_pidfd(pid_t watcher, pid_t target) {
    for (const auto &[fd, link] : fd_links(watcher)) {
        if (link.find("pidfd") == std::string::npos) continue;
        std::string info = read_file(proc_path(watcher, "fdinfo/" + fd));
        if (info.find("Pid:\t" + std::to_string(target) + "\n") != std::string::npos) return true;
    }
    return false;
}

bool has_inotify(pid_t pid) {
    for (const auto &[fd, link] : fd_links(pid))
        if (link == "anon_inode:inotify") return true;
    return false;
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

}  // namespace bench
