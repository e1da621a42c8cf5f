// The benchmark suite (issues 2 and 7): what attaching (C API, LuaJIT ffi,
// Python, CLI), detaching, starting, becoming ready, noticing a dead client,
// stopping after the grace period, idling, listing 1000 servers, sustained
// attach/detach from 8 processes and 200 idle watchers cost.
//
//   build/benchmarks/bench_sharedserver [--json out.json] [--compare previous.json] [--quick]
//   meson test -C build --benchmark --verbose          (the same, via Meson)
//
// Every section runs in its own fresh state directory under one private temp
// directory. Everything the benchmark starts (servers, watchers, clients,
// strace) is killed by pid when the section ends; a supervisor process then
// sweeps for any leftover that still carries this run's environment token,
// kills it by pid and removes the temp directory, even when a section failed
// or crashed.
#include <sharedserver/sharedserver.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <poll.h>
#include <sstream>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

extern char **environ;

#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "benchmarks"
#endif

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char *token_variable = "SHAREDSERVER_BENCH_TOKEN";

// ---- options ---------------------------------------------------------------

struct Options {
    std::string cli;
    std::string watcher;
    std::string json_out;
    std::string compare;
    std::string tmpdir;  // where the private temp dir goes (the state dirs live in it)
    std::string scripts = BENCH_SOURCE_DIR;  // benchmarks/ of the source tree (attach.lua, attach.py)
    std::string python = "/usr/bin/python3";  // runs attach.py; must be the module's interpreter
    std::string python_path;                   // <build>/bindings/python: the build tree's package
    std::string luajit = "luajit";
    std::vector<std::string> only;  // empty: every section
    int api_batches = 5;
    int api_ops = 2000;            // per batch (also for the LuaJIT and Python attach)
    int cli_runs = 100;
    int start_runs = 30;
    int ready_runs = 15;
    int death_runs = 30;
    int grace_runs = 15;
    int64_t grace_ms = 200;
    int idle_seconds = 10;
    int servers = 1000;
    int list_runs = 30;
    int list_cli_runs = 20;
    int tp_procs = 8;
    int tp_reps = 5;
    int64_t tp_ms = 3000;          // length of one throughput repetition
    int watchers = 200;
    int watcher_idle_seconds = 5;  // the wake-up window of the 200 idle watchers
    bool strict = false;
};

[[noreturn]] void usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: bench_sharedserver [--json PATH] [--compare PREVIOUS.json] [--quick] [--strict]\n"
                 "                          [--only SECTION,...] [--servers N] [--watchers N] [--idle-seconds N]\n"
                 "                          [--grace-ms N] [--procs N] [--tmpdir DIR] [--cli PATH] [--watcher PATH]\n"
                 "                          [--python PATH] [--python-path DIR] [--luajit PATH] [--scripts DIR]\n"
                 "  --json PATH        also write the results as JSON to PATH\n"
                 "  --compare PATH     print the change of every median against an earlier --json file\n"
                 "                     (default: $SHAREDSERVER_BENCH_COMPARE when set)\n"
                 "  --quick            few runs, short windows, 50 servers (a smoke test, not numbers)\n"
                 "  --strict           exit 2 when a median misses its target\n"
                 "  --only LIST        sections: api,luajit,python,cli,start,death,grace,idle,list,throughput,watchers\n"
                 "  --servers N        servers of the list section (default 1000; list is also timed at 200)\n"
                 "  --watchers N       idle watchers of the memory section (default 200)\n"
                 "  --procs N          processes of the throughput section (default 8)\n"
                 "  --cli/--watcher    the executables (default: beside this one in the build tree)\n"
                 "  --python PATH      interpreter for attach.py (default /usr/bin/python3)\n"
                 "  --python-path DIR  where the build tree's Python package is (default <build>/bindings/python)\n"
                 "  --luajit PATH      LuaJIT for attach.lua (default: luajit on $PATH)\n"
                 "  --scripts DIR      the benchmarks/ source dir with attach.lua and attach.py\n"
                 "  --tmpdir DIR       where the private state dirs are made (default $XDG_RUNTIME_DIR, else /tmp)\n");
    std::exit(code);
}

std::string exe_dir() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return ".";
    std::string path(buf, static_cast<std::size_t>(n));
    return path.substr(0, path.rfind('/'));
}

Options parse_options(int argc, char **argv) {
    Options o;
    std::string build = exe_dir() + "/..";
    o.cli = build + "/cli/sharedserver";
    o.watcher = getenv("SHAREDSERVER_WATCHER") ? getenv("SHAREDSERVER_WATCHER") : build + "/watcher/sharedserver-watcher";
    o.python_path = build + "/bindings/python";
    if (const char *c = getenv("SHAREDSERVER_BENCH_COMPARE")) o.compare = c;
    // Where a real state dir would be: $XDG_RUNTIME_DIR (tmpfs on a desktop), else /tmp.
    o.tmpdir = getenv("XDG_RUNTIME_DIR") && *getenv("XDG_RUNTIME_DIR") ? getenv("XDG_RUNTIME_DIR") : "/tmp";
    auto value = [&](int &i) -> std::string {
        if (i + 1 >= argc) {
            std::fprintf(stderr, "bench_sharedserver: %s needs a value\n", argv[i]);
            usage(1);
        }
        return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") usage(0);
        else if (a == "--json") o.json_out = value(i);
        else if (a == "--compare") o.compare = value(i);
        else if (a == "--cli") o.cli = value(i);
        else if (a == "--watcher") o.watcher = value(i);
        else if (a == "--tmpdir") o.tmpdir = value(i);
        else if (a == "--servers") o.servers = std::stoi(value(i));
        else if (a == "--watchers") o.watchers = std::stoi(value(i));
        else if (a == "--procs") o.tp_procs = std::stoi(value(i));
        else if (a == "--python") o.python = value(i);
        else if (a == "--python-path") o.python_path = value(i);
        else if (a == "--luajit") o.luajit = value(i);
        else if (a == "--scripts") o.scripts = value(i);
        else if (a == "--idle-seconds") o.idle_seconds = std::stoi(value(i));
        else if (a == "--grace-ms") o.grace_ms = std::stoll(value(i));
        else if (a == "--strict") o.strict = true;
        else if (a == "--only") {
            std::stringstream ss(value(i));
            for (std::string s; std::getline(ss, s, ',');) o.only.push_back(s);
        } else if (a == "--quick") {
            o.api_batches = 3;
            o.api_ops = 300;
            o.cli_runs = 20;
            o.start_runs = 8;
            o.ready_runs = 4;
            o.death_runs = 8;
            o.grace_runs = 5;
            o.idle_seconds = 2;
            o.servers = 50;
            o.list_runs = 10;
            o.list_cli_runs = 5;
            o.tp_reps = 2;
            o.tp_ms = 1000;
            o.watchers = 50;
            o.watcher_idle_seconds = 2;
        } else {
            std::fprintf(stderr, "bench_sharedserver: unknown argument %s\n", a.c_str());
            usage(1);
        }
    }
    // The helper scripts run in their section's directory: make the paths absolute.
    for (std::string *path : {&o.python_path, &o.scripts})
        if (char *real = ::realpath(path->c_str(), nullptr)) {
            *path = real;
            std::free(real);
        }
    return o;
}

// ---- small utilities ---------------------------------------------------------

double since_us(Clock::time_point t0) {
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

int64_t unix_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// CPU time of the calling thread (user + system), in microseconds: unlike the
// wall clock it does not grow when other processes compete for the CPUs.
double thread_cpu_us() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

void sleep_ms(double ms) { std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(ms * 1000))); }

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void check(int rc, const std::string &what) {
    if (rc < 0) throw Failure(what + ": " + sharedserver_error_last() + " (code " + std::to_string(rc) + ")");
}

std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

bool exists(const std::string &path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

// Field 22 of /proc/<pid>/stat; nullopt when gone or a zombie.
std::optional<uint64_t> start_stamp(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    std::vector<std::string> fields;
    while (in >> field) fields.push_back(field);
    if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X") return std::nullopt;
    return std::stoull(fields[19]);
}

// /proc/<pid>/status "Key:   value" as a number (kB for the Vm/Rss lines).
int64_t status_field(pid_t pid, const std::string &key) {
    std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1));
    return -1;
}

// A "Key:   N kB" line of /proc/<pid>/smaps_rollup (Rss, Pss, Pss_Anon, ...), in kB.
int64_t smaps_field(pid_t pid, const std::string &key) {
    std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/smaps_rollup"));
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1));
    return -1;
}

int64_t io_field(pid_t pid, const std::string &key) {
    std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/io"));
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1));
    return -1;
}

// utime + stime in clock ticks.
int64_t cpu_ticks(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream in(stat.substr(close + 2));
    std::vector<std::string> f;
    for (std::string s; in >> s;) f.push_back(s);
    if (f.size() < 13) return -1;
    return std::stoll(f[11]) + std::stoll(f[12]);
}

// Time on the CPU in ns (first field of /proc/<pid>/schedstat): finer than the ticks.
int64_t cpu_ns(pid_t pid) {
    std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/schedstat"));
    int64_t ns = -1;
    in >> ns;
    return ns;
}

