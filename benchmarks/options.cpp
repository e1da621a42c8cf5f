#include "options.hpp"

#include "files.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <unistd.h>

#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "benchmarks"
#endif

namespace bench {
namespace {

const std::vector<std::string> known_sections = {"api",   "luajit", "python", "cli",        "start",    "death",
                                                 "grace", "idle",   "list",   "throughput", "stack", "watchers", "against"};

std::string join(const std::vector<std::string> &names) {
    std::string out;
    for (const auto &n : names) out += (out.empty() ? "" : ",") + n;
    return out;
}

[[noreturn]] void usage() {
    std::fprintf(stdout,
                 "usage: bench_sharedserver [--json PATH] [--compare PREVIOUS.json] [--quick] [--strict]\n"
                 "                          [--only SECTION,...] [--servers N] [--watchers N] [--idle-seconds N]\n"
                 "                          [--grace-ms N] [--procs N] [--tmpdir DIR] [--cli PATH] [--watcher PATH]\n"
                 "                          [--python PATH] [--python-path DIR] [--luajit PATH] [--scripts DIR]\n"
                 "                          [--against PATH]\n"
                 "  --json PATH        also write the results as JSON to PATH\n"
                 "  --compare PATH     print the change of every median against an earlier --json file\n"
                 "                     (default: $SHAREDSERVER_BENCH_COMPARE when set)\n"
                 "  --quick            few runs, short windows, 50 servers (a smoke test, not numbers)\n"
                 "  --strict           exit 2 when a median misses its target\n"
                 "  --only LIST        sections: api,luajit,python,cli,start,death,grace,idle,list,throughput,stack,watchers\n"
                 "                     (and against, with --against)\n"
                 "  --servers N        servers of the list section (default 1000; list is also timed at 200)\n"
                 "  --watchers N       idle watchers of the memory section (default 200)\n"
                 "  --procs N          processes of the throughput section (default 8)\n"
                 "  --cli/--watcher    the executables (default: beside this one in the build tree)\n"
                 "  --python PATH      interpreter for attach.py (default /usr/bin/python3)\n"
                 "  --python-path DIR  where the build tree's Python package is (default <build>/bindings/python)\n"
                 "  --luajit PATH      LuaJIT for attach.lua (default: luajit on $PATH)\n"
                 "  --scripts DIR      the benchmarks/ source dir with attach.lua and attach.py\n"
                 "  --tmpdir DIR       where the private state dirs are made (default $XDG_RUNTIME_DIR, else /tmp)\n"
                 "  --against PATH     measure another sharedserver CLI (e.g. the upstream tool) side by side\n"
                 "                     with --cli, alternating run by run; alone it runs only that section\n");
    std::exit(0);
}

[[noreturn]] void bad_argument(const std::string &what) {
    std::fprintf(stderr, "bench_sharedserver: %s (--help lists the options)\n", what.c_str());
    std::exit(1);
}

// A positive count; one line naming the option otherwise.
int64_t positive(const std::string &option, const std::string &text) {
    char *end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end || v <= 0)
        bad_argument("invalid " + option + " \"" + text + "\": expected a positive whole number");
    return v;
}

void set_quick(Options &o) {
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
    o.versus_idle_reps = 1;
}

}  // namespace

Options parse_options(int argc, char **argv) {
    Options o;
    std::string build = exe_dir() + "/..";
    o.cli = build + "/cli/sharedserver";
    o.watcher = getenv("SHAREDSERVER_WATCHER") ? getenv("SHAREDSERVER_WATCHER") : build + "/watcher/sharedserver-watcher";
    o.python_path = build + "/bindings/python";
    o.scripts = BENCH_SOURCE_DIR;
    if (const char *c = getenv("SHAREDSERVER_BENCH_COMPARE")) o.compare = c;
    // Where a real state dir would be: $XDG_RUNTIME_DIR (tmpfs on a desktop), else /tmp.
    o.tmpdir = getenv("XDG_RUNTIME_DIR") && *getenv("XDG_RUNTIME_DIR") ? getenv("XDG_RUNTIME_DIR") : "/tmp";
    auto value = [&](int &i) -> std::string {
        if (i + 1 >= argc) bad_argument(std::string(argv[i]) + " needs a value");
        return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") usage();
        else if (a == "--json") o.json_out = value(i);
        else if (a == "--compare") o.compare = value(i);
        else if (a == "--cli") o.cli = value(i);
        else if (a == "--watcher") o.watcher = value(i);
        else if (a == "--tmpdir") o.tmpdir = value(i);
        else if (a == "--servers") o.servers = static_cast<int>(positive(a, value(i)));
        else if (a == "--watchers") o.watchers = static_cast<int>(positive(a, value(i)));
        else if (a == "--procs") o.tp_procs = static_cast<int>(positive(a, value(i)));
        else if (a == "--python") o.python = value(i);
        else if (a == "--python-path") o.python_path = value(i);
        else if (a == "--luajit") o.luajit = value(i);
        else if (a == "--scripts") o.scripts = value(i);
        else if (a == "--idle-seconds") o.idle_seconds = static_cast<int>(positive(a, value(i)));
        else if (a == "--grace-ms") o.grace_ms = positive(a, value(i));
        else if (a == "--against") o.against = value(i);
        else if (a == "--strict") o.strict = true;
        else if (a == "--quick") set_quick(o);
        else if (a == "--only") {
            std::stringstream ss(value(i));
            for (std::string s; std::getline(ss, s, ',');) o.only.push_back(s);
        } else {
            bad_argument("unknown argument " + a);
        }
    }
    for (const auto &name : o.only)
        if (std::find(known_sections.begin(), known_sections.end(), name) == known_sections.end())
            bad_argument("unknown section \"" + name + "\" in --only: expected some of " + join(known_sections));
    if (selected(o, "against") && o.against.empty())
        bad_argument("--only against needs --against PATH (the other sharedserver CLI)");
    if (!o.against.empty() && ::access(o.against.c_str(), X_OK) != 0)
        bad_argument("--against " + o.against +
                     " is not an executable file: give the other sharedserver CLI (benchmarks/install_upstream.sh "
                     "installs the upstream one and prints its path)");
    // The helper scripts run in their section's directory, and Meson passes
    // paths relative to the build dir: make the paths absolute.
    for (std::string *path : {&o.cli, &o.watcher, &o.python_path, &o.scripts, &o.against})
        if (char *real = path->empty() ? nullptr : ::realpath(path->c_str(), nullptr)) {
            *path = real;
            std::free(real);
        }
    return o;
}

bool selected(const Options &o, const std::string &section) {
    if (!o.only.empty()) return std::find(o.only.begin(), o.only.end(), section) != o.only.end();
    // --against alone is the side-by-side mode; without it every section but that one runs.
    return o.against.empty() ? section != "against" : section == "against";
}

}  // namespace bench
