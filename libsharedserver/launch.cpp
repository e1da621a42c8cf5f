#include "launch.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_failure.hpp"
#include "names.hpp"

extern char **environ;

namespace sharedserver {

namespace {

// What the child writes back through the close-on-exec pipe when it fails.
struct ChildFailure {
    int stage;  // 0: exec, 1: chdir
    int err;
};

rlimit client_nofile{};
bool client_nofile_kept = false;

}  // namespace

void keep_limits_for_children() { client_nofile_kept = ::getrlimit(RLIMIT_NOFILE, &client_nofile) == 0; }

void restore_limits_in_child() {
    if (client_nofile_kept) (void)::setrlimit(RLIMIT_NOFILE, &client_nofile);
}

pid_t spawn_probe_command(const std::string &line, const std::vector<std::string> &env, const std::string &working_dir) {
    std::vector<std::string> env_copy = env;
    std::vector<char *> envp;
    for (auto &e : env_copy) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid != 0) return pid;
    int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setpgid(0, 0);
    restore_limits_in_child();
    if (::chdir(working_dir.c_str()) != 0) ::_exit(126);
    ::execle("/bin/sh", "sh", "-c", line.c_str(), static_cast<char *>(nullptr), envp.data());
    ::_exit(127);
}

std::vector<std::string> server_environment(const std::vector<std::string> &additions) {
    std::map<std::string, std::string> env;
    std::vector<std::string> order;
    auto put = [&](const std::string &entry) {
        auto eq = entry.find('=');
        if (eq == std::string::npos) return;
        std::string key = entry.substr(0, eq);
        if (!env.count(key)) order.push_back(key);
        env[key] = entry;
    };
    for (char **e = environ; e && *e; ++e) put(*e);
    for (const auto &entry : additions) put(entry);
    std::vector<std::string> out;
    for (const auto &key : order) out.push_back(env[key]);
    return out;
}

namespace {

std::string lookup(const std::vector<std::string> &env, const std::string &key) {
    for (const auto &entry : env)
        if (entry.size() > key.size() && entry.compare(0, key.size(), key) == 0 && entry[key.size()] == '=')
            return entry.substr(key.size() + 1);
    return {};
}

bool is_executable(const std::string &path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// A bare command is searched in the server's PATH, as a shell would.
Result<std::string> resolve_command(const std::string &command,
                                    const std::vector<std::string> &env, const std::string &working_dir) {
    if (command.find('/') != std::string::npos) {
        std::string path = command.front() == '/' ? command : working_dir + "/" + command;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0)
            return fail_errno(SHAREDSERVER_ESPAWN, "", command, errno);
        if (S_ISDIR(st.st_mode))
            return fail_errno(SHAREDSERVER_ESPAWN, "", command, EISDIR);
        if (::access(path.c_str(), X_OK) != 0)
            return fail_errno(SHAREDSERVER_ESPAWN, "", command, errno);
        return path;
    }
    std::string search = lookup(env, "PATH");
    if (search.empty()) search = "/usr/local/bin:/usr/bin:/bin";
    std::size_t begin = 0;
    while (begin <= search.size()) {
        std::size_t end = search.find(':', begin);
        if (end == std::string::npos) end = search.size();
        std::string dir = search.substr(begin, end - begin);
        if (dir.empty()) dir = working_dir;
        std::string candidate = dir + "/" + command;
        if (is_executable(candidate)) return candidate;
        begin = end + 1;
    }
    return fail(SHAREDSERVER_ESPAWN,
                command + ": command not found in PATH; give its full path or fix PATH",
                ENOENT, command);
}

[[noreturn]] void child_fail(int pipe_fd, int stage, int err) {
    ChildFailure failure{stage, err};
    ssize_t ignored = ::write(pipe_fd, &failure, sizeof failure);
    (void)ignored;
    ::_exit(127);
}

}  // namespace

Result<ProcessId> launch_server(const ServerSpec &spec, int output, const std::vector<std::string> &identity) {
    struct stat wd {};
    if (::stat(spec.working_dir.c_str(), &wd) != 0)
        return fail_errno(SHAREDSERVER_ESPAWN, "working directory", spec.working_dir, errno);
    if (!S_ISDIR(wd.st_mode))
        return fail_errno(SHAREDSERVER_ESPAWN, "working directory", spec.working_dir, ENOTDIR);

    std::vector<std::string> additions = spec.env;
    additions.insert(additions.end(), identity.begin(), identity.end());
    std::vector<std::string> env = server_environment(additions);
    auto path = resolve_command(spec.argv.front(), env, spec.working_dir);
    if (!path) return std::unexpected(path.error());

    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int report[2];
    if (null_fd < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
        int err = errno;
        if (null_fd >= 0) ::close(null_fd);
        return fail_errno(SHAREDSERVER_ESPAWN, "cannot open /dev/null or a pipe", "", err);
    }

    std::vector<char *> argv, envp;
    std::vector<std::string> args = spec.argv;
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto &e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) {
        int err = errno;
        ::close(null_fd);
        ::close(report[0]);
        ::close(report[1]);
        Error error = fail_errno(SHAREDSERVER_ESPAWN, "cannot fork the server", "", err).error();
        if (err == EAGAIN) error.message += " (too many processes for this user? see `ulimit -u`)";
        return std::unexpected(error);
    }
    if (pid == 0) {
        // Only async-signal-safe calls from here on.
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
        ::setpgid(0, 0);
        restore_limits_in_child();
        // The failure pipe moves to fd 3 so everything above it can be closed.
        int failure_fd = ::fcntl(report[1], F_DUPFD_CLOEXEC, 3);
        if (::dup2(null_fd, 0) < 0 || ::dup2(output, 1) < 0 || ::dup2(output, 2) < 0) child_fail(failure_fd, 0, errno);
        if (failure_fd != 3) {
            if (::dup3(failure_fd, 3, O_CLOEXEC) < 0) child_fail(failure_fd, 0, errno);
            failure_fd = 3;
        }
        ::syscall(SYS_close_range, 4U, ~0U, 0U);
        if (::chdir(spec.working_dir.c_str()) != 0) child_fail(failure_fd, 1, errno);
        ::execve(path->c_str(), argv.data(), envp.data());
        child_fail(failure_fd, 0, errno);
    }
    ::close(report[1]);
    ::close(null_fd);
    ChildFailure failure{};
    ssize_t n;
    do n = ::read(report[0], &failure, sizeof failure);
    while (n < 0 && errno == EINTR);
    ::close(report[0]);
    if (n == static_cast<ssize_t>(sizeof failure)) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (failure.stage == 1)
            return fail_errno(SHAREDSERVER_ESPAWN, "working directory", spec.working_dir, failure.err);
        return fail(SHAREDSERVER_ESPAWN, describe_exec_failure(spec.argv.front(), *path, failure.err), failure.err,
                    spec.argv.front());
    }
    auto start = process_start_stamp(pid);
    return ProcessId{pid, start.value_or(0)};
}

}  // namespace sharedserver
