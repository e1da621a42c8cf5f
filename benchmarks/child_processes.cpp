#include "child_processes.hpp"

#include "failure.hpp"
#include "proc_sampling.hpp"
#include "timing.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

extern char **environ;

namespace bench {
namespace {

std::vector<Tracked> g_tracked;

}  // namespace

pid_t spawn(const std::vector<std::string> &args, const std::string &out, const std::string &err,
            const std::vector<std::string> &extra_env, const std::string &cwd) {
    std::vector<char *> argv;
    for (const auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char *> envp;
    for (const auto &kv : extra_env) envp.push_back(const_cast<char *>(kv.c_str()));
    for (char **e = environ; *e; ++e) {
        bool overridden = false;
        for (const auto &kv : extra_env)
            if (std::strncmp(*e, kv.c_str(), kv.find('=') + 1) == 0) overridden = true;
        if (!overridden) envp.push_back(*e);
    }
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw Failure("cannot run " + args[0] + ": " + std::strerror(rc));
    return pid;
}

int wait_exit(pid_t pid, double *cpu_ms) {
    int status = 0;
    rusage ru{};
    while (::wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) return -1;
    if (cpu_ms)
        *cpu_ms = (static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                   static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Timed time_process(const std::vector<std::string> &args, const std::string &out,
                   const std::vector<std::string> &extra_env) {
    Timed t;
    auto t0 = Clock::now();
    pid_t pid = spawn(args, out, "/dev/null", extra_env);
    t.code = wait_exit(pid, &t.cpu_ms);
    t.ms = since_us(t0) / 1000.0;
    return t;
}

double time_ok(const std::vector<std::string> &args, double *cpu_ms, const std::string &out,
               const std::vector<std::string> &extra_env) {
    Timed t = time_process(args, out, extra_env);
    if (t.code != 0)
        throw Failure(args[0] + " " + (args.size() > 1 ? args[1] : "") + " exited " + std::to_string(t.code));
    if (cpu_ms) *cpu_ms = t.cpu_ms;
    return t.ms;
}

void track(pid_t pid, bool group) {
    if (pid <= 0) return;
    if (auto st = start_stamp(pid)) g_tracked.push_back({pid, *st, group});
}

bool is_same(const Tracked &t) {
    auto st = start_stamp(t.pid);
    return st && *st == t.start;
}

const std::vector<Tracked> &tracked() { return g_tracked; }

int kill_tracked() {
    int killed = 0;
    // Watchers first (so none restarts or reports anything), then server groups.
    for (int pass = 0; pass < 2; ++pass)
        for (const auto &t : g_tracked) {
            if (t.group != (pass == 1) || !is_same(t)) continue;
            ::kill(t.group ? -t.pid : t.pid, SIGKILL);
            ::kill(t.pid, SIGKILL);
            ++killed;
        }
    for (const auto &t : g_tracked) ::waitpid(t.pid, nullptr, WNOHANG);  // our own children
    wait_until(
        [] {
            bool any = false;
            for (const auto &t : g_tracked) {
                ::waitpid(t.pid, nullptr, WNOHANG);
                any = any || is_same(t);
            }
            return !any;
        },
        5000, 2);
    g_tracked.clear();
    return killed;
}

pid_t spawn_client() {
    pid_t pid = spawn({"sleep", "1000"});
    track(pid, false);
    return pid;
}

void kill_client(pid_t pid) {
    ::kill(pid, SIGKILL);
    wait_exit(pid);
}

}  // namespace bench