int64_t mono_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// posix_spawn with stdin/stdout/stderr on /dev/null (stdout to `out` if
// given), this environment plus `extra_env` ("K=V", overriding), in `cwd`.
pid_t spawn(const std::vector<std::string> &args, const std::string &out = "/dev/null",
            const std::string &err = "/dev/null", const std::vector<std::string> &extra_env = {},
            const std::string &cwd = "") {
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

// Waits for our child; its user + system CPU time (ms) goes to *cpu_ms.
int wait_exit(pid_t pid, double *cpu_ms = nullptr) {
    int status = 0;
    rusage ru{};
    while (::wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) return -1;
    if (cpu_ms)
        *cpu_ms = (static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                   static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// ---- statistics and results --------------------------------------------------

struct Stats {
    double median = 0, min = 0, max = 0, p90 = 0;
    std::size_t n = 0;
};

Stats stats(std::vector<double> v) {
    Stats s;
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    s.n = v.size();
    s.min = v.front();
    s.max = v.back();
    s.median = s.n % 2 ? v[s.n / 2] : (v[s.n / 2 - 1] + v[s.n / 2]) / 2;
    s.p90 = v[std::min(s.n - 1, static_cast<std::size_t>(0.9 * static_cast<double>(s.n)))];
    return s;
}

struct Row {
    std::string key;    // stable, for --compare
    std::string label;
    std::string unit;   // us, ms, calls, MiB, ...
    Stats s;
    std::optional<double> target;  // median <= target; nullopt: report only
    std::string target_text;       // printed in the target column
    json extra = json::object();
    bool at_least = false;         // the target is a floor (median >= target), e.g. throughput
};

std::vector<Row> g_rows;
json g_meta = json::object();
std::vector<std::string> g_errors;

void add_row(const std::string &key, const std::string &label, const std::string &unit, const std::vector<double> &samples,
             std::optional<double> target, json extra = json::object()) {
    Row r{key, label, unit, stats(samples), target, "", std::move(extra)};
    if (target) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "<= %g %s", *target, unit.c_str());
        r.target_text = buf;
    } else {
        r.target_text = "(report)";
    }
    g_rows.push_back(std::move(r));
    const Row &row = g_rows.back();
    std::fprintf(stderr, "  %-48s median %.3f %s (n=%zu)\n", row.label.c_str(), row.s.median, row.unit.c_str(), row.s.n);
}

// A row whose target is a floor: the median must reach it.
void add_row_at_least(const std::string &key, const std::string &label, const std::string &unit,
                      const std::vector<double> &samples, double target, json extra = json::object()) {
    add_row(key, label, unit, samples, target, std::move(extra));
    Row &r = g_rows.back();
    r.at_least = true;
    char buf[64];
    std::snprintf(buf, sizeof buf, ">= %g %s", target, unit.c_str());
    r.target_text = buf;
}

// The spread of the batch medians of a row: how noisy the machine was while it ran.
void note_noise(const std::string &key, const std::vector<double> &batch_medians) {
    Stats b = stats(batch_medians);
    g_meta["noise"][key] = {{"batch_medians", batch_medians},
                            {"spread_pct", b.min > 0 ? 100.0 * (b.max - b.min) / b.min : 0.0}};
}

std::vector<double> batch_medians(const std::vector<double> &samples, std::size_t per_batch) {
    std::vector<double> out;
    for (std::size_t i = 0; per_batch && i + per_batch <= samples.size(); i += per_batch)
        out.push_back(stats({samples.begin() + static_cast<std::ptrdiff_t>(i),
                             samples.begin() + static_cast<std::ptrdiff_t>(i + per_batch)})
                          .median);
    return out;
}

// ---- process bookkeeping -----------------------------------------------------

// Everything started in this run, for the kill by pid at the end of a section.
struct Tracked {
    pid_t pid;
    uint64_t start;
    bool group;  // kill the process group it leads (servers)
};
std::vector<Tracked> g_tracked;

void track(pid_t pid, bool group) {
    if (pid <= 0) return;
    if (auto st = start_stamp(pid)) g_tracked.push_back({pid, *st, group});
}

bool is_same(const Tracked &t) {
    auto st = start_stamp(t.pid);
    return st && *st == t.start;
}

// SIGKILL every tracked process that is still the one we started; waits until
// they are gone (or zombies of someone else). Returns how many were killed.
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
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < deadline) {
        bool any = false;
        for (const auto &t : g_tracked) {
            ::waitpid(t.pid, nullptr, WNOHANG);
            any = any || is_same(t);
        }
        if (!any) break;
        sleep_ms(2);
    }
    g_tracked.clear();
    return killed;
}

// A private state dir, a context on it, and $SHAREDSERVER_LOCKDIR for the CLI.
struct Section {
    std::string dir;
    sharedserver_context *ctx = nullptr;
    std::vector<std::string> names;

    Section(const std::string &root, const std::string &name) : dir(root + "/" + name) {
        if (::mkdir(dir.c_str(), 0700) != 0) throw Failure("cannot create " + dir + ": " + std::strerror(errno));
        ::setenv("SHAREDSERVER_LOCKDIR", dir.c_str(), 1);
        check(sharedserver_context_open(&ctx, dir.c_str()), "context_open " + dir);
    }
    ~Section() { finish(); }

    // The server's pid (its group) and its watcher's, for the kill by pid.
    void remember(const std::string &name) {
        names.push_back(name);
        sharedserver_info *info = nullptr;
        if (sharedserver_info_get(&info, ctx, name.c_str()) == 0) {
            track(static_cast<pid_t>(sharedserver_info_watcher_pid(info)), false);
            track(static_cast<pid_t>(sharedserver_info_pid(info)), true);
        }
        sharedserver_info_free(info);
    }

    void finish() {
        if (!ctx) return;
        kill_tracked();
        sharedserver_context_free(ctx);
        ctx = nullptr;
    }

    std::string path(const std::string &file) const { return dir + "/" + file; }
};

sharedserver_use_options use_options(const std::vector<const char *> *argv, int64_t grace_ms, int64_t client) {
    sharedserver_use_options o = SHAREDSERVER_USE_OPTIONS_INIT;
    if (argv) {
        o.argv = argv->data();
        o.argc = argv->size();
    }
    o.grace_period_ms = grace_ms;
    o.client_pid = client;
    return o;
}

const std::vector<const char *> sleep_argv = {"sleep", "1000"};

// A client process that only exists to be attached (and maybe killed).
pid_t spawn_client() {
    pid_t pid = spawn({"sleep", "1000"});
    track(pid, false);
    return pid;
}

void kill_client(pid_t pid) {
    ::kill(pid, SIGKILL);
    wait_exit(pid);
}

pid_t watcher_of(sharedserver_context *ctx, const std::string &name) {
    sharedserver_info *info = nullptr;
    check(sharedserver_info_get(&info, ctx, name.c_str()), "info " + name);
    pid_t w = static_cast<pid_t>(sharedserver_info_watcher_pid(info));
    sharedserver_info_free(info);
    return w;
}

// True once `watcher` holds a pidfd on `target` (it watches that client).
bool holds_pidfd(pid_t watcher, pid_t target) {
    std::string fds = "/proc/" + std::to_string(watcher) + "/fd";
    DIR *d = ::opendir(fds.c_str());
    if (!d) return false;
    bool found = false;
    while (dirent *e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        char link[256];
        ssize_t n = ::readlink((fds + "/" + e->d_name).c_str(), link, sizeof link - 1);
        if (n <= 0) continue;
        link[n] = 0;
        if (std::strstr(link, "pidfd") == nullptr) continue;
        std::string info = read_file("/proc/" + std::to_string(watcher) + "/fdinfo/" + e->d_name);
        if (info.find("Pid:\t" + std::to_string(target) + "\n") != std::string::npos) {
            found = true;
            break;
        }
    }
    ::closedir(d);
    return found;
}

// ---- section: C API attach ---------------------------------------------------

