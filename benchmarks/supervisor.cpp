#include "supervisor.hpp"

#include "child_processes.hpp"
#include "files.hpp"
#include "proc_sampling.hpp"
#include "timing.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <exception>
#include <sys/wait.h>
#include <unistd.h>

namespace bench {
namespace {

constexpr const char *token_variable = "SHAREDSERVER_BENCH_TOKEN";

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

bool carries(const std::string &environ_text, const std::string &needle) {
    std::size_t at = 0;
    while (at < environ_text.size()) {
        std::size_t z = environ_text.find('\0', at);
        if (z == std::string::npos) z = environ_text.size();
        if (environ_text.compare(at, z - at, needle) == 0) return true;
        at = z + 1;
    }
    return false;
}

// Kills, by pid, every process that still carries this run's token in its
// environment (servers, watchers, clients and tracers inherit it).
int sweep(const std::string &token, pid_t runner) {
    std::string needle = std::string(token_variable) + "=" + token;
    int total = 0;
    for (int round = 0; round < 100; ++round) {
        int found = 0;
        DIR *d = ::opendir("/proc");
        if (!d) return total;
        while (dirent *e = ::readdir(d)) {
            char *end = nullptr;
            long pid = std::strtol(e->d_name, &end, 10);
            if (*end || pid <= 1 || pid == ::getpid() || pid == runner) continue;
            if (carries(read_file("/proc/" + std::string(e->d_name) + "/environ"), needle) &&
                start_stamp(static_cast<pid_t>(pid))) {
                ::kill(static_cast<pid_t>(pid), SIGKILL);
                ++found;
            }
        }
        ::closedir(d);
        while (::waitpid(-1, nullptr, WNOHANG) > 0) {
        }
        if (!found) break;
        total += found;
        sleep_ms(20);
    }
    return total;
}

}  // namespace

int supervise(const std::string &root, const std::function<int()> &run) {
    ::setenv(token_variable, root.c_str(), 1);
    std::fflush(nullptr);
    pid_t runner = ::fork();
    if (runner < 0) {
        std::perror("bench_sharedserver: fork");
        remove_tree(root);
        return 1;
    }
    if (runner == 0) {
        int rc = 1;
        try {
            rc = run();
        } catch (const std::exception &e) {
            std::fprintf(stderr, "bench_sharedserver: %s\n", e.what());
        }
        kill_tracked();
        std::fflush(nullptr);
        ::_exit(rc);
    }

    struct sigaction sa {};
    sa.sa_handler = on_signal;
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
    int status = 0, rc = 1;
    while (true) {
        pid_t w = ::waitpid(runner, &status, 0);
        if (w == runner) {
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
            if (WIFSIGNALED(status)) std::fprintf(stderr, "bench_sharedserver: the runner died of signal %d\n", WTERMSIG(status));
            break;
        }
        if (w < 0 && errno != EINTR) break;
        if (w < 0 && g_signal) ::kill(runner, SIGKILL);  // then sweep what it left
    }
    int leftovers = sweep(root, runner);
    if (leftovers)
        std::fprintf(stderr, "bench_sharedserver: killed %d leftover process(es) of this run by pid\n", leftovers);
    remove_tree(root);
    if (g_signal) return 128 + g_signal;
    return rc;
}

}  // namespace bench
