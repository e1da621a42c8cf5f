#include "run_with.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace cli {

namespace {

volatile sig_atomic_t child_pid = 0;

void forward(int sig) {
    if (child_pid > 0) ::kill(child_pid, sig);
}

// Releases what was attached, whatever happens after.
struct Held {
    sharedserver::Context &ctx;
    std::vector<std::string> names;
    ~Held() {
        for (auto it = names.rbegin(); it != names.rend(); ++it) {
            try {
                ctx.unuse(*it);
            } catch (const sharedserver::Error &e) {
                std::cerr << "sharedserver: warning: " << e.what() << "\n";
            }
        }
    }
};

}  // namespace

std::string env_name(const std::string &server) {
    std::string out;
    for (char c : server) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
    return out;
}

int run_with(sharedserver::Context &ctx, const std::optional<sharedserver::Project> &project,
             const std::vector<std::string> &names, const std::vector<std::string> &command) {
    // The signals to forward stay blocked until the child's pid is known: one
    // that came while we attached or spawned was lost (the handler had no
    // child yet), and `with` waited forever on a child nobody signalled.
    sigset_t forwarded, before;
    sigemptyset(&forwarded);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&forwarded, sig);
    ::sigprocmask(SIG_BLOCK, &forwarded, &before);
    struct Unblock {
        sigset_t mask;
        ~Unblock() { ::sigprocmask(SIG_SETMASK, &mask, nullptr); }
    } unblock{before};
    Held held{ctx, {}};
    std::vector<std::string> env;
    for (char **e = environ; e && *e; ++e) env.emplace_back(*e);
    for (const auto &name : names) {
        sharedserver::UseOptions options;
        if (project && project->defines(name)) options = project->use_options(name);
        options.metadata = "sharedserver with";
        auto result = ctx.use(name, options);  // this process is the client: if it dies, so do the references
        held.names.push_back(name);
        env.push_back("SHAREDSERVER_" + env_name(name) + "_PID=" + std::to_string(result.pid));
        if (result.port > 0) env.push_back("SHAREDSERVER_" + env_name(name) + "_PORT=" + std::to_string(result.port));
    }

    std::vector<char *> argv, envp;
    std::vector<std::string> args = command;
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto &e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    struct sigaction action {};
    action.sa_handler = forward;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(sig, &action, nullptr);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &before);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, argv[0], nullptr, &attr, argv.data(), envp.data());
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        std::cerr << "sharedserver: cannot run \"" << command.front() << "\": " << std::strerror(rc) << "\n";
        return 127;
    }
    child_pid = pid;
    ::sigprocmask(SIG_SETMASK, &before, nullptr);  // a signal that came meanwhile goes to the child now
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    child_pid = 0;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

}  // namespace cli
