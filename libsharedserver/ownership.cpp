#include "ownership.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include "names.hpp"

namespace sharedserver {

namespace {

constexpr std::size_t token_bytes = 16;
constexpr int max_ancestry = 4096;  // deeper than any real process tree; a bound, not a limit

// The value of `key` in a "K=V\0K=V\0" block; nullopt when it is not set.
std::optional<std::string> environment_value(const std::string &block, const std::string &key) {
    std::size_t at = 0;
    while (at < block.size()) {
        std::size_t end = block.find('\0', at);
        if (end == std::string::npos) end = block.size();
        if (end - at > key.size() && block.compare(at, key.size(), key) == 0 && block[at + key.size()] == '=')
            return block.substr(at + key.size() + 1, end - at - key.size() - 1);
        at = end + 1;
    }
    return std::nullopt;
}

bool is_instance_token(const std::string &token) {
    if (token.size() != 2 * token_bytes) return false;
    for (char c : token)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

// Still the process the table listed (same start stamp, not a zombie): what
// was read about it between the two reads was about it.
bool still_alive_as(const ProcessId &id) {
    auto now = read_process_entry(id.pid);
    return now && !now->zombie && now->id.start == id.start;
}

bool is_set(const ProcessId &id) { return id.pid > 0 && id.start != 0; }

}  // namespace

std::string new_instance_token() {
    unsigned char bytes[token_bytes];
    std::size_t filled = 0;
    while (filled < sizeof bytes) {
        ssize_t n = ::getrandom(bytes + filled, sizeof bytes - filled, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        filled += static_cast<std::size_t>(n);
    }
    if (filled < sizeof bytes) {  // no getrandom(): the kernel's pool through the device
        int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        while (fd >= 0 && filled < sizeof bytes) {
            ssize_t n = ::read(fd, bytes + filled, sizeof bytes - filled);
            if (n <= 0) break;
            filled += static_cast<std::size_t>(n);
        }
        if (fd >= 0) ::close(fd);
    }
    static const char digits[] = "0123456789abcdef";
    std::string token;
    for (unsigned char b : bytes) {
        token += digits[b >> 4];
        token += digits[b & 15];
    }
    return token;
}

std::vector<std::string> identity_environment(const std::string &instance, const std::string &name,
                                              const std::string &state_dir) {
    return {std::string(instance_variable) + "=" + instance, std::string(name_variable) + "=" + name,
            std::string(state_dir_variable) + "=" + state_dir};
}

bool is_identity_variable(const std::string &entry) {
    for (const char *key : {instance_variable, name_variable, state_dir_variable}) {
        std::size_t n = std::char_traits<char>::length(key);
        if (entry.size() > n && entry.compare(0, n, key) == 0 && entry[n] == '=') return true;
    }
    return false;
}

Members::Members(ServerIdentity server) : server_(std::move(server)), self_(::getpid()) {}

bool Members::is_other_watcher(const ProcessId &id) {
    if (id == server_.watcher) return false;
    auto seen = watcher_seen_.find(id);
    if (seen != watcher_seen_.end()) return seen->second;
    bool watcher = is_watcher_process(id.pid);
    if (!still_alive_as(id)) return true;  // gone, or the pid reused: not ours to judge, so not ours
    watcher_seen_[id] = watcher;
    return watcher;
}

bool Members::carries_instance(const ProcessId &id) {
    if (server_.instance.empty()) return false;
    // The token was made for the leader's launch: whatever carries it started
    // no earlier. Most of the system did, and its environment is not read.
    if (is_set(server_.leader) && id.start < server_.leader.start) return false;
    auto seen = instance_seen_.find(id);
    if (seen != instance_seen_.end()) return seen->second;
    auto value = environment_value(process_environment(id.pid), instance_variable);
    if (!still_alive_as(id)) return false;
    bool carries = value && *value == server_.instance;
    instance_seen_[id] = carries;
    return carries;
}

// Walks up the parent links from `entry` to the leader, the watcher or a
// proven member. Each parent must be older than its child: a parent pid
// recycled since the child was listed is a younger process, and breaks the
// chain. Every process on the way (the entry included) must not be another
// watcher, whose subtree is its own server's.
bool Members::proves_descent(const ProcessEntry &entry, const std::map<pid_t, ProcessEntry> &table) {
    std::vector<ProcessId> path;
    const ProcessEntry *at = &entry;
    for (int depth = 0; depth < max_ancestry; ++depth) {
        path.push_back(at->id);
        auto parent = table.find(at->parent);
        if (at->parent <= 1 || parent == table.end() || parent->second.zombie) return false;
        const ProcessId &up = parent->second.id;
        if (up.start > at->id.start) return false;
        bool root = (is_set(server_.leader) && up == server_.leader) ||
                    (is_set(server_.watcher) && up == server_.watcher) || proven_.count(up);
        if (root) {
            for (const ProcessId &id : path)
                if (is_other_watcher(id)) return false;
            return true;
        }
        at = &parent->second;
    }
    return false;
}

std::size_t Members::refresh() {
    auto table = list_processes();
    if (!table) {  // what we knew stands: nothing is taken for gone unseen
        blind_ = true;
        return alive_.size();
    }
    blind_ = false;
    table_ = std::move(*table);
    std::map<pid_t, ProcessEntry> by_pid;
    for (const auto &entry : table_) by_pid[entry.id.pid] = entry;

    // The leader, alive or a zombie not yet reaped, still holds its group's id.
    bool leader_holds_group = false;
    leader_alive_ = false;
    if (auto leader = by_pid.find(server_.leader.pid);
        is_set(server_.leader) && leader != by_pid.end() && leader->second.id == server_.leader) {
        leader_holds_group = true;
        leader_alive_ = !leader->second.zombie;
    }

    std::set<ProcessId> kept;
    for (const ProcessId &id : proven_) {
        auto now = by_pid.find(id.pid);
        if (now != by_pid.end() && now->second.id == id && !now->second.zombie) kept.insert(id);
    }
    proven_ = std::move(kept);

    // Until nothing changes: a child may be listed before the parent that
    // proves it.
    for (bool changed = true; changed;) {
        changed = false;
        for (const auto &entry : table_) {
            const ProcessId &id = entry.id;
            if (entry.zombie || id.pid <= 1 || id.pid == self_ || proven_.count(id)) continue;
            if (entry.kernel_thread) continue;
            bool member = (is_set(server_.leader) && id == server_.leader) ||
                          (leader_holds_group && entry.group == server_.leader.pid) ||
                          proves_descent(entry, by_pid) || carries_instance(id);
            if (member && !is_other_watcher(id)) {
                proven_.insert(id);
                changed = true;
            }
        }
    }
    alive_.clear();
    std::set<ProcessId> still_unreachable;
    for (const ProcessId &id : proven_) {
        if (unreachable_.count(id)) still_unreachable.insert(id);
        else alive_.insert(id);
    }
    unreachable_ = std::move(still_unreachable);
    return alive_.size();
}

bool Members::send(const ProcessId &id, int sig) {
    if (id.pid <= 1 || id.pid == self_) return false;
    ProcessHandle handle(id.pid);  // opened first: the check below is then about the process it holds
    if (!still_alive_as(id)) return false;
    if (!handle.signal(sig)) {
        if (still_alive_as(id)) unreachable_.insert(id);
        return false;
    }
    sent_[sig].insert(id);
    signalled_.insert(id);
    return true;
}

std::size_t Members::signal(int sig) {
    std::size_t reached = 0;
    for (const ProcessId &id : alive_) reached += send(id, sig);
    return reached;
}

std::size_t Members::signal_newcomers(int sig) {
    std::size_t reached = 0;
    const auto &sent = sent_[sig];
    for (const ProcessId &id : alive_)
        if (!sent.count(id)) reached += send(id, sig);
    return reached;
}

std::vector<ProcessId> Members::unproven_in_group(pid_t pgid) const {
    std::vector<ProcessId> left;
    if (pgid <= 1) return left;
    for (const auto &entry : table_)
        if (!entry.zombie && entry.group == pgid && entry.id.pid != self_ && !proven_.count(entry.id))
            left.push_back(entry.id);
    return left;
}

std::vector<StampedProcess> find_stamped_processes(const std::string &state_dir) {
    std::vector<StampedProcess> found;
    const pid_t self = ::getpid();
    const uid_t me = ::geteuid();
    auto table = list_processes();
    if (!table) return found;
    for (const auto &entry : *table) {
        if (entry.zombie || entry.id.pid <= 1 || entry.id.pid == self || !process_owned_by_me(entry.id.pid)) continue;
        std::string block = process_environment(entry.id.pid);
        auto dir = environment_value(block, state_dir_variable);
        if (!dir || *dir != state_dir) continue;
        auto name = environment_value(block, name_variable);
        auto instance = environment_value(block, instance_variable);
        if (!name || !validate_name(*name) || !instance || !is_instance_token(*instance)) continue;
        if (!process_uids_all(entry.id.pid, me) || !still_alive_as(entry.id)) continue;
        found.push_back({entry.id, *name, *instance});
    }
    return found;
}

}  // namespace sharedserver
