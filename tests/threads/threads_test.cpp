// The C ABI called from many threads of one process at once, as the Python
// and Neovim hosts do: use/unuse/info/list/check/events/restart on a few
// names with distinct client pids (forked `sleep` children), on a shared
// context and on per-thread ones, while other threads provoke errors and
// check that sharedserver_error_last() is per thread. Built and run under
// TSan by tests/sanitize.sh; also a plain test in the `threads` suite.
//
// Checks: exactly one server starts per name; every use reports a live
// server and a refcount >= 1; at the end each name's clients are exactly the
// ones the owning threads left attached; each thread's last error is its own;
// nothing is left running.
#include <sharedserver/sharedserver.h>

#include <atomic>
#include <barrier>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

constexpr int thread_count = 8;
constexpr int iterations = 150;
const char *const names[] = {"alpha", "beta", "gamma"};
constexpr int name_count = 3;

std::atomic<int> failures{0};
std::atomic<int> restart_in_flight{0};  // readers may see the restart window; reported apart
std::mutex report_mutex;

void failure(const std::string &what) {
    std::lock_guard<std::mutex> lock(report_mutex);
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
    ++failures;
}

#define EXPECT(cond, what)                                                   \
    do {                                                                     \
        if (!(cond)) failure(std::string(what) + " [" #cond "] at line " + std::to_string(__LINE__)); \
    } while (0)

// A `sleep` to attach as a client (forked before any thread starts). Its
// stdio is /dev/null and it dies with this process: when a sanitizer report
// aborts the test, no sleeper keeps `meson test` waiting on the output pipe
// until the timeout, nor runs on (keeping servers alive) afterwards.
pid_t spawn_sleeper() {
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid != 0) return pid;  // -1 or the child's pid
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(null_fd, 1) < 0 || ::dup2(null_fd, 2) < 0) ::_exit(127);
    if (null_fd > 2) ::close(null_fd);
    ::execlp("sleep", "sleep", "1000", static_cast<char *>(nullptr));
    ::_exit(127);
}

