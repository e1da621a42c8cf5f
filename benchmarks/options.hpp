// The benchmark's command line: which sections run, how many runs each, and
// where the programs under test are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

struct Options {
    std::string cli;
    std::string watcher;
    std::string json_out;
    std::string compare;
    std::string tmpdir;   // where the private temp dir goes (the state dirs live in it)
    std::string scripts;  // benchmarks/ of the source tree (attach.lua, attach.py)
    std::string python = "/usr/bin/python3";  // runs attach.py; must be the module's interpreter
    std::string python_path;                   // <build>/bindings/python: the build tree's package
    std::string luajit = "luajit";
    std::string against;            // a second sharedserver CLI to measure side by side (empty: none)
    std::vector<std::string> only;  // empty: every section (with --against: the side-by-side one)
    int api_batches = 5;
    int api_ops = 2000;  // per batch (also for the LuaJIT and Python attach)
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
    int64_t tp_ms = 3000;  // length of one throughput repetition
    int watchers = 200;
    int watcher_idle_seconds = 5;  // the wake-up window of the 200 idle watchers
    int versus_idle_seconds = 3;   // one strace window of the side-by-side idle rows
    int versus_idle_reps = 3;
    bool strict = false;
};

// Exits with a usage message on a bad argument.
Options parse_options(int argc, char **argv);

// Whether `--only` (or, without it, the default set) selects this section.
bool selected(const Options &o, const std::string &section);

}  // namespace bench