void bench_api(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[api] C API attach/detach of a running server, %d batches x %d ops\n", o.api_batches, o.api_ops);
    Section s(root, "api");
    // The server keeps another client, so every use below is a plain attach
    // (refcount 1 -> 2) and every unuse a plain detach (2 -> 1).
    pid_t holder = spawn_client();
    auto opts = use_options(&sleep_argv, 600'000, holder);
    check(sharedserver_use(nullptr, s.ctx, "api", &opts), "use api");
    s.remember("api");
    auto mine = use_options(nullptr, -1, 0);
    std::vector<double> use_us, use_cpu_us, unuse_us, pair_us, medians;
    for (int i = 0; i < 100; ++i) {  // warm-up: page cache, dentries, allocator
        check(sharedserver_use(nullptr, s.ctx, "api", &mine), "use");
        check(sharedserver_unuse(nullptr, s.ctx, "api", 0), "unuse");
    }
    for (int b = 0; b < o.api_batches; ++b) {
        std::vector<double> batch;
        for (int i = 0; i < o.api_ops; ++i) {
            sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
            double c0 = thread_cpu_us();
            auto t0 = Clock::now();
            int rc = sharedserver_use(&result, s.ctx, "api", &mine);
            double u = since_us(t0);
            use_cpu_us.push_back(thread_cpu_us() - c0);
            check(rc, "use api");
            auto t1 = Clock::now();
            check(sharedserver_unuse(nullptr, s.ctx, "api", 0), "unuse api");
            double d = since_us(t1);
            if (result.outcome != SHAREDSERVER_ATTACHED || result.refcount != 2)
                throw Failure("use api: expected a plain attach at refcount 2");
            use_us.push_back(u);
            unuse_us.push_back(d);
            pair_us.push_back(u + d);
            batch.push_back(u);
        }
        medians.push_back(stats(batch).median);
        std::fprintf(stderr, "  batch %d: attach median %.1f us\n", b + 1, medians.back());
    }
    add_row("api_attach", "attach, C API (use of a running server)", "us", use_us, 100.0,
            {{"batch_medians", medians}});
    add_row("api_attach_cpu", "  same, CPU time of the caller (load-independent)", "us", use_cpu_us, 100.0);
    add_row("api_detach", "detach, C API (unuse, refcount 2 -> 1)", "us", unuse_us, std::nullopt);
    add_row("api_pair", "use + unuse, C API (one operation)", "us", pair_us, std::nullopt);

    // Noise: the spread between the batch medians of the attach.
    note_noise("api_attach", medians);

    // Rescue: attaching to a server in its grace period (no other client).
    kill_client(holder);
    auto settle = Clock::now() + std::chrono::seconds(2);
    while (exists(s.path("api.clients.json")) && Clock::now() < settle) sleep_ms(1);
    std::vector<double> rescue_us;
    int rescue_ops = std::max(100, o.api_ops / 4);
    for (int i = 0; i < rescue_ops; ++i) {
        sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
        auto t0 = Clock::now();
        int rc = sharedserver_use(&result, s.ctx, "api", &mine);
        double u = since_us(t0);
        check(rc, "use api (rescue)");
        check(sharedserver_unuse(nullptr, s.ctx, "api", 0), "unuse api");
        if (result.outcome != SHAREDSERVER_RESCUED) throw Failure("use api: expected a rescue from grace");
        rescue_us.push_back(u);
    }
    add_row("api_rescue", "attach from grace, C API (rescue)", "us", rescue_us, std::nullopt);
}

// ---- sections: LuaJIT ffi and Python attach -----------------------------------

// Runs a helper script (attach.lua / attach.py) against a server that already
// has another client, like the C API section, and reads its JSON samples.
json run_attach_helper(Section &s, const std::string &name, const std::vector<std::string> &args,
                       const std::vector<std::string> &env) {
    pid_t holder = spawn_client();
    auto opts = use_options(&sleep_argv, 600'000, holder);
    check(sharedserver_use(nullptr, s.ctx, name.c_str(), &opts), "use " + name);
    s.remember(name);
    std::string out = s.dir + "/helper.out", err = s.dir + "/helper.err";
    // In the section's dir: a project file found by walking up would change what `use` does.
    pid_t pid = spawn(args, out, err, env, s.dir);
    track(pid, false);
    int code = wait_exit(pid);
    if (code != 0) throw Failure(args[0] + " " + args[1] + " exited " + std::to_string(code) + ": " + trim(read_file(err)));
    json r = json::parse(read_file(out), nullptr, false);
    if (!r.is_object() || !r.contains("attach_us")) throw Failure(args[1] + " printed no result: " + trim(read_file(err)));
    // The helper detached after every attach: only the holder is left.
    sharedserver_info *info = nullptr;
    check(sharedserver_info_get(&info, s.ctx, name.c_str()), "info " + name);
    std::size_t refs = sharedserver_info_refcount(info);
    sharedserver_info_free(info);
    if (refs != 1) g_errors.push_back(name + ": refcount " + std::to_string(refs) + " after the helper, expected 1");
    return r;
}

void bench_luajit(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[luajit] ffi.lua Context:use/unuse under plain luajit, %d batches x %d ops\n", o.api_batches,
                 o.api_ops);
    Section s(root, "luajit");
    std::string lua_dir = o.scripts + "/../bindings/nvim/lua";
    json r = run_attach_helper(s, "lj",
                               {o.luajit, o.scripts + "/attach.lua", lua_dir, "lj", std::to_string(o.api_batches),
                                std::to_string(o.api_ops)},
                               {std::string("SHAREDSERVER_LIB=") + sharedserver_library_path()});
    auto attach = r["attach_us"].get<std::vector<double>>();
    auto medians = batch_medians(attach, static_cast<std::size_t>(o.api_ops));
    add_row("luajit_attach", "attach, LuaJIT ffi (ffi.lua Context:use)", "us", attach, 100.0, {{"batch_medians", medians}});
    add_row("luajit_attach_cpu", "  same, CPU time of the caller", "us", r["attach_cpu_us"].get<std::vector<double>>(), 100.0);
    add_row("luajit_detach", "detach, LuaJIT ffi (Context:unuse)", "us", r["detach_us"].get<std::vector<double>>(),
            std::nullopt);
    add_row("luajit_load", "  LuaJIT: require + load() + open() of the library", "ms",
            {r["load_us"].get<double>() / 1000.0}, std::nullopt);
    note_noise("luajit_attach", medians);
}

void bench_python(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[python] sharedserver.use(name) -> Lease.release(), %d batches x %d ops\n", o.api_batches,
                 o.api_ops);
    bool built = false;
    if (DIR *d = ::opendir((o.python_path + "/sharedserver").c_str())) {
        while (dirent *e = ::readdir(d))
            if (std::strncmp(e->d_name, "_sharedserver", 13) == 0 && std::strstr(e->d_name, ".so")) built = true;
        ::closedir(d);
    }
    if (!built)
        throw Failure("the Python module is not built in " + o.python_path +
                      " (meson setup -Dpython=enabled; it needs pybind11 and /usr/bin/python3)");
    Section s(root, "python");
    const char *pp = getenv("PYTHONPATH");
    json r = run_attach_helper(s, "py",
                               {o.python, o.scripts + "/attach.py", "py", std::to_string(o.api_batches),
                                std::to_string(o.api_ops)},
                               {"PYTHONPATH=" + o.python_path + (pp && *pp ? std::string(":") + pp : "")});
    auto attach = r["attach_us"].get<std::vector<double>>();
    auto medians = batch_medians(attach, static_cast<std::size_t>(o.api_ops));
    add_row("python_attach", "attach, Python (sharedserver.use -> Lease)", "us", attach, 100.0,
            {{"batch_medians", medians}});
    add_row("python_attach_cpu", "  same, CPU time of the caller", "us", r["attach_cpu_us"].get<std::vector<double>>(),
            100.0);
    add_row("python_detach", "detach, Python (Lease.release)", "us", r["detach_us"].get<std::vector<double>>(),
            std::nullopt);
    add_row("python_import", "  Python: import sharedserver", "ms", {r["import_us"].get<double>() / 1000.0},
            std::nullopt);
    note_noise("python_attach", medians);
}

// ---- section: CLI attach -----------------------------------------------------

