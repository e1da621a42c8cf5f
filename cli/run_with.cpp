#include "run_with.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <sys/wait.h>
#include <unistd.h>

#include "definition.hpp"
#include "project_file.hpp"

namespace cli {

namespace {

volatile sig_atomic_t child_pid = 0;

// The child is ours and not yet reaped while child_pid is set, so its pid
// cannot have been handed to another process.
void forward(int sig) {
    if (child_pid > 0) ::kill(child_pid, sig);
}

// Releases what was attached, whatever happens after: the command's own
// references first, then this process's.
struct Held {
    sharedserver::Context &ctx;
    std::vector<std::string> names;
    pid_t command = 0;
    std::size_t command_holds = 0;  // how many of `names` the command holds too

    ~Held() {
        for (std::size_t i = command_holds; i-- > 0;) release(names[i], command, true);
        for (auto it = names.rbegin(); it != names.rend(); ++it) release(*it, 0, false);
    }

    void release(const std::string &name, pid_t pid, bool gone_is_fine) {
        try {
            ctx.unuse(name, pid);
        } catch (const sharedserver::Error &e) {
            // The watcher may have seen the command exit before we got here.
            if (gone_is_fine && e.code() == SHAREDSERVER_ENOTCLIENT) return;
            std::cerr << "sharedserver: warning: " << e.what() << "\n";
        }
    }
};

std::vector<char *> pointers(std::vector<std::string> &strings) {
    std::vector<char *> out;
    for (auto &s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

}  // namespace

std::string env_name(const std::string &server) {
    std::string out;
    for (char c : server) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
    return out;
}

int run_with(sharedserver::Context &ctx, const std::optional<sharedserver::Project> &project,
             const std::vector<std::string> &names, const std::vector<std::string> &command) {
    Held held{ctx, {}};
    std::vector<std::string> env;
    for (char **e = environ; e && *e; ++e) env.emplace_back(*e);
    for (const auto &name : names) {
        // The file's own definition (every key of it, depends_on too);
        // a name it does not define is attached to only.
        std::optional<Definition> def;
        if (project && project->defines(name)) def = Definition::of_project(project->path(), name);
        if (!def) def.emplace(nlohmann::json::object());
        auto result = use_definition(ctx, name, *def, Client{0, "sharedserver with", false});
        held.names.push_back(name);
        env.push_back("SHAREDSERVER_" + env_name(name) + "_PID=" + std::to_string(result.pid));
        if (result.port > 0) env.push_back("SHAREDSERVER_" + env_name(name) + "_PORT=" + std::to_string(result.port));
    }

    // The command is started held at its first instruction, and let go only
    // once it holds a reference to every server itself: `with` may then die,
    // even by SIGKILL, and the servers stay for as long as the command runs
    // (the watcher sees it exit). Killing the command when `with` dies
    // (PR_SET_PDEATHSIG) would keep the promise too, but would end a user's
    // long build for a reason that is none of its business.
    std::vector<std::string> args = command;
    std::vector<char *> argv = pointers(args), envp = pointers(env);
    // The signals to forward are blocked from the fork until the handler
    // knows the child: one that came in between was lost, and `with` waited
    // forever on a child nobody signalled. Not before: while `with` attaches
    // (and waits for readiness) Ctrl-C ends it at once, and the watchers
    // drop the references of a client that died.
    sigset_t forwarded, before;
    sigemptyset(&forwarded);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&forwarded, sig);
    ::sigprocmask(SIG_BLOCK, &forwarded, &before);
    struct Unblock {
        sigset_t mask;
        ~Unblock() { ::sigprocmask(SIG_SETMASK, &mask, nullptr); }
    } unblock{before};
    int go[2], failed[2];
    if (::pipe2(go, O_CLOEXEC) != 0 || ::pipe2(failed, O_CLOEXEC) != 0) {
        std::cerr << "sharedserver: cannot run \"" << command.front() << "\": " << std::strerror(errno) << "\n";
        return 127;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        std::cerr << "sharedserver: cannot run \"" << command.front() << "\": " << std::strerror(errno) << "\n";
        return 127;
    }
    if (pid == 0) {
        // Only async-signal-safe calls from here on.
        char byte = 0;
        ssize_t n;
        do n = ::read(go[0], &byte, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1) ::_exit(127);  // `with` died before the command held its servers: it never runs
        ::sigprocmask(SIG_SETMASK, &before, nullptr);
        ::execvpe(argv[0], argv.data(), envp.data());
        int err = errno;
        ssize_t ignored = ::write(failed[1], &err, sizeof err);
        (void)ignored;
        ::_exit(127);
    }
    ::close(go[0]);
    ::close(failed[1]);
    child_pid = pid;
    held.command = pid;
    try {
        for (const auto &name : held.names) {
            sharedserver::UseOptions options;
            options.client_pid = pid;
            options.no_wait = true;
            options.metadata = "sharedserver with: " + command.front();
            ctx.use(name, options);
            ++held.command_holds;
        }
    } catch (...) {
        child_pid = 0;
        ::kill(pid, SIGKILL);  // still held before its command: nothing of the user's has run
        ::waitpid(pid, nullptr, 0);
        ::close(go[1]);
        ::close(failed[0]);
        throw;
    }

    struct sigaction action {};
    action.sa_handler = forward;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(sig, &action, nullptr);

    char byte = 1;
    ssize_t written = ::write(go[1], &byte, 1);
    (void)written;
    ::close(go[1]);
    ::sigprocmask(SIG_SETMASK, &before, nullptr);  // a signal that came meanwhile goes to the command now
    int exec_error = 0;
    ssize_t n;
    do n = ::read(failed[0], &exec_error, sizeof exec_error);
    while (n < 0 && errno == EINTR);
    ::close(failed[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    child_pid = 0;
    if (n == static_cast<ssize_t>(sizeof exec_error)) {
        std::cerr << "sharedserver: cannot run \"" << command.front() << "\": " << std::strerror(exec_error) << "\n";
        return 127;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

}  // namespace cli
