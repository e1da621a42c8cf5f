#include "change_watch.hpp"

#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "enums.hpp"
#include "events.hpp"
#include "names.hpp"
#include "status.hpp"

namespace sharedserver {

using nlohmann::json;

namespace {

constexpr const char *events_suffix = ".events.jsonl";
// Read at most this much of a log at once: the log is capped well below it.
constexpr std::size_t read_chunk = 64 * 1024;

ino_t inode_of(const std::string &path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? st.st_ino : 0;
}

}  // namespace

Result<std::unique_ptr<ChangeWatch>> ChangeWatch::open(const std::string &dir, std::vector<std::string> names,
                                                       int64_t since_ms) {
    std::unique_ptr<ChangeWatch> w(new ChangeWatch);
    w->dir_ = dir;
    w->every_name_ = names.empty();
    w->since_ms_ = since_ms;
    w->inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->inotify_fd_ < 0) return fail_errno(SHAREDSERVER_ERROR, "cannot watch the state directory", dir, errno);
    w->pending_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->pending_fd_ < 0) return fail_errno(SHAREDSERVER_ERROR, "cannot watch the state directory", dir, errno);
    w->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (w->epoll_fd_ < 0) return fail_errno(SHAREDSERVER_ERROR, "cannot watch the state directory", dir, errno);
    for (int fd : {w->inotify_fd_, w->pending_fd_}) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (::epoll_ctl(w->epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
            return fail_errno(SHAREDSERVER_ERROR, "cannot watch the state directory", dir, errno);
    }
    if (w->every_name_) {
        // New names appear as new event logs (created, or renamed into place).
        if (::inotify_add_watch(w->inotify_fd_, dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_ONLYDIR) < 0)
            return fail_errno(SHAREDSERVER_ERROR, "cannot watch the state directory", dir, errno);
        w->discover_names(false);
    } else {
        for (const auto &name : names) {
            if (auto valid = validate_name(name); !valid) return std::unexpected(valid.error());
            if (auto added = w->add_name(name, true, false); !added) return std::unexpected(added.error());
        }
    }
    w->read_all();
    return w;
}

ChangeWatch::~ChangeWatch() {
    for (int fd : {epoll_fd_, pending_fd_, inotify_fd_})
        if (fd >= 0) ::close(fd);
}

Status ChangeWatch::add_name(const std::string &name, bool create, bool new_name) {
    if (tails_.contains(name)) return {};
    const std::string path = ServerFiles{dir_, name}.events();
    if (create) {
        // A name not used yet has no log: an empty one gives the file to watch.
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno != ELOOP) return fail_errno(SHAREDSERVER_ERROR, "cannot create the event log", path, errno);
        if (fd >= 0) ::close(fd);
    }
    Tail tail;
    tail.name = name;
    if (since_ms_ < 0 && !new_name) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0) tail.offset = st.st_size;
        tail.last_at = unix_now_ms();
    }
    auto [it, inserted] = tails_.emplace(name, std::move(tail));
    watch_file(it->second);
    return {};
}

void ChangeWatch::watch_file(Tail &tail) {
    const std::string path = ServerFiles{dir_, tail.name}.events();
    // Appends modify the file; a trim renames a new file over it.
    int wd = ::inotify_add_watch(inotify_fd_, path.c_str(), IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW);
    tail.wd = wd;
    tail.inode = inode_of(path);
}

void ChangeWatch::discover_names(bool new_names) {
    DIR *d = ::opendir(dir_.c_str());
    if (!d) return;
    const std::string suffix = events_suffix;
    while (dirent *entry = ::readdir(d)) {
        std::string file = entry->d_name;
        if (file.size() <= suffix.size() || !file.ends_with(suffix)) continue;
        std::string name = file.substr(0, file.size() - suffix.size());
        if (validate_name(name)) (void)add_name(name, false, new_names);
    }
    ::closedir(d);
}