void bench_cli(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[cli] whole-process CLI attach, %d runs\n", o.cli_runs);
    Section s(root, "cli");
    pid_t holder = spawn_client();
    auto opts = use_options(&sleep_argv, 600'000, holder);
    check(sharedserver_use(nullptr, s.ctx, "cli", &opts), "use cli");
    s.remember("cli");

    double cpu = 0;
    auto time_run = [&](const std::vector<std::string> &args) {
        auto t0 = Clock::now();
        pid_t pid = spawn(args);
        int code = wait_exit(pid, &cpu);
        double ms = since_us(t0) / 1000.0;
        if (code != 0) throw Failure(args[0] + " " + (args.size() > 1 ? args[1] : "") + " exited " + std::to_string(code));
        return ms;
    };
    std::vector<double> use_ms, use_cpu_ms, over_floor_ms, unuse_ms, version_ms, version_cpu_ms, true_ms, true_cpu_ms;
    for (int i = 0; i < 5; ++i) {  // warm-up
        time_run({o.cli, "use", "cli"});
        time_run({o.cli, "unuse", "cli"});
    }
    for (int i = 0; i < o.cli_runs; ++i) {
        // `use` without --pid attaches its parent: this process.
        use_ms.push_back(time_run({o.cli, "use", "cli"}));
        use_cpu_ms.push_back(cpu);
        unuse_ms.push_back(time_run({o.cli, "unuse", "cli", "--pid", std::to_string(::getpid())}));
        version_ms.push_back(time_run({o.cli, "--version"}));
        version_cpu_ms.push_back(cpu);
        true_ms.push_back(time_run({"/bin/true"}));
        true_cpu_ms.push_back(cpu);
        over_floor_ms.push_back(use_ms.back() - true_ms.back());
    }
    add_row("cli_attach", "attach, CLI (`sharedserver use`, whole process)", "ms", use_ms, 3.0);
    add_row("cli_attach_cpu", "  same, CPU time of the process (rusage)", "ms", use_cpu_ms, 3.0);
    add_row("cli_attach_over_floor", "  same, minus /bin/true of the same round", "ms", over_floor_ms, std::nullopt);
    add_row("cli_detach", "detach, CLI (`sharedserver unuse`)", "ms", unuse_ms, std::nullopt);
    add_row("cli_version", "  reference: `sharedserver --version`", "ms", version_ms, std::nullopt);
    add_row("cli_version_cpu", "  reference: `sharedserver --version`, CPU time", "ms", version_cpu_ms, std::nullopt);
    add_row("spawn_true", "  reference: spawn+wait of /bin/true", "ms", true_ms, std::nullopt);
    add_row("spawn_true_cpu", "  reference: /bin/true, CPU time", "ms", true_cpu_ms, std::nullopt);
}

// ---- section: start -> running, and readiness ----------------------------------

// SIGKILL what `use` started (server group and watcher) and wait until both are gone.
void kill_and_wait(Section &s, const std::string &name, pid_t server, pid_t watcher) {
    check(sharedserver_kill(s.ctx, name.c_str()), "kill " + name);
    auto until = Clock::now() + std::chrono::seconds(5);
    while ((start_stamp(server) || start_stamp(watcher)) && Clock::now() < until) sleep_ms(0.5);
    if (start_stamp(server) || start_stamp(watcher)) throw Failure(name + ": server or watcher still alive after kill");
}

std::string self_exe() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

void bench_start(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[start] use of a stopped name until running: C API and CLI %d runs, readiness %d runs\n",
                 o.start_runs, o.ready_runs);
    Section s(root, "start");
    pid_t holder = spawn_client();

    // C API: `use` with a command until it returns (the watcher has spawned
    // the server, the records are written, the state is active).
    std::vector<double> api_ms, cli_ms;
    for (int run = 0; run < o.start_runs + 2; ++run) {
        auto opts = use_options(&sleep_argv, 600'000, holder);
        sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
        auto t0 = Clock::now();
        int rc = sharedserver_use(&result, s.ctx, "start", &opts);
        double ms = since_us(t0) / 1000.0;
        check(rc, "use start");
        s.remember("start");
        if (result.outcome != SHAREDSERVER_STARTED) throw Failure("use start: expected a fresh start");
        if (run >= 2) api_ms.push_back(ms);
        kill_and_wait(s, "start", static_cast<pid_t>(result.pid), watcher_of(s.ctx, "start"));
    }
    add_row("start_api", "start -> running, C API (use of a stopped name)", "ms", api_ms, std::nullopt);

    // CLI: the whole `sharedserver use --pid <client> <name> -- sleep 1000` process.
    for (int run = 0; run < o.start_runs + 2; ++run) {
        auto t0 = Clock::now();
        int code = wait_exit(spawn({o.cli, "use", "--pid", std::to_string(holder), "--grace-period", "10m", "start-cli",
                                    "--", "sleep", "1000"}));
        double ms = since_us(t0) / 1000.0;
        s.remember("start-cli");
        if (code != 0) throw Failure("sharedserver use start-cli exited " + std::to_string(code));
        if (run >= 2) cli_ms.push_back(ms);
        sharedserver_info *info = nullptr;
        check(sharedserver_info_get(&info, s.ctx, "start-cli"), "info start-cli");
        pid_t server = static_cast<pid_t>(sharedserver_info_pid(info));
        pid_t watcher = static_cast<pid_t>(sharedserver_info_watcher_pid(info));
        sharedserver_info_free(info);
        kill_and_wait(s, "start-cli", server, watcher);
    }
    add_row("start_cli", "start -> running, CLI (`sharedserver use -- cmd`)", "ms", cli_ms, std::nullopt);

    // Readiness (issue 5): a server (this program, --bench-serve) listens on
    // its allocated port after 300 ms and notes when listen() returned: from
    // then on the probe's connect succeeds, so this is at or before the first
    // accepted connection. `use` with a port probe blocks until ready.
    std::vector<double> ready_ms, probe_cpu_ms;
    std::string exe = self_exe();
    for (int run = 0; run < o.ready_runs; ++run) {
        std::string mark = s.dir + "/accepted-" + std::to_string(run);
        std::vector<const char *> argv = {exe.c_str(), "--bench-serve", mark.c_str(), "300"};
        auto opts = use_options(&argv, 600'000, holder);
        opts.port = SHAREDSERVER_PORT_AUTO;
        opts.ready_kind = SHAREDSERVER_PROBE_PORT;
        sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
        int rc = sharedserver_use(&result, s.ctx, "ready", &opts);
        int64_t returned = mono_ns();
        check(rc, "use ready");
        s.remember("ready");
        if (result.outcome != SHAREDSERVER_STARTED || !result.ready) throw Failure("use ready: expected a ready start");
        pid_t watcher = watcher_of(s.ctx, "ready");
        int64_t watcher_cpu = cpu_ns(watcher);
        // The server notes the time right after listen(); `use` may return before it wrote it.
        auto until = Clock::now() + std::chrono::seconds(2);
        while (!exists(mark) && Clock::now() < until) sleep_ms(1);
        std::string listening = read_file(mark);
        if (listening.empty()) throw Failure("ready: the server never noted that it listens");
        ready_ms.push_back(static_cast<double>(returned - std::stoll(listening)) / 1e6);
        probe_cpu_ms.push_back(static_cast<double>(watcher_cpu) / 1e6);
        kill_and_wait(s, "ready", static_cast<pid_t>(result.pid), watcher);
    }
    add_row("ready_latency", "ready: server listening -> use returned", "ms", ready_ms, 20.0,
            {{"probe", "port, auto port, default interval (10 ms)"}, {"server_listens_after_ms", 300}});
    add_row("ready_watcher_cpu", "  watcher CPU, spawn to ready (0.3 s, port probe)", "ms", probe_cpu_ms, std::nullopt);
}

// ---- section: client death -> grace -----------------------------------------

void bench_death(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[death] kill -9 of the only client -> clients.json removed, %d runs\n", o.death_runs);
    Section s(root, "death");
    int ino = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (ino < 0 || ::inotify_add_watch(ino, s.dir.c_str(), IN_DELETE) < 0) throw Failure("inotify on " + s.dir);
    const std::string target = "death.clients.json";
    std::vector<double> ms;
    int timeouts = 0;
    for (int run = 0; run < o.death_runs; ++run) {
        pid_t client = spawn_client();
        auto opts = use_options(&sleep_argv, 600'000, client);
        sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
        check(sharedserver_use(&result, s.ctx, "death", &opts), "use death");
        if (run == 0) s.remember("death");
        // Wait until the watcher has a pidfd on this client: then the kill
        // below is noticed through it, not found by a later resync.
        pid_t w = watcher_of(s.ctx, "death");
        auto until = Clock::now() + std::chrono::seconds(2);
        while (!holds_pidfd(w, client) && Clock::now() < until) sleep_ms(0.2);
        if (!holds_pidfd(w, client)) throw Failure("the watcher never watched client " + std::to_string(client));
        sleep_ms(5);
        char drain[4096];
        while (::read(ino, drain, sizeof drain) > 0) {
        }
        auto t0 = Clock::now();
        ::kill(client, SIGKILL);
        wait_exit(client);  // reaped at once, as a shell reaps a dead editor
        bool seen = false;
        while (!seen) {
            double left = 2000.0 - since_us(t0) / 1000.0;
            if (left <= 0) break;
            pollfd p{ino, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left) + 1) <= 0) continue;
            alignas(inotify_event) char buf[4096];
            ssize_t n = ::read(ino, buf, sizeof buf);
            for (char *q = buf; n > 0 && q < buf + n;) {
                auto *ev = reinterpret_cast<inotify_event *>(q);
                if (ev->len && target == ev->name) seen = true;
                q += sizeof(inotify_event) + ev->len;
            }
        }
        double d = since_us(t0) / 1000.0;
        if (!seen || exists(s.path(target))) {
            ++timeouts;
            continue;
        }
        ms.push_back(d);
    }
    ::close(ino);
    if (timeouts) g_errors.push_back(std::to_string(timeouts) + " client deaths were not noticed within 2 s");
    add_row("death_to_grace", "client kill -9 -> grace (clients.json gone)", "ms", ms, 50.0,
            {{"not_noticed_within_2s", timeouts}});
}

// ---- section: grace deadline -> server gone ----------------------------------

void bench_grace(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[grace] grace %" PRId64 " ms: deadline -> server exit/reaped/records gone, %d runs\n", o.grace_ms,
                 o.grace_runs);
    Section s(root, "grace");
    std::vector<double> exit_ms, reaped_ms, records_ms, early;
    for (int run = 0; run < o.grace_runs; ++run) {
        auto opts = use_options(&sleep_argv, o.grace_ms, 0);
        sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
        check(sharedserver_use(&result, s.ctx, "grace", &opts), "use grace");
        if (result.outcome != SHAREDSERVER_STARTED) throw Failure("use grace: expected a fresh start");
        s.remember("grace");
        pid_t server = static_cast<pid_t>(result.pid);
        pid_t watcher = watcher_of(s.ctx, "grace");
        int server_fd = pidfd_open(server), watcher_fd = pidfd_open(watcher);
        if (server_fd < 0 || watcher_fd < 0) throw Failure("pidfd_open of the server/watcher");
        auto until = Clock::now() + std::chrono::seconds(2);
        while (!holds_pidfd(watcher, ::getpid()) && Clock::now() < until) sleep_ms(0.2);
        check(sharedserver_unuse(nullptr, s.ctx, "grace", 0), "unuse grace");
        sharedserver_info *info = nullptr;
        check(sharedserver_info_get(&info, s.ctx, "grace"), "info grace");
        int64_t deadline_us = sharedserver_info_grace_deadline(info) * 1000;
        int state = sharedserver_info_state(info);
        sharedserver_info_free(info);
        if (state != SHAREDSERVER_GRACE || deadline_us <= 0) throw Failure("grace: the server is not in grace after unuse");
        pollfd p{server_fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(o.grace_ms) + 5000) != 1) throw Failure("grace: the server did not stop");
        int64_t exited = unix_us();
        // The watcher is its parent: it is gone for good once reaped.
        while (::kill(server, 0) == 0 && unix_us() - exited < 5'000'000) std::this_thread::yield();
        int64_t reaped = unix_us();
        while (exists(s.path("grace.server.json")) && unix_us() - exited < 5'000'000) std::this_thread::yield();
        int64_t records = unix_us();
        exit_ms.push_back((exited - deadline_us) / 1000.0);
        reaped_ms.push_back((reaped - deadline_us) / 1000.0);
        records_ms.push_back((records - deadline_us) / 1000.0);
        pollfd pw{watcher_fd, POLLIN, 0};
        ::poll(&pw, 1, 5000);  // the watcher exits too before the next run
        ::close(server_fd);
        ::close(watcher_fd);
    }
    json note = {{"grace_period_ms", o.grace_ms},
                 {"note", "deadline is stored in whole milliseconds: +-1 ms resolution"}};
    add_row("grace_to_exit", "grace deadline -> server exited (pidfd)", "ms", exit_ms, std::nullopt, note);
    add_row("grace_to_gone", "grace deadline -> server pid gone (reaped)", "ms", reaped_ms, std::nullopt, note);
    add_row("grace_to_records", "grace deadline -> server.json removed", "ms", records_ms, std::nullopt, note);
}