bool pid_alive(int64_t pid) {
    if (pid <= 0) return false;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%lld/stat", static_cast<long long>(pid));
    FILE *f = std::fopen(path, "r");
    if (!f) return false;
    char buf[512] = {0};
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    const char *paren = std::strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

struct Shared {
    sharedserver_context *ctx = nullptr;
    std::vector<pid_t> clients;
    std::atomic<int> started[name_count] = {};
    std::atomic<int> restarts{0};
};

void worker(Shared &shared, int index, std::barrier<> &sync, std::map<int, bool> &attached) {
    std::mt19937 rng(static_cast<unsigned>(index) * 7919u + 17u);
    // Half the threads share the process-wide context, half open their own.
    sharedserver_context *own = nullptr;
    sharedserver_context *ctx = shared.ctx;
    if (index % 2 == 1) {
        if (sharedserver_context_open(&own, sharedserver_context_state_dir(shared.ctx)) != 0) {
            failure(std::string("context_open: ") + sharedserver_error_last());
            return;
        }
        ctx = own;
    }
    const int64_t client = shared.clients[static_cast<size_t>(index)];
    const char *argv[] = {"sleep", "1000"};
    const std::string my_bad_name = "bad/name-" + std::to_string(index);

    for (int i = 0; i < iterations; ++i) {
        int n = static_cast<int>(rng() % name_count);
        const char *name = names[n];
        switch (rng() % 9) {
            case 0:
            case 1:
            case 2: {
                sharedserver_use_options opts = SHAREDSERVER_USE_OPTIONS_INIT;
                opts.argv = argv;
                opts.argc = 2;
                opts.grace_period_ms = 60'000;  // nothing stops on its own during the test
                opts.client_pid = client;
                opts.metadata = "threads";
                sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
                int rc = sharedserver_use(&result, ctx, name, &opts);
                if (rc != 0) {
                    failure(std::string("use ") + name + ": " + sharedserver_error_last());
                    break;
                }
                EXPECT(std::strcmp(sharedserver_error_last(), "") == 0, "a success clears this thread's error");
                EXPECT(result.pid > 0, "use reports the server pid");
                EXPECT(result.refcount >= 1, "use reports a refcount >= 1");
                if (result.outcome == SHAREDSERVER_STARTED) ++shared.started[n];
                attached[n] = true;
                break;
            }
            case 3:
            case 4: {
                size_t left = 0;
                int rc = sharedserver_unuse(&left, ctx, name, client);
                if (attached[n]) {
                    EXPECT(rc == 0, std::string("unuse of an attached client: ") + sharedserver_error_last());
                } else {
                    EXPECT(rc == SHAREDSERVER_ENOTCLIENT || rc == SHAREDSERVER_ENOTRUNNING,
                           std::string("unuse of a detached client: ") + sharedserver_error_last());
                    EXPECT(std::strstr(sharedserver_error_last(), std::to_string(client).c_str()) ||
                               rc == SHAREDSERVER_ENOTRUNNING,
                           std::string("the error names this thread's pid: ") + sharedserver_error_last());
                }
                attached[n] = false;
                break;
            }
            case 5: {
                sharedserver_info *info = nullptr;
                if (sharedserver_info_get(&info, ctx, name) != 0) {
                    failure(std::string("info_get: ") + sharedserver_error_last());
                    break;
                }
                bool found = false;
                for (size_t c = 0; c < sharedserver_info_refcount(info); ++c) {
                    if (sharedserver_info_client_pid(info, c) == client) found = true;
                    EXPECT(sharedserver_info_client_metadata(info, c) != nullptr, "metadata of a client");
                }
                // Only this thread attaches `client`, so what info shows of it is exact,
                // even while `admin restart` runs (it keeps the clients).
                bool restarting = restart_in_flight.load() > 0;
                EXPECT(found == attached[n], std::string("info shows this thread's client as ") +
                                                 (found ? "attached" : "detached") + " on " + name +
                                                 (restarting ? " while a restart was in flight (state " +
                                                                   std::string(sharedserver_state_name(
                                                                       sharedserver_info_state(info))) + ")"
                                                             : std::string()));
                sharedserver_buf json = SHAREDSERVER_BUF_INIT;
                EXPECT(sharedserver_info_json(&json, info) == 0 && json.ptr && json.ptr[0] == '{', "info json");
                sharedserver_buf_dispose(&json);
                sharedserver_info_free(info);
                break;
            }
            case 6: {
                sharedserver_list *list = nullptr;
                if (sharedserver_list_get(&list, ctx) != 0) {
                    failure(std::string("list_get: ") + sharedserver_error_last());
                    break;
                }
                EXPECT(sharedserver_list_count(list) <= static_cast<size_t>(name_count), "list size");
                sharedserver_buf json = SHAREDSERVER_BUF_INIT;
                EXPECT(sharedserver_list_json(&json, list) == 0 && json.ptr && json.ptr[0] == '[', "list json");
                sharedserver_buf_dispose(&json);
                sharedserver_list_free(list);
                int state = -1;
                EXPECT(sharedserver_check(&state, ctx, name) == 0, std::string("check: ") + sharedserver_error_last());
                if (attached[n])
                    EXPECT(state == SHAREDSERVER_ACTIVE || state == SHAREDSERVER_STOPPING ||
                               state == SHAREDSERVER_STARTING,
                           std::string("check of a name this thread is attached to gave ") +
                               sharedserver_state_name(state) +
                               (restart_in_flight.load() > 0 ? " while a restart was in flight" : ""));
                break;
            }
            case 7: {
                // Errors are per thread: provoke one, let the others provoke theirs, check ours.
                EXPECT(sharedserver_name_validate(my_bad_name.c_str()) == SHAREDSERVER_EINVALID, "bad name refused");
                std::this_thread::yield();
                int64_t ms = 0;
                EXPECT(sharedserver_duration_parse(&ms, "90s") == 0 && ms == 90'000, "duration parse");
                EXPECT(std::strcmp(sharedserver_error_last(), "") == 0, "a success clears the error");
                EXPECT(sharedserver_name_validate(my_bad_name.c_str()) == SHAREDSERVER_EINVALID, "bad name refused");
                std::this_thread::yield();
                EXPECT(std::strstr(sharedserver_error_last(), my_bad_name.c_str()) != nullptr,
                       std::string("this thread's error names its own input, got: ") + sharedserver_error_last());
                EXPECT(sharedserver_error_last_code() == SHAREDSERVER_EINVALID, "error code per thread");
                break;
            }
            case 8: {
                sharedserver_buf events = SHAREDSERVER_BUF_INIT;
                EXPECT(sharedserver_events(&events, ctx, name) == 0, std::string("events: ") + sharedserver_error_last());
                sharedserver_buf_dispose(&events);
                sharedserver_buf text = SHAREDSERVER_BUF_INIT;
                EXPECT(sharedserver_duration_format(&text, 9'000'000) == 0 && std::strcmp(text.ptr, "2h30m") == 0,
                       "duration format");
                sharedserver_buf_dispose(&text);
                break;
            }
        }
    }

    // All threads at once: each sets a distinct error, waits for the others
    // to set theirs, then reads its own back.
    const std::string mine = "fixed/" + std::to_string(index);
    sync.arrive_and_wait();
    sharedserver_name_validate(mine.c_str());
    sync.arrive_and_wait();
    EXPECT(std::strstr(sharedserver_error_last(), mine.c_str()) != nullptr,
           std::string("after the barrier, this thread's error is still its own: ") + sharedserver_error_last());
    sharedserver_context_free(own);
}

void restarter(Shared &shared, std::atomic<bool> &done) {
    std::mt19937 rng(4242);
    if (std::getenv("THREADS_NO_RESTART")) return;
    while (!done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(40 + rng() % 60));
        const char *name = names[rng() % name_count];
        int64_t pid = 0;
        ++restart_in_flight;
        int rc = sharedserver_restart(&pid, shared.ctx, name);
        --restart_in_flight;
        if (rc == 0) {
            ++shared.restarts;
            EXPECT(pid > 0, "restart reports the new pid");
        } else {
            EXPECT(rc == SHAREDSERVER_ENOTRUNNING, std::string("restart: ") + sharedserver_error_last());
        }
    }
}

}  // namespace

