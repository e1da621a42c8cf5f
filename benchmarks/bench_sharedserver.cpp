// The benchmark suite (issues 2 and 7): what attaching (C API, LuaJIT ffi,
// Python, CLI), detaching, starting, becoming ready, noticing a dead client,
// stopping after the grace period, idling, listing 1000 servers, sustained
// attach/detach from 8 processes and 200 idle watchers cost.
//
//   build/benchmarks/bench_sharedserver [--json out.json] [--compare previous.json] [--quick]
//   meson test -C build --benchmark --verbose          (the same, via Meson)
//   build/benchmarks/bench_sharedserver --against PATH (the rows both CLIs have,
//                                     side by side with another sharedserver CLI)
//
// Every section runs in its own fresh state directory under one private temp
// directory. Everything the benchmark starts (servers, watchers, clients,
// strace) is killed by pid when the section ends; a supervisor process then
// sweeps for any leftover that still carries this run's environment token,
// kills it by pid and removes the temp directory, even when a section failed
// or crashed.
#include "child_processes.hpp"
#include "files.hpp"
#include "options.hpp"
#include "report.hpp"
#include "results.hpp"
#include "sections.hpp"
#include "supervisor.hpp"

#include <sharedserver/sharedserver.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <thread>
#include <unistd.h>

namespace bench {
namespace {

using SectionFn = void (*)(const Options &, const std::string &);

const std::vector<std::pair<std::string, SectionFn>> sections = {
    {"api", bench_api},       {"luajit", bench_luajit}, {"python", bench_python},
    {"cli", bench_cli},       {"start", bench_start},   {"death", bench_death},
    {"grace", bench_grace},   {"idle", bench_idle},     {"list", bench_list},
    {"throughput", bench_throughput}, {"stack", bench_stack}, {"watchers", bench_watchers}, {"against", bench_against}};

std::string iso_now() {
    std::time_t t = std::time(nullptr);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

std::string cpu_model() {
    std::istringstream ci(read_file("/proc/cpuinfo"));
    for (std::string line; std::getline(ci, line);)
        if (line.rfind("model name", 0) == 0) return trim(line.substr(line.find(':') + 2));
    return "?";
}

// The benchmark proper, in a child process of the supervisor.
int run(const Options &o, const std::string &root) {
    utsname u{};
    ::uname(&u);
    meta() = {{"date", iso_now()},
              {"version", sharedserver_version()},
              {"library", sharedserver_library_path()},
              {"nproc", static_cast<int>(std::thread::hardware_concurrency())},
              {"cpu", cpu_model()},
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

    int failed = 0;
    for (const auto &[name, fn] : sections) {
        if (!selected(o, name)) continue;
        try {
            fn(o, root);
        } catch (const std::exception &e) {
            add_error("section " + name + " failed: " + e.what());
            std::fprintf(stderr, "[%s] FAILED: %s\n", name.c_str(), e.what());
            ++failed;
        }
        kill_tracked();
    }
    meta()["loadavg_end"] = trim(read_file("/proc/loadavg"));
    print_report(previous);
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
    if (failed || !errors().empty()) return 1;
    if (o.strict)
        for (const auto &r : rows())
            if (!passes(r)) return 2;
    return 0;
}

}  // namespace
}  // namespace bench

int main(int argc, char **argv) {
    using namespace bench;
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
    ::setenv("SHAREDSERVER_WATCHER", o.watcher.c_str(), 1);
    return supervise(root, [&] { return run(o, root); });
}