// ---- section: idle watcher -----------------------------------------------------

struct StraceResult {
    int64_t calls = -1;
    std::string detail;  // syscall:count,...
};

StraceResult parse_strace(const std::string &text) {
    StraceResult r;
    std::istringstream in(text);
    bool in_table = false;
    for (std::string line; std::getline(in, line);) {
        std::istringstream ls(line);
        std::vector<std::string> t;
        for (std::string w; ls >> w;) t.push_back(w);
        if (t.empty()) continue;
        if (t[0].rfind("------", 0) == 0) {
            in_table = true;
            continue;
        }
        if (!in_table || t.size() < 5) continue;
        // % time, seconds, usecs/call, calls, [errors], name
        if (t.back() == "total") {
            r.calls = std::stoll(t[3]);
        } else {
            r.detail += (r.detail.empty() ? "" : ",") + t.back() + ":" + t[3];
        }
    }
    if (r.calls < 0 && text.find("% time") != std::string::npos) r.calls = 0;
    return r;
}

void bench_idle(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[idle] two idle watchers (active, grace): %d s unobserved, then %d s under strace -c\n",
                 o.idle_seconds, o.idle_seconds);
    Section s(root, "idle");
    pid_t holder = spawn_client();
    auto opts = use_options(&sleep_argv, 600'000, holder);
    check(sharedserver_use(nullptr, s.ctx, "idle-active", &opts), "use idle-active");
    s.remember("idle-active");
    int64_t ignored = 0;
    check(sharedserver_start(&ignored, s.ctx, "idle-grace", &opts), "start idle-grace");
    s.remember("idle-grace");
    std::map<std::string, pid_t> watchers = {{"active", watcher_of(s.ctx, "idle-active")},
                                             {"grace", watcher_of(s.ctx, "idle-grace")}};
    auto until = Clock::now() + std::chrono::seconds(2);
    while (!holds_pidfd(watchers["active"], holder) && Clock::now() < until) sleep_ms(1);
    sleep_ms(500);

    // Window 1, nobody attached to the watchers: context switches, CPU, read/write calls.
    std::map<std::string, std::vector<int64_t>> before;
    auto sample = [](pid_t w) {
        return std::vector<int64_t>{status_field(w, "voluntary_ctxt_switches") + status_field(w, "nonvoluntary_ctxt_switches"),
                                    cpu_ticks(w), io_field(w, "syscr") + io_field(w, "syscw")};
    };
    for (auto &[k, w] : watchers) before[k] = sample(w);
    sleep_ms(o.idle_seconds * 1000.0);
    for (auto &[k, w] : watchers) {
        auto after = sample(w);
        add_row("watcher_ctxsw_" + k, "watcher idle " + std::to_string(o.idle_seconds) + " s (" + k + "): context switches",
                "count", {static_cast<double>(after[0] - before[k][0])}, 0.0,
                {{"cpu_ticks", after[1] - before[k][1]}, {"read_write_syscalls", after[2] - before[k][2]}});
    }

    // Window 2: strace -f -c on each watcher.
    std::map<std::string, pid_t> tracers;
    std::map<std::string, std::string> outputs;
    bool have_strace = ::access("/usr/bin/strace", X_OK) == 0;
    if (have_strace) {
        for (auto &[k, w] : watchers) {
            outputs[k] = s.dir + "/strace-" + k + ".txt";
            tracers[k] = spawn({"/usr/bin/strace", "-f", "-c", "-o", outputs[k], "-p", std::to_string(w)}, "/dev/null",
                               outputs[k] + ".err");
            track(tracers[k], false);
        }
        sleep_ms(o.idle_seconds * 1000.0);
        for (auto &[k, pid] : tracers) ::kill(pid, SIGINT);
        for (auto &[k, pid] : tracers) wait_exit(pid);
        for (auto &[k, w] : watchers) {
            StraceResult r = parse_strace(read_file(outputs[k]));
            std::string err = read_file(outputs[k] + ".err");
            // strace -c prints no table at all when it saw no system call.
            if (r.calls < 0 && err.find(" attached") != std::string::npos) r.calls = 0;
            if (r.calls < 0) {
                g_errors.push_back("strace of the " + k + " watcher failed: " + trim(err));
                continue;
            }
            add_row("watcher_syscalls_" + k,
                    "watcher idle " + std::to_string(o.idle_seconds) + " s (" + k + "): syscalls (strace -c)", "calls",
                    {static_cast<double>(r.calls)}, 0.0, {{"syscalls", r.detail}});
        }
    } else {
        g_errors.push_back("strace is not installed (apt-get install strace): the syscall count is missing");
    }

    for (auto &[k, w] : watchers) {
        double rss = status_field(w, "VmRSS") / 1024.0;
        add_row("watcher_rss_" + k, "watcher RSS (" + k + ", VmRSS)", "MiB", {rss}, 4.0,
                {{"RssAnon_kB", status_field(w, "RssAnon")},
                 {"RssFile_kB", status_field(w, "RssFile")},
                 {"RssShmem_kB", status_field(w, "RssShmem")}});
    }
}

// ---- section: list over many servers -------------------------------------------

void bench_list(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[list] %d servers started with admin start (C API), then list\n", o.servers);
    Section s(root, "list");
    auto opts = use_options(&sleep_argv, 600'000, 0);
    std::vector<double> start_ms;
    std::vector<std::pair<pid_t, pid_t>> pids;  // server, watcher

    // list over the `count` servers running now: in-process, and the CLI as a process.
    auto measure = [&](int count) {
        std::string label = std::to_string(count) + " servers";
        std::string suffix = count == 200 ? "" : "_" + std::to_string(count);  // "list_api" is the issue-2 row
        std::vector<double> api_ms;
        for (int i = 0; i < o.list_runs + 3; ++i) {
            sharedserver_list *list = nullptr;
            auto t0 = Clock::now();
            int rc = sharedserver_list_get(&list, s.ctx);
            std::size_t n = rc == 0 ? sharedserver_list_count(list) : 0;
            sharedserver_list_free(list);
            double ms = since_us(t0) / 1000.0;
            check(rc, "list_get");
            if (n != static_cast<std::size_t>(count))
                throw Failure("list_get saw " + std::to_string(n) + " servers, expected " + std::to_string(count));
            if (i >= 3) api_ms.push_back(ms);
        }
        add_row("list_api" + suffix, "list, C API (list_get + free), " + label, "ms", api_ms, 50.0);
        auto time_cli = [&](std::vector<std::string> args, int runs) {
            std::vector<double> v;
            std::string out = s.dir + "/list-out.txt";
            for (int i = 0; i < runs + 2; ++i) {
                auto t0 = Clock::now();
                int code = wait_exit(spawn(args, out));
                double ms = since_us(t0) / 1000.0;
                if (code != 0) throw Failure("sharedserver list exited " + std::to_string(code));
                if (i >= 2) v.push_back(ms);
            }
            return v;
        };
        add_row("list_cli" + suffix, "list, CLI (`sharedserver list`), " + label, "ms",
                time_cli({o.cli, "list"}, o.list_cli_runs), 50.0);
        add_row("list_cli_json" + suffix, "list, CLI (`sharedserver list --json`), " + label, "ms",
                time_cli({o.cli, "list", "--json"}, o.list_cli_runs), 50.0);
        // Sanity: the CLI saw every server.
        std::istringstream names(read_file(s.dir + "/list-out.txt"));
        json listed = json::parse(names, nullptr, false);
        if (!listed.is_array() || listed.size() != static_cast<std::size_t>(count))
            g_errors.push_back("`sharedserver list --json` did not list " + std::to_string(count) + " servers");
    };

    for (int i = 0; i < o.servers; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "list-%04d", i);
        int64_t pid = 0;
        auto t0 = Clock::now();
        check(sharedserver_start(&pid, s.ctx, name, &opts), std::string("start ") + name);
        start_ms.push_back(since_us(t0) / 1000.0);
        s.remember(name);
        pids.emplace_back(static_cast<pid_t>(pid), watcher_of(s.ctx, name));
        if (i + 1 == 200 && o.servers > 200) {  // the issue-2 size on the way
            sleep_ms(300);
            measure(200);
        }
    }
    sleep_ms(300);
    auto first = std::vector<double>(start_ms.begin(), start_ms.begin() + std::min<std::size_t>(10, start_ms.size()));
    auto last = std::vector<double>(start_ms.end() - std::min<std::size_t>(10, start_ms.size()), start_ms.end());
    add_row("admin_start", "admin start, C API (spawn; per server)", "ms", start_ms, std::nullopt,
            {{"first10_median_ms", stats(first).median}, {"last10_median_ms", stats(last).median}});
    measure(o.servers);

    // Attach next to many servers: every watcher watches the whole state
    // directory, so count how often an unrelated idle watcher wakes up.
    {
        pid_t other = pids.size() > 1 ? pids[1].second : 0;
        int64_t before = other ? status_field(other, "voluntary_ctxt_switches") : -1;
        auto mine = use_options(nullptr, -1, 0);
        std::vector<double> attach_us;
        const int ops = 200;
        for (int i = 0; i < ops; ++i) {
            auto t0 = Clock::now();
            int rc = sharedserver_use(nullptr, s.ctx, "list-0000", &mine);
            attach_us.push_back(since_us(t0));
            check(rc, "use list-0000");
            check(sharedserver_unuse(nullptr, s.ctx, "list-0000", 0), "unuse list-0000");
        }
        int64_t after = other && start_stamp(other) ? status_field(other, "voluntary_ctxt_switches") : -1;
        add_row("list_dir_attach", "attach, C API, next to " + std::to_string(o.servers) + " servers (rescue)", "us",
                attach_us, std::nullopt);
        if (before >= 0 && after >= 0)
            add_row("unrelated_wakeups", "wakeups of an unrelated watcher per use+unuse", "count",
                    {static_cast<double>(after - before) / ops}, 0.0, {{"ops", ops}, {"context_switches", after - before}});
    }

    // Every server and watcher should still be there.
    int servers_alive = 0, watchers_alive = 0;
    for (const auto &t : g_tracked) (t.group ? servers_alive : watchers_alive) += is_same(t) ? 1 : 0;
    std::fprintf(stderr, "  alive before the kill: %d servers, %d watchers (tracked %zu)\n", servers_alive,
                 watchers_alive, g_tracked.size());
    if (servers_alive != o.servers || watchers_alive != o.servers) {
        // Why: the event log of the first server whose watcher is gone.
        std::string why;
        for (int i = 0; i < o.servers && why.empty(); ++i) {
            char name[32];
            std::snprintf(name, sizeof name, "list-%04d", i);
            pid_t w = pids[static_cast<std::size_t>(i)].second;
            if (::kill(w, 0) == 0 && start_stamp(w)) continue;
            sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
            if (sharedserver_events(&buf, s.ctx, name) == 0 && buf.ptr) {
                std::istringstream lines(buf.ptr);
                for (std::string line; std::getline(lines, line);)
                    if (line.find("watcher") != std::string::npos && line.find("fail") != std::string::npos)
                        why = std::string(name) + ": " + line;
            }
            sharedserver_buf_dispose(&buf);
        }
        g_errors.push_back("list: only " + std::to_string(servers_alive) + " servers and " +
                           std::to_string(watchers_alive) + " watchers of " + std::to_string(o.servers) +
                           " were alive before the kill (fs.inotify.max_user_instances = " +
                           trim(read_file("/proc/sys/fs/inotify/max_user_instances")) + ")" +
                           (why.empty() ? "" : "; " + why));
    }

    // Stop all of them by pid: watchers, then the server process groups.
    auto t0 = Clock::now();
    int killed = kill_tracked();
    double ms = since_us(t0) / 1000.0;
    std::fprintf(stderr, "  killed %d processes of %d servers by pid in %.1f ms\n", killed, o.servers, ms);
}