int main() {
    char templ[] = "/tmp/sharedserver-threads-XXXXXX";
    if (!::mkdtemp(templ)) {
        std::perror("mkdtemp");
        return 1;
    }
    const std::string dir = templ;
    Shared shared;
    for (int i = 0; i < thread_count; ++i) {
        pid_t pid = spawn_sleeper();
        if (pid <= 0) {
            std::perror("spawn sleep");
            return 1;
        }
        shared.clients.push_back(pid);
    }
    if (sharedserver_context_open(&shared.ctx, dir.c_str()) != 0) {
        std::fprintf(stderr, "context_open: %s\n", sharedserver_error_last());
        return 1;
    }

    std::vector<std::map<int, bool>> attached(thread_count);
    {
        std::barrier<> sync(thread_count);
        std::atomic<bool> done{false};
        std::thread admin(restarter, std::ref(shared), std::ref(done));
        std::vector<std::thread> threads;
        for (int i = 0; i < thread_count; ++i)
            threads.emplace_back(worker, std::ref(shared), i, std::ref(sync), std::ref(attached[i]));
        for (auto &t : threads) t.join();
        done = true;
        admin.join();
    }

    // The final state: each name's clients are exactly those left attached.
    std::vector<int64_t> servers;
    for (int n = 0; n < name_count; ++n) {
        std::set<int64_t> expected, shown;
        for (int t = 0; t < thread_count; ++t)
            if (attached[t][n]) expected.insert(shared.clients[static_cast<size_t>(t)]);
        sharedserver_info *info = nullptr;
        if (sharedserver_info_get(&info, shared.ctx, names[n]) != 0) {
            failure(std::string("final info: ") + sharedserver_error_last());
            continue;
        }
        for (size_t c = 0; c < sharedserver_info_refcount(info); ++c) shown.insert(sharedserver_info_client_pid(info, c));
        EXPECT(shown == expected, std::string("final clients of ") + names[n] + ": " + std::to_string(shown.size()) +
                                      " shown, " + std::to_string(expected.size()) + " expected");
        EXPECT(shared.started[n].load() == 1,
               std::string("servers started for ") + names[n] + ": " + std::to_string(shared.started[n].load()));
        if (sharedserver_info_state(info) != SHAREDSERVER_STOPPED) servers.push_back(sharedserver_info_pid(info));
        sharedserver_info_free(info);
    }

    // Tear down: stop every name, then no server may be left.
    for (int n = 0; n < name_count; ++n) {
        sharedserver_stop_options stop = SHAREDSERVER_STOP_OPTIONS_INIT;
        stop.force = 1;
        int rc = sharedserver_stop(shared.ctx, names[n], &stop);
        EXPECT(rc == 0 || rc == SHAREDSERVER_ENOTRUNNING, std::string("stop: ") + sharedserver_error_last());
    }
    for (int64_t pid : servers) EXPECT(!pid_alive(pid), "a server outlived its stop");
    for (pid_t pid : shared.clients) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    sharedserver_context_free(shared.ctx);
    std::string cleanup = "rm -rf '" + dir + "'";
    if (std::system(cleanup.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());

    std::printf("threads: %d threads x %d operations on %d names, %d restarts; %d failure(s)\n", thread_count,
                iterations, name_count, shared.restarts.load(), failures.load());
    return failures.load() == 0 ? 0 : 1;
}