void ChangeWatch::read_tail(Tail &tail) {
    const std::string path = ServerFiles{dir_, tail.name}.events();
    ino_t now = inode_of(path);
    bool replaced = now != tail.inode;
    if (replaced) {
        // Trimmed (a new file with the newest half) or removed and made
        // anew: resume after the newest line already delivered.
        if (tail.wd >= 0) (void)::inotify_rm_watch(inotify_fd_, tail.wd);
        watch_file(tail);
        tail.offset = 0;
        tail.partial.clear();
    }
    if (now == 0) return;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return;
    }
    if (st.st_size < tail.offset) tail.offset = 0, tail.partial.clear();  // emptied in place
    std::string text;
    char buf[read_chunk];
    for (ssize_t n; (n = ::pread(fd, buf, sizeof buf, tail.offset)) > 0;) {
        text.append(buf, static_cast<std::size_t>(n));
        tail.offset += n;
    }
    ::close(fd);
    text = tail.partial + text;
    std::size_t end = text.rfind('\n');
    if (end == std::string::npos) {
        tail.partial = text;
        return;
    }
    tail.partial = text.substr(end + 1);
    text.resize(end + 1);
    std::size_t start = 0;
    if (replaced && !tail.last_line.empty()) {
        auto seen = text.rfind(tail.last_line + "\n");
        if (seen != std::string::npos) start = seen + tail.last_line.size() + 1;
    }
    for (std::size_t at = start; at < text.size();) {
        std::size_t nl = text.find('\n', at);
        std::string line = text.substr(at, nl - at);
        at = nl + 1;
        json event = json::parse(line, nullptr, false);
        if (!event.is_object()) continue;
        int64_t when = event.contains("at") && event["at"].is_number_integer() ? event["at"].get<int64_t>() : 0;
        if (since_ms_ > 0 && when < since_ms_) continue;
        // After a replacement whose newest delivered line is gone, the clock decides.
        if (replaced && start == 0 && !tail.last_line.empty() && when < tail.last_at) continue;
        Change change;
        change.name = tail.name;
        std::string kind = event.contains("event") && event["event"].is_string() ? event["event"].get<std::string>() : "";
        auto parsed = enum_parse(SHAREDSERVER_ENUM_CHANGE, kind);
        change.kind = parsed ? *parsed : SHAREDSERVER_CHANGE_OTHER;
        change.pid = event.contains("pid") && event["pid"].is_number_integer() ? event["pid"].get<pid_t>() : 0;
        change.at_ms = when;
        change.json = line;
        tail.last_line = line;
        tail.last_at = when;
        pending_.push_back(std::move(change));
    }
}

void ChangeWatch::read_all() {
    for (auto &[name, tail] : tails_) read_tail(tail);
    signal_pending();
}

void ChangeWatch::drain_inotify() {
    alignas(inotify_event) char buf[4096];
    bool new_files = false;
    for (ssize_t n; (n = ::read(inotify_fd_, buf, sizeof buf)) > 0;) {
        for (char *p = buf; p < buf + n;) {
            auto *event = reinterpret_cast<inotify_event *>(p);
            if (event->mask & (IN_CREATE | IN_MOVED_TO)) new_files = true;
            p += sizeof(inotify_event) + event->len;
        }
    }
    if (new_files && every_name_) discover_names(true);
}

void ChangeWatch::signal_pending() {
    uint64_t count = 0;
    if (pending_.empty()) {
        (void)::read(pending_fd_, &count, sizeof count);
    } else if (::read(pending_fd_, &count, sizeof count) < 0 || count == 0) {
        count = 1;
        (void)::write(pending_fd_, &count, sizeof count);
    } else {
        (void)::write(pending_fd_, &count, sizeof count);
    }
}

Result<std::optional<Change>> ChangeWatch::next(int64_t timeout_ms) {
    const int64_t deadline = timeout_ms < 0 ? -1 : monotonic_now_ms() + timeout_ms;
    while (true) {
        drain_inotify();
        if (pending_.empty()) read_all();
        if (!pending_.empty()) {
            Change change = std::move(pending_.front());
            pending_.pop_front();
            signal_pending();
            auto state = read_server_state(ServerFiles{dir_, change.name});
            change.state = state ? *state : SHAREDSERVER_CORRUPT;
            return change;
        }
        int64_t left = deadline < 0 ? -1 : deadline - monotonic_now_ms();
        if (deadline >= 0 && left <= 0) return std::optional<Change>{};
        pollfd p{inotify_fd_, POLLIN, 0};
        int waited = ::poll(&p, 1, left < 0 ? -1 : static_cast<int>(std::min<int64_t>(left, 60'000)));
        if (waited < 0 && errno != EINTR) return fail_errno(SHAREDSERVER_ERROR, "cannot wait for changes in", dir_, errno);
    }
}

}  // namespace sharedserver