// ---- section: sustained attach/detach throughput --------------------------------

// One worker process (bench_sharedserver --throughput-worker): from `start`
// (CLOCK_MONOTONIC ns) for `ms`, loops use + unuse of `name` for itself
// through the C API; prints "<transactions> <errors> <median us> <p99 us>
// <late us> <CPU us in the window> <first error>".
int throughput_worker(int argc, char **argv) {
    if (argc != 6) return 64;
    std::string dir = argv[2], name = argv[3];
    int64_t start = std::stoll(argv[4]), duration_ns = std::stoll(argv[5]) * 1'000'000;
    sharedserver_context *ctx = nullptr;
    if (sharedserver_context_open(&ctx, dir.c_str()) != 0) {
        std::printf("0 1 0 0 0 context_open: %s\n", sharedserver_error_last());
        return 1;
    }
    auto mine = use_options(nullptr, -1, 0);
    for (int i = 0; i < 20; ++i) {  // warm-up, before the window
        if (sharedserver_use(nullptr, ctx, name.c_str(), &mine) == 0) sharedserver_unuse(nullptr, ctx, name.c_str(), 0);
    }
    timespec at{static_cast<time_t>(start / 1'000'000'000), static_cast<long>(start % 1'000'000'000)};
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) == EINTR) {
    }
    int64_t late = mono_ns() - start, end = start + duration_ns;
    auto process_cpu_us = [] {
        timespec ts{};
        ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
    };
    double cpu0 = process_cpu_us();
    long tx = 0, errors = 0;
    std::string first_error;
    std::vector<double> lat;
    lat.reserve(100000);
    auto fail = [&](const char *what, int rc) {
        ++errors;
        if (first_error.empty()) first_error = std::string(what) + " rc " + std::to_string(rc) + ": " + sharedserver_error_last();
    };
    for (int64_t now = mono_ns(); now < end; now = mono_ns()) {
        int rc = sharedserver_use(nullptr, ctx, name.c_str(), &mine);
        int64_t t1 = mono_ns();
        if (rc != 0) {
            fail("use", rc);
            continue;
        }
        lat.push_back(static_cast<double>(t1 - now) / 1e3);
        ++tx;
        rc = sharedserver_unuse(nullptr, ctx, name.c_str(), 0);
        if (rc < 0) fail("unuse", rc);
        else ++tx;
    }
    double cpu = process_cpu_us() - cpu0;
    sharedserver_context_free(ctx);
    Stats st = stats(lat);
    double p99 = lat.empty() ? 0 : [&] {
        std::sort(lat.begin(), lat.end());
        return lat[std::min(lat.size() - 1, lat.size() * 99 / 100)];
    }();
    std::printf("%ld %ld %.1f %.1f %.1f %.0f %s\n", tx, errors, st.median, p99, static_cast<double>(late) / 1e3, cpu,
                first_error.c_str());
    return 0;
}

void bench_throughput(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[throughput] %d processes x use+unuse loop, %d x %.1f s, on one name and on %d names\n",
                 o.tp_procs, o.tp_reps, static_cast<double>(o.tp_ms) / 1000, o.tp_procs);
    Section s(root, "throughput");
    std::string exe = self_exe();
    // Every name keeps one other client, so the workers attach (1 -> 2 ...)
    // and detach without ever starting or stopping the server.
    auto prepare = [&](const std::string &name) {
        pid_t holder = spawn_client();
        auto opts = use_options(&sleep_argv, 600'000, holder);
        check(sharedserver_use(nullptr, s.ctx, name.c_str(), &opts), "use " + name);
        s.remember(name);
    };
    auto variant = [&](const std::string &key, const std::string &label, bool shared) {
        std::vector<std::string> names;
        for (int i = 0; i < o.tp_procs; ++i) names.push_back(shared ? "tp" : "tp-" + std::to_string(i));
        std::vector<pid_t> watchers;
        for (int i = 0; i < (shared ? 1 : o.tp_procs); ++i) {
            prepare(names[static_cast<std::size_t>(i)]);
            watchers.push_back(watcher_of(s.ctx, names[static_cast<std::size_t>(i)]));
        }
        auto watchers_cpu_ns = [&] {
            int64_t sum = 0;
            for (pid_t w : watchers) sum += std::max<int64_t>(0, cpu_ns(w));
            return sum;
        };
        // Where the CPU goes: the workers (in their window) and the watchers (schedstat), per 1000 transactions.
        std::vector<double> worker_cpu_per_ktx, watcher_cpu_per_ktx;
        std::vector<double> tps, medians_us, p99s_us;
        long total_errors = 0;
        std::string first_error;
        for (int rep = 0; rep < o.tp_reps; ++rep) {
            int64_t start = mono_ns() + 300'000'000 + 30'000'000LL * o.tp_procs;
            std::vector<std::pair<pid_t, std::string>> workers;
            for (int i = 0; i < o.tp_procs; ++i) {
                std::string out = s.dir + "/worker-" + std::to_string(i) + ".out";
                pid_t pid = spawn({exe, "--throughput-worker", s.dir, names[static_cast<std::size_t>(i)],
                                   std::to_string(start), std::to_string(o.tp_ms)},
                                  out, out + ".err");
                track(pid, false);
                workers.emplace_back(pid, out);
            }
            int64_t watchers_before = watchers_cpu_ns();
            long tx = 0, errors = 0;
            double late_max = 0, workers_cpu_ms = 0;
            std::vector<double> worker_medians, worker_p99;
            for (auto &[pid, out] : workers) {
                int code = wait_exit(pid);
                std::istringstream in(read_file(out));
                long t = 0, e = 0;
                double med = 0, p99 = 0, late = 0, cpu_us = 0;
                if (code != 0 || !(in >> t >> e >> med >> p99 >> late >> cpu_us)) {
                    ++errors;
                    if (first_error.empty()) first_error = "worker exited " + std::to_string(code) + ": " + trim(read_file(out + ".err"));
                    continue;
                }
                std::string msg;
                std::getline(in, msg);
                if (e && first_error.empty()) first_error = trim(msg);
                tx += t;
                errors += e;
                workers_cpu_ms += cpu_us / 1000.0;
                worker_medians.push_back(med);
                worker_p99.push_back(p99);
                late_max = std::max(late_max, late);
            }
            double rate = static_cast<double>(tx) / (static_cast<double>(o.tp_ms) / 1000.0);
            double watchers_cpu_ms = static_cast<double>(watchers_cpu_ns() - watchers_before) / 1e6;
            if (tx > 0) {
                worker_cpu_per_ktx.push_back(workers_cpu_ms * 1000.0 / static_cast<double>(tx));
                watcher_cpu_per_ktx.push_back(watchers_cpu_ms * 1000.0 / static_cast<double>(tx));
            }
            tps.push_back(rate);
            medians_us.push_back(stats(worker_medians).median);
            p99s_us.push_back(stats(worker_p99).max);
            total_errors += errors;
            std::fprintf(stderr, "  %s rep %d: %.0f tx/s, %ld errors, use median %.0f us, worst p99 %.0f us, latest start +%.1f ms\n",
                         key.c_str(), rep + 1, rate, errors, medians_us.back(), p99s_us.back(), late_max / 1000);
            // No reference may be lost or left behind: only the holders remain.
            for (int i = 0; i < (shared ? 1 : o.tp_procs); ++i) {
                const std::string &n = names[static_cast<std::size_t>(i)];
                sharedserver_info *info = nullptr;
                check(sharedserver_info_get(&info, s.ctx, n.c_str()), "info " + n);
                std::size_t refs = sharedserver_info_refcount(info);
                int state = sharedserver_info_state(info);
                sharedserver_info_free(info);
                if (refs != 1 || state != SHAREDSERVER_ACTIVE)
                    g_errors.push_back(key + ": " + n + " has refcount " + std::to_string(refs) + " (state " +
                                       std::to_string(state) + ") after the run, expected 1 (active)");
            }
        }
        if (total_errors) g_errors.push_back(key + ": " + std::to_string(total_errors) + " failed calls; first: " + first_error);
        add_row_at_least(key, label, "tx/s", tps, 5000.0,
                         {{"errors", total_errors}, {"processes", o.tp_procs}, {"seconds_per_rep", o.tp_ms / 1000.0},
                          {"use_median_us_per_rep", medians_us}, {"use_worst_p99_us_per_rep", p99s_us},
                          {"worker_cpu_ms_per_1000_tx", stats(worker_cpu_per_ktx).median},
                          {"watcher_cpu_ms_per_1000_tx", stats(watcher_cpu_per_ktx).median},
                          {"transaction", "one sharedserver_use or one sharedserver_unuse"}});
        add_row(key + "_use_us", "  same, one use under contention (median of workers)", "us", medians_us,
                std::nullopt);
        if (total_errors) g_rows[g_rows.size() - 2].extra["first_error"] = first_error;
    };
    variant("throughput_one_name", std::to_string(o.tp_procs) + " processes use+unuse, one name: throughput", true);
    variant("throughput_own_names", std::to_string(o.tp_procs) + " processes use+unuse, own names: throughput", false);
}

