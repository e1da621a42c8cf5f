// Attach and detach of a running server through every client: the C API
// in-process, the LuaJIT ffi binding and the Python module as helper
// scripts, and the CLI as a whole process.
#include "child_processes.hpp"
#include "failure.hpp"
#include "files.hpp"
#include "results.hpp"
#include "section.hpp"
#include "sections.hpp"
#include "timing.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <unistd.h>

namespace bench {
namespace {

// Runs a helper script (attach.lua / attach.py) against a server that already
// has another client, like the C API section, and reads its JSON samples.
json run_attach_helper(Section &s, const std::string &name, const std::vector<std::string> &args,
                       const std::vector<std::string> &env) {
    s.hold(name);
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
    if (refs != 1) add_error(name + ": refcount " + std::to_string(refs) + " after the helper, expected 1");
    return r;
}

// A helper's rows: attach (wall and CPU time, batches as in the C API row),
// detach, and the one-off cost of loading the binding (`<load>_us` in its JSON).
void add_helper_rows(const Options &o, const std::string &prefix, const json &r, const std::string &attach_label,
                     const std::string &detach_label, const std::string &load, const std::string &load_label) {
    auto attach = r["attach_us"].get<std::vector<double>>();
    auto medians = batch_medians(attach, static_cast<std::size_t>(o.api_ops));
    add_row(prefix + "_attach", attach_label, "us", attach, 100.0, {{"batch_medians", medians}});
    add_row(prefix + "_attach_cpu", "  same, CPU time of the caller", "us", r["attach_cpu_us"].get<std::vector<double>>(),
            100.0);
    add_row(prefix + "_detach", detach_label, "us", r["detach_us"].get<std::vector<double>>(), std::nullopt);
    add_row(prefix + "_" + load, load_label, "ms", {r[load + "_us"].get<double>() / 1000.0}, std::nullopt);
    note_noise(prefix + "_attach", medians);
}

}  // namespace

void bench_api(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[api] C API attach/detach of a running server, %d batches x %d ops\n", o.api_batches, o.api_ops);
    Section s(root, "api");
    pid_t holder = s.hold("api");
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
    wait_until([&] { return !exists(s.path("api.clients.json")); }, 2000);
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

void bench_luajit(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[luajit] ffi.lua Context:use/unuse under plain luajit, %d batches x %d ops\n", o.api_batches,
                 o.api_ops);
    Section s(root, "luajit");
    std::string lua_dir = o.scripts + "/../bindings/nvim/lua";
    json r = run_attach_helper(s, "lj",
                               {o.luajit, o.scripts + "/attach.lua", lua_dir, "lj", std::to_string(o.api_batches),
                                std::to_string(o.api_ops)},
                               {std::string("SHAREDSERVER_LIB=") + sharedserver_library_path()});
    add_helper_rows(o, "luajit", r, "attach, LuaJIT ffi (ffi.lua Context:use)", "detach, LuaJIT ffi (Context:unuse)",
                    "load", "  LuaJIT: require + load() + open() of the library");
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
    add_helper_rows(o, "python", r, "attach, Python (sharedserver.use -> Lease)", "detach, Python (Lease.release)",
                    "import", "  Python: import sharedserver");
}

void bench_cli(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[cli] whole-process CLI attach, %d runs\n", o.cli_runs);
    Section s(root, "cli");
    s.hold("cli");
    std::vector<double> use_ms, use_cpu_ms, over_floor_ms, unuse_ms, version_ms, version_cpu_ms, true_ms, true_cpu_ms;
    for (int i = 0; i < 5; ++i) {  // warm-up
        time_ok({o.cli, "use", "cli"});
        time_ok({o.cli, "unuse", "cli"});
    }
    double cpu = 0;
    for (int i = 0; i < o.cli_runs; ++i) {
        // `use` without --pid attaches its parent: this process.
        use_ms.push_back(time_ok({o.cli, "use", "cli"}, &cpu));
        use_cpu_ms.push_back(cpu);
        unuse_ms.push_back(time_ok({o.cli, "unuse", "cli", "--pid", std::to_string(::getpid())}));
        version_ms.push_back(time_ok({o.cli, "--version"}, &cpu));
        version_cpu_ms.push_back(cpu);
        true_ms.push_back(time_ok({"/bin/true"}, &cpu));
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

}  // namespace bench
