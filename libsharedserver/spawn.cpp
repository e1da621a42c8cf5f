#include "spawn.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <dlfcn.h>
#include <link.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "names.hpp"
#include "ownership.hpp"

extern char **environ;

namespace sharedserver {

using nlohmann::json;

namespace {

constexpr int64_t report_timeout_ms = 15'000;

bool is_executable_file(const std::string &path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::string directory_of(const std::string &path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

// The directory of the file this code was loaded from: the shared library,
// or the program itself when it links the library statically (the CLI).
// For the program, dladdr names argv[0], which may be a bare name found on
// PATH; the kernel's /proc/self/exe is the file. A static program (the CLI
// is a static PIE) has no dynamic loader to ask: dladdr finds nothing there.
std::string loaded_library_directory() {
    Dl_info info{};
    link_map *map = nullptr;
    bool found = ::dladdr1(reinterpret_cast<void *>(&find_watcher_executable), &info, reinterpret_cast<void **>(&map),
                           RTLD_DL_LINKMAP) != 0;
    bool in_program = !found || (map && (!map->l_name || !*map->l_name));
    const char *file = in_program ? "/proc/self/exe" : info.dli_fname;
    if (!file) return {};
    char resolved[PATH_MAX];
    if (!::realpath(file, resolved)) return {};
    return directory_of(resolved);
}

// The channel to a new watcher: a socket pair, not pipes, because a write to
// a socket can be told not to raise SIGPIPE (MSG_NOSIGNAL). A watcher that
// could not start, or died early (a process limit), closed its end: a write
// to a pipe then killed the host process, a CLI exiting 141 with no message
// and its lock file left behind.
struct Channel {
    int ours = -1, theirs = -1;
    ~Channel() {
        if (ours >= 0) ::close(ours);
        if (theirs >= 0) ::close(theirs);
    }
};

Status make_channel(Channel &c) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        return fail_errno(SHAREDSERVER_ESPAWN, "cannot create a socket pair to talk to the watcher", "", errno);
    c.ours = fds[0];
    c.theirs = fds[1];
    return {};
}

bool send_all(int fd, const std::string &text) {
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// What a process limit looks like to fork and posix_spawn.
std::string limit_hint(int err) {
    return err == EAGAIN ? " (too many processes for this user? see `ulimit -u`)" : "";
}

// Reads one line from fd within the deadline; "" on EOF or timeout.
std::string read_report_line(int fd, int64_t deadline_ms) {
    std::string line;
    char buf[4096];
    while (line.find('\n') == std::string::npos) {
        int64_t left = deadline_ms - monotonic_now_ms();
        if (left <= 0) return {};
        pollfd p{fd, POLLIN, 0};
        int rc = ::poll(&p, 1, static_cast<int>(left));
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) return {};
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return line;
        line.append(buf, static_cast<std::size_t>(n));
    }
    return line.substr(0, line.find('\n'));
}

Result<SpawnedServer> run_watcher(const std::string &watcher_path, const ServerFiles &files,
                                  const std::vector<std::string> &mode_args, const std::string &request) {
    if (watcher_path.empty() || !is_executable_file(watcher_path))
        return fail(SHAREDSERVER_ESPAWN,
                    "cannot find the sharedserver-watcher executable" +
                        (watcher_path.empty() ? std::string() : " at " + quote(watcher_path)) +
                        ": reinstall sharedserver or set SHAREDSERVER_WATCHER to its path",
                    ENOENT, watcher_path);
    Channel channel;
    if (auto s = make_channel(channel); !s) return std::unexpected(s.error());

    std::vector<std::string> args = {watcher_path};
    args.insert(args.end(), mode_args.begin(), mode_args.end());
    args.insert(args.end(), {"--state-dir", files.dir, "--name", files.name});
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // A client running inside a server (its command runs `sharedserver use
    // other`) carries that server's identity; the new watcher and its server
    // must not, or they would be counted as that server's processes.
    std::vector<std::string> env;
    for (char **e = environ; e && *e; ++e)
        if (!is_identity_variable(*e)) env.emplace_back(*e);
    std::vector<char *> envp;
    for (auto &e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, channel.theirs, 0);
    posix_spawn_file_actions_adddup2(&actions, channel.theirs, 1);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t launcher = 0;
    int rc = ::posix_spawn(&launcher, watcher_path.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        Error error = fail_errno(SHAREDSERVER_ESPAWN, "cannot run", watcher_path, rc).error();
        error.message += limit_hint(rc);
        return std::unexpected(error);
    }
    ::close(channel.theirs);
    channel.theirs = -1;

    // The launcher forks the real watcher and exits at once; reap it so no
    // zombie is left in the host process.
    int launcher_status = 0;
    while (::waitpid(launcher, &launcher_status, 0) < 0 && errno == EINTR) {
    }

    // A watcher that failed to start may have reported why before it
    // closed its end: read the report even when the request found no reader.
    bool sent = send_all(channel.ours, request + "\n");
    std::string answer = read_report_line(channel.ours, monotonic_now_ms() + report_timeout_ms);
    if (answer.empty() && !sent)
        return fail(SHAREDSERVER_ESPAWN,
                    "sharedserver-watcher " + quote(watcher_path) + " exited before it read its request (" +
                        (WIFSIGNALED(launcher_status) ? "killed by signal " + std::to_string(WTERMSIG(launcher_status))
                                                      : "exit code " + std::to_string(WEXITSTATUS(launcher_status))) +
                        ")",
                    EPIPE, watcher_path);
    json reply = json::parse(answer, nullptr, false);
    if (reply.is_discarded() || !reply.is_object())
        return fail(SHAREDSERVER_ESPAWN,
                    "sharedserver-watcher " + quote(watcher_path) + " did not report back (" +
                        (answer.empty() ? std::string("no answer") : quote(answer)) + ")",
                    0, watcher_path);
    if (!reply.value("ok", false))
        return fail(reply.value("invalid", false) ? SHAREDSERVER_EINVALID : SHAREDSERVER_ESPAWN, reply.value("message", "the command could not be started"),
                    reply.value("errno", 0), reply.value("path", ""));
    SpawnedServer spawned;
    spawned.server = {reply.value("pid", 0), reply.value("start", uint64_t{0})};
    spawned.watcher = {reply.value("watcher_pid", 0), reply.value("watcher_start", uint64_t{0})};
    spawned.watcher_wakes_on_signal = reply.value("wake_signal", false);
    spawned.instance = reply.value("instance", std::string());
    spawned.handshake = Handshake(channel.ours);
    channel.ours = -1;
    return spawned;
}

}  // namespace

Handshake &Handshake::operator=(Handshake &&other) noexcept {
    if (this != &other) {
        close();
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

void Handshake::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void Handshake::say(const char *word) {
    if (fd_ >= 0) (void)send_all(fd_, std::string(word) + "\n");
    close();
}

void Handshake::claim() { say(handshake_claimed); }

void Handshake::abandon() { say(handshake_abandoned); }

std::string find_watcher_executable() {
    if (const char *env = std::getenv("SHAREDSERVER_WATCHER"); env && *env) return env;
    std::vector<std::string> candidates;
    if (std::string dir = loaded_library_directory(); !dir.empty()) {
        candidates.push_back(dir + "/sharedserver-watcher");              // build tree, Python wheel
        candidates.push_back(dir + "/../watcher/sharedserver-watcher");   // build tree, library in its own dir
        candidates.push_back(dir + "/../libexec/sharedserver-watcher");   // <prefix>/lib
        candidates.push_back(dir + "/../../libexec/sharedserver-watcher");  // <prefix>/lib/<multiarch>
    }
#ifdef SHAREDSERVER_LIBEXECDIR
    candidates.push_back(std::string(SHAREDSERVER_LIBEXECDIR) + "/sharedserver-watcher");
#endif
    for (const auto &candidate : candidates) {
        if (!is_executable_file(candidate)) continue;
        char resolved[PATH_MAX];
        return ::realpath(candidate.c_str(), resolved) ? std::string(resolved) : candidate;
    }
    return {};
}

Result<SpawnedServer> spawn_server(const std::string &watcher_path, const ServerFiles &files,
                                   const ServerSpec &spec) {
    json request = {{"command", spec.argv},
                    {"env", spec.env},
                    {"working_dir", spec.working_dir},
                    {"log_file", spec.log_file},
                    {"log_max_size", spec.log_max_size}};
    if (spec.ready.kind == SHAREDSERVER_PROBE_LOG) request["ready_log"] = spec.ready.target;
    if (!spec.depends_on.empty()) request["depends_on"] = spec.depends_on;
    return run_watcher(watcher_path, files, {"run"},
                       request.dump(-1, ' ', false, json::error_handler_t::replace));
}

Result<SpawnedServer> adopt_server(const std::string &watcher_path, const ServerFiles &files,
                                   const ProcessId &server, const std::string &instance) {
    json request = {{"pid", server.pid}, {"start", server.start}, {"instance", instance}};
    return run_watcher(watcher_path, files, {"adopt"}, request.dump());
}

}  // namespace sharedserver