// ---- section: memory of many idle watchers ---------------------------------------

void bench_watchers(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[watchers] %d servers started with admin start, then their watchers' memory and wake-ups\n",
                 o.watchers);
    Section s(root, "watchers");
    auto opts = use_options(&sleep_argv, 600'000, 0);
    std::vector<pid_t> watchers;
    for (int i = 0; i < o.watchers; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "w-%04d", i);
        int64_t pid = 0;
        check(sharedserver_start(&pid, s.ctx, name, &opts), std::string("start ") + name);
        s.remember(name);
        watchers.push_back(watcher_of(s.ctx, name));
    }
    sleep_ms(1000);  // settle: every watcher has read its records and sleeps in poll()

    // Wake-ups over an idle window; and which watchers have an inotify
    // instance (past fs.inotify.max_user_instances they check their log's size every 10 s).
    std::vector<int64_t> before;
    for (pid_t w : watchers)
        before.push_back(status_field(w, "voluntary_ctxt_switches") + status_field(w, "nonvoluntary_ctxt_switches"));
    sleep_ms(o.watcher_idle_seconds * 1000.0);
    int woke = 0, without_inotify = 0, gone = 0;
    for (std::size_t i = 0; i < watchers.size(); ++i) {
        pid_t w = watchers[i];
        if (!start_stamp(w)) {
            ++gone;
            continue;
        }
        int64_t after = status_field(w, "voluntary_ctxt_switches") + status_field(w, "nonvoluntary_ctxt_switches");
        if (after != before[i]) ++woke;
        bool inotify = false;
        std::string fds = "/proc/" + std::to_string(w) + "/fd";
        if (DIR *d = ::opendir(fds.c_str())) {
            while (dirent *e = ::readdir(d)) {
                char link[256];
                ssize_t n = ::readlink((fds + "/" + e->d_name).c_str(), link, sizeof link - 1);
                if (n > 0 && std::string(link, static_cast<std::size_t>(n)) == "anon_inode:inotify") inotify = true;
            }
            ::closedir(d);
        }
        if (!inotify) ++without_inotify;
    }
    if (gone) g_errors.push_back("watchers: " + std::to_string(gone) + " of " + std::to_string(o.watchers) + " watchers died");

    std::vector<double> rss, pss;
    double rss_total = 0, pss_total = 0, anon_total = 0;
    for (pid_t w : watchers) {
        int64_t r = smaps_field(w, "Rss"), p = smaps_field(w, "Pss"), a = smaps_field(w, "Pss_Anon");
        if (r < 0 || p < 0) continue;
        rss.push_back(static_cast<double>(r) / 1024.0);
        pss.push_back(static_cast<double>(p) / 1024.0);
        rss_total += static_cast<double>(r) / 1024.0;
        pss_total += static_cast<double>(p) / 1024.0;
        anon_total += a > 0 ? static_cast<double>(a) / 1024.0 : 0;
    }
    std::string n = std::to_string(o.watchers);
    add_row("watchers_rss", n + " idle watchers: RSS per watcher (smaps_rollup)", "MiB", rss, 4.0);
    add_row("watchers_pss", n + " idle watchers: PSS per watcher", "MiB", pss, std::nullopt);
    add_row("watchers_pss_total", n + " idle watchers: PSS, all together", "MiB", {pss_total}, 4.0 * o.watchers,
            {{"rss_total_MiB", rss_total}, {"pss_anon_total_MiB", anon_total}});
    add_row("watchers_woke", n + " idle watchers: how many woke in " + std::to_string(o.watcher_idle_seconds) + " s",
            "count", {static_cast<double>(woke)}, std::nullopt,
            {{"without_inotify", without_inotify},
             {"max_user_instances", trim(read_file("/proc/sys/fs/inotify/max_user_instances"))}});
}

// ---- report ------------------------------------------------------------------

std::string fmt(double v) {
    char buf[32];
    if (v == std::floor(v) && std::fabs(v) < 1e9) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
        return buf;
    }
    double a = std::fabs(v);
    std::snprintf(buf, sizeof buf, a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f", v);
    return buf;
}

bool passes(const Row &r) {
    if (!r.target) return true;
    return r.at_least ? r.s.median >= *r.target - 1e-9 : r.s.median <= *r.target + 1e-9;
}

void print_table(const json &previous) {
    bool cmp = previous.is_object();
    std::map<std::string, json> prev;
    if (cmp && previous.contains("rows"))
        for (const auto &r : previous["rows"]) prev[r.value("key", "")] = r;
    std::printf("\n%-52s %10s %-18s %6s %-6s  %-14s %-6s", "metric", "median", "  min .. max", "n", "unit", "target",
                "status");
    if (cmp) std::printf(" %10s %8s", "previous", "change");
    std::printf("\n%s\n", std::string(cmp ? 140 : 120, '-').c_str());
    for (const auto &r : g_rows) {
        std::string range = r.s.n > 1 ? fmt(r.s.min) + " .. " + fmt(r.s.max) : "";
        std::printf("%-52s %10s   %-16s %6zu %-6s  %-14s %-6s", r.label.c_str(), fmt(r.s.median).c_str(), range.c_str(),
                    r.s.n, r.unit.c_str(), r.target_text.c_str(), r.target ? (passes(r) ? "ok" : "MISS") : "-");
        if (cmp) {
            auto it = prev.find(r.key);
            if (it != prev.end() && it->second.contains("median")) {
                double p = it->second["median"].get<double>();
                char pct[32];
                std::snprintf(pct, sizeof pct, "%+.1f%%", p != 0 ? 100.0 * (r.s.median - p) / p : 0.0);
                std::string change = p != 0 ? std::string(pct) : (r.s.median == 0 ? "=" : "was 0");
                std::printf(" %10s %8s", fmt(p).c_str(), change.c_str());
            } else {
                std::printf(" %10s %8s", "-", "new");
            }
        }
        std::printf("\n");
    }
    std::printf("\n");
    const json &m = g_meta;
    std::printf("machine: %s, nproc %s, kernel %s; load average at start %s, at end %s\n",
                m.value("cpu", "?").c_str(), std::to_string(m.value("nproc", 0)).c_str(), m.value("kernel", "?").c_str(),
                m.value("loadavg_start", "?").c_str(), m.value("loadavg_end", "?").c_str());
    std::printf("state dirs: under %s (%s)\n", m.value("state_dirs_in", "?").c_str(), m.value("state_fs", "?").c_str());
    if (m.contains("noise"))
        for (const auto &[key, n] : m["noise"].items()) {
            std::string meds;
            for (const auto &v : n["batch_medians"]) meds += (meds.empty() ? "" : ", ") + fmt(v.get<double>());
            std::printf("noise: %s batch medians [%s], spread %.1f%% (max-min)/min\n", key.c_str(), meds.c_str(),
                        n["spread_pct"].get<double>());
        }
    for (const auto &r : g_rows)
        if (r.extra.contains("syscalls") && !r.extra["syscalls"].get<std::string>().empty())
            std::printf("%s: %s\n", r.key.c_str(), r.extra["syscalls"].get<std::string>().c_str());
    for (const auto &r : g_rows)
        if (r.key.rfind("watcher_ctxsw_", 0) == 0)
            std::printf("%s: cpu ticks %s, read/write syscalls %s\n", r.key.c_str(), r.extra["cpu_ticks"].dump().c_str(),
                        r.extra["read_write_syscalls"].dump().c_str());
    for (const auto &r : g_rows)
        if (r.key.rfind("watcher_rss_", 0) == 0)
            std::printf("%s: RssAnon %s kB, RssFile %s kB\n", r.key.c_str(), r.extra["RssAnon_kB"].dump().c_str(),
                        r.extra["RssFile_kB"].dump().c_str());
    for (const auto &r : g_rows)
        if (r.key == "admin_start")
            std::printf("admin start: median of the first 10 %.2f ms, of the last 10 %.2f ms\n",
                        r.extra["first10_median_ms"].get<double>(), r.extra["last10_median_ms"].get<double>());
    for (const auto &r : g_rows)
        if (r.key.rfind("throughput_", 0) == 0 && r.extra.contains("use_worst_p99_us_per_rep"))
            std::printf("%s: %s processes, %s s per repetition, errors %s; worst p99 of one use per repetition %s us; "
                        "CPU per 1000 transactions: workers %.0f ms, watchers %.0f ms\n",
                        r.key.c_str(), r.extra["processes"].dump().c_str(), r.extra["seconds_per_rep"].dump().c_str(),
                        r.extra["errors"].dump().c_str(), r.extra["use_worst_p99_us_per_rep"].dump().c_str(),
                        r.extra["worker_cpu_ms_per_1000_tx"].get<double>(),
                        r.extra["watcher_cpu_ms_per_1000_tx"].get<double>());
    for (const auto &r : g_rows)
        if (r.key == "watchers_pss_total")
            std::printf("watchers: total RSS %.1f MiB (shared pages counted in each), total PSS_Anon %.1f MiB\n",
                        r.extra["rss_total_MiB"].get<double>(), r.extra["pss_anon_total_MiB"].get<double>());
    for (const auto &r : g_rows)
        if (r.key == "watchers_woke")
            std::printf("watchers: %s had no inotify instance (fs.inotify.max_user_instances = %s): those check their log's size every 10 s instead\n",
                        r.extra["without_inotify"].dump().c_str(), r.extra["max_user_instances"].get<std::string>().c_str());
    if (cmp)
        std::printf("compared with: run of %s\n",
                    previous.contains("meta") ? previous["meta"].value("date", std::string("?")).c_str() : "?");
    for (const auto &e : g_errors) std::printf("ERROR: %s\n", e.c_str());
    std::fflush(stdout);
}

