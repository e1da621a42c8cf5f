// A stack (issue 16): `use` of a server that depends on two others, three
// deep (api -> cache -> db), against the three `use` calls a user would make
// without depends_on, through the CLI: from stopped (three starts) and with
// everything running (attaches).
#include "child_processes.hpp"
#include "failure.hpp"
#include "files.hpp"
#include "results.hpp"
#include "section.hpp"
#include "sections.hpp"
#include "timing.hpp"

#include <cstdio>
#include <fstream>

namespace bench {
namespace {

const char *const stack_names[] = {"db", "cache", "api"};

// The same three servers with and without their depends_on.
void write_projects(const Section &s) {
    const std::string sleep = R"("command": ["sleep", "1000"], "idle_timeout": "10m")";
    std::ofstream(s.path("stack.json")) << R"({"servers": {"db": {)" << sleep << R"(}, "cache": {)" << sleep
                                        << R"(, "depends_on": ["db"]}, "api": {)" << sleep
                                        << R"(, "depends_on": ["cache", "db"]}}})";
    std::ofstream(s.path("flat.json")) << R"({"servers": {"db": {)" << sleep << R"(}, "cache": {)" << sleep
                                       << R"(}, "api": {)" << sleep << "}}}";
}

void stop_stack(Section &s) {
    for (const char *name : stack_names) {
        sharedserver_info *info = nullptr;
        check(sharedserver_info_get(&info, s.ctx, name), "info");
        auto server = static_cast<pid_t>(sharedserver_info_pid(info));
        auto watcher = static_cast<pid_t>(sharedserver_info_watcher_pid(info));
        sharedserver_info_free(info);
        if (server > 0) kill_and_wait(s, name, server, watcher);
    }
}

}  // namespace

void bench_stack(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[stack] a 3-deep stack against 3 uses, CLI: %d starts, %d attaches each\n", o.start_runs,
                 o.cli_runs);
    Section s(root, "stack");
    write_projects(s);
    pid_t holder = spawn_client();
    std::string client = std::to_string(holder);
    auto use = [&](const std::string &config, const char *name) {
        return std::vector<std::string>{o.cli, "use", "--config", s.path(config), "--pid", client, name};
    };
    auto one_stack = [&] { return time_ok(use("stack.json", "api")); };
    auto three_uses = [&] {
        double ms = 0;
        for (const char *name : stack_names) ms += time_ok(use("flat.json", name));
        return ms;
    };
    auto remember_all = [&] {
        for (const char *name : stack_names) s.remember(name);
    };

    std::vector<double> stack_start, flat_start;
    for (int run = 0; run < o.start_runs + 2; ++run) {
        double a = one_stack();
        remember_all();
        stop_stack(s);
        double b = three_uses();
        remember_all();
        stop_stack(s);
        if (run < 2) continue;
        stack_start.push_back(a);
        flat_start.push_back(b);
    }
    add_row("stack_start", "3-deep stack from stopped, CLI (`use api`, api -> cache -> db)", "ms", stack_start,
            std::nullopt);
    add_row("stack_start_flat", "the same 3 servers from stopped, CLI (3 `use` calls, no depends_on)", "ms",
            flat_start, std::nullopt);

    // Everything running: attaches only (the stack's `use` also attaches
    // this client to each dependency while it checks them, then lets go).
    one_stack();
    remember_all();
    std::vector<double> stack_attach, flat_attach;
    for (int run = 0; run < o.cli_runs + 5; ++run) {
        double a = one_stack();
        double b = three_uses();
        if (run < 5) continue;
        stack_attach.push_back(a);
        flat_attach.push_back(b);
    }
    add_row("stack_attach", "3-deep stack running, CLI (`use api`: attach)", "ms", stack_attach, std::nullopt);
    add_row("stack_attach_flat", "the same 3 servers running, CLI (3 `use` calls: attach)", "ms", flat_attach,
            std::nullopt);
    kill_client(holder);
}

}  // namespace bench