json results_json() {
    json rows = json::array();
    for (const auto &r : g_rows) {
        rows.push_back({{"key", r.key},
                        {"label", r.label},
                        {"unit", r.unit},
                        {"median", r.s.median},
                        {"min", r.s.min},
                        {"max", r.s.max},
                        {"p90", r.s.p90},
                        {"n", r.s.n},
                        {"target", r.target ? json(*r.target) : json(nullptr)},
                        {"status", r.target ? (passes(r) ? "ok" : "miss") : "report"},
                        {"extra", r.extra}});
    }
    return {{"meta", g_meta}, {"rows", rows}, {"errors", g_errors}};
}

std::string filesystem_type(const std::string &path) {
    struct statfs fs {};
    if (::statfs(path.c_str(), &fs) != 0) return "?";
    switch (static_cast<unsigned long>(fs.f_type)) {
        case 0x01021994: return "tmpfs";
        case 0xEF53: return "ext4";
        case 0x9123683E: return "btrfs";
        case 0x58465342: return "xfs";
        case 0x794c7630: return "overlayfs";
        default: {
            char buf[32];
            std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(fs.f_type));
            return buf;
        }
    }
}

std::string iso_now() {
    std::time_t t = std::time(nullptr);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

// The benchmark proper, in a child process of the supervisor.
int run(const Options &o, const std::string &root) {
    utsname u{};
    ::uname(&u);
    std::string cpu = "?";
    std::istringstream ci(read_file("/proc/cpuinfo"));
    for (std::string line; std::getline(ci, line);)
        if (line.rfind("model name", 0) == 0) {
            cpu = trim(line.substr(line.find(':') + 2));
            break;
        }
    g_meta = {{"date", iso_now()},
              {"version", sharedserver_version()},
              {"library", sharedserver_library_path()},
              {"nproc", static_cast<int>(std::thread::hardware_concurrency())},
              {"cpu", cpu},
              {"kernel", u.release},
              {"loadavg_start", trim(read_file("/proc/loadavg"))},
              {"state_dirs_in", root},
              {"state_fs", filesystem_type(root)}};
    json previous;
    if (!o.compare.empty()) {
        std::ifstream in(o.compare);
        previous = json::parse(in, nullptr, false);
        if (!previous.is_object()) {
            std::fprintf(stderr, "bench_sharedserver: cannot read %s as a previous result\n", o.compare.c_str());
            return 1;
        }
    }
    std::fprintf(stderr, "sharedserver %s (%s), cli %s, watcher %s\n", sharedserver_version(), sharedserver_library_path(),
                 o.cli.c_str(), o.watcher.c_str());

    std::vector<std::pair<std::string, std::function<void(const Options &, const std::string &)>>> sections = {
        {"api", bench_api},       {"luajit", bench_luajit}, {"python", bench_python},
        {"cli", bench_cli},       {"start", bench_start},   {"death", bench_death},
        {"grace", bench_grace},   {"idle", bench_idle},     {"list", bench_list},
        {"throughput", bench_throughput}, {"watchers", bench_watchers}};
    int failed = 0;
    for (auto &[name, fn] : sections) {
        if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), name) == o.only.end()) continue;
        try {
            fn(o, root);
        } catch (const std::exception &e) {
            g_errors.push_back("section " + name + " failed: " + e.what());
            std::fprintf(stderr, "[%s] FAILED: %s\n", name.c_str(), e.what());
            ++failed;
        }
        kill_tracked();
    }
    g_meta["loadavg_end"] = trim(read_file("/proc/loadavg"));
    print_table(previous);
    if (!o.json_out.empty()) {
        std::ofstream out(o.json_out);
        out << results_json().dump(2) << "\n";
        if (!out) {
            std::fprintf(stderr, "bench_sharedserver: cannot write %s\n", o.json_out.c_str());
            return 1;
        }
        std::printf("results written to %s\n", o.json_out.c_str());
    }
    // A section that could not run, or ran into broken state (a watcher that
    // died, a client death never noticed), fails the run: the numbers are suspect.
    if (failed || !g_errors.empty()) return 1;
    if (o.strict)
        for (const auto &r : g_rows)
            if (!passes(r)) return 2;
    return 0;
}

// ---- supervisor ----------------------------------------------------------------

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

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
            std::string env = read_file("/proc/" + std::string(e->d_name) + "/environ");
            std::size_t at = 0;
            bool match = false;
            while (at < env.size()) {
                std::size_t z = env.find('\0', at);
                if (z == std::string::npos) z = env.size();
                if (env.compare(at, z - at, needle) == 0) {
                    match = true;
                    break;
                }
                at = z + 1;
            }
            if (match && start_stamp(static_cast<pid_t>(pid))) {
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

void remove_tree(const std::string &path) {
    DIR *d = ::opendir(path.c_str());
    if (d) {
        while (dirent *e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n == "." || n == "..") continue;
            std::string p = path + "/" + n;
            struct stat st {};
            if (::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(p);
            else
                ::unlink(p.c_str());
        }
        ::closedir(d);
    }
    ::rmdir(path.c_str());
}

}  // namespace

// --bench-serve MARK DELAY_MS: the server of the readiness rows. Listens on
// $SHAREDSERVER_PORT after DELAY_MS, writes the CLOCK_MONOTONIC ns at which
// it began to listen to MARK, then accepts and closes until killed.
int bench_serve(int argc, char **argv) {
    const char *port = getenv("SHAREDSERVER_PORT");
    if (argc != 4 || !port) return 64;
    sleep_ms(std::stod(argv[3]));
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) return 1;
    // From here a connect succeeds (the kernel completes it before accept).
    int64_t listening = mono_ns();
    std::string mark = argv[2], tmp = mark + ".tmp";
    {
        std::ofstream out(tmp);
        out << listening;
    }
    ::rename(tmp.c_str(), mark.c_str());
    for (;;) {
        int c = ::accept(fd, nullptr, nullptr);
        if (c >= 0) ::close(c);
    }
}

int main(int argc, char **argv) {
    // Helper modes: this program is also the throughput worker and the readiness server.
    if (argc > 1 && std::strcmp(argv[1], "--throughput-worker") == 0) return throughput_worker(argc, argv);
    if (argc > 1 && std::strcmp(argv[1], "--bench-serve") == 0) return bench_serve(argc, argv);
    Options o = parse_options(argc, argv);
    for (const auto &exe : {o.cli, o.watcher})
        if (::access(exe.c_str(), X_OK) != 0) {
            std::fprintf(stderr, "bench_sharedserver: %s is missing: build first (ninja -C build)\n", exe.c_str());
            return 1;
        }
    if (sharedserver_abi_version() != SHAREDSERVER_ABI_VERSION) {
        std::fprintf(stderr, "bench_sharedserver: library ABI %d, expected %d\n", sharedserver_abi_version(),
                     SHAREDSERVER_ABI_VERSION);
        return 1;
    }
    std::string tmpl = o.tmpdir + "/ss-bench.XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
        std::fprintf(stderr, "bench_sharedserver: cannot create %s: %s\n", tmpl.c_str(), std::strerror(errno));
        return 1;
    }
    std::string root = tmpl;
    ::chmod(root.c_str(), 0700);
    ::setenv(token_variable, root.c_str(), 1);
    ::setenv("SHAREDSERVER_WATCHER", o.watcher.c_str(), 1);
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
            rc = run(o, root);
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
        if (w < 0 && errno == EINTR && g_signal) {
            ::kill(runner, SIGKILL);  // then sweep what it left
        }
    }
    int leftovers = sweep(root, runner);
    if (leftovers)
        std::fprintf(stderr, "bench_sharedserver: killed %d leftover process(es) of this run by pid\n", leftovers);
    remove_tree(root);
    if (g_signal) return 128 + g_signal;
    return rc;
}
