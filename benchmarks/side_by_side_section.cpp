// The rows both CLIs have, side by side: ours (--cli) and another sharedserver
// CLI (--against; made for the upstream Rust tool 0.6.8), alternating run by
// run (ours, theirs, ours, theirs ...) in this one process, each tool with
// its own state directory. Every server either tool starts is SIGKILLed by
// pid (watcher, then server group) when its row ends, also when the row fails.
#include "child_processes.hpp"
#include "cli_tool.hpp"
#include "dir_watch.hpp"
#include "failure.hpp"
#include "files.hpp"
#include "proc_sampling.hpp"
#include "results.hpp"
#include "sections.hpp"
#include "strace_count.hpp"
#include "timing.hpp"

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <sys/inotify.h>
#include <unistd.h>

namespace bench {
namespace {

using Tools = std::array<CliTool *, 2>;  // ours, theirs

// The kill of a client comes after a random pause of up to one poll interval
// of 0.6.8's watcher (500 ms), so a watcher that polls is caught at a random
// point of its interval rather than always just after (or before) a poll.
constexpr double polling_phase_ms = 500;

// One sample of each tool, ours first.
void sample(Pair &p, const Tools &tools, const std::function<double(CliTool &)> &measure) {
    p.ours.push_back(measure(*tools[0]));
    p.theirs.push_back(measure(*tools[1]));
}

std::size_t batch_of(int runs) { return runs >= 10 ? static_cast<std::size_t>(runs / 5) : 0; }

void attach_rows(const Options &o, const Tools &tools) {
    std::fprintf(stderr, "[against] CLI use (attach) / unuse / --version of a running server, %d runs each\n", o.cli_runs);
    pid_t holder = spawn_client();
    for (CliTool *t : tools) t->use_for(holder, "attach");
    std::string me = std::to_string(::getpid());
    // `use` without --pid attaches its parent, this process, in both tools.
    for (int i = 0; i < 5; ++i)  // warm-up
        for (CliTool *t : tools) {
            t->run_ok({"use", "attach"});
            t->run_ok({"unuse", "attach", "--pid", me});
        }
    Pair use{"vs_attach", "CLI `use` of a running server (attach)", "ms"};
    Pair use_cpu{"vs_attach_cpu", "  same, CPU time of the process (rusage)", "ms"};
    Pair unuse{"vs_detach", "CLI `unuse` (detach)", "ms"};
    Pair version{"vs_version", "`sharedserver --version`", "ms"};
    std::vector<double> true_ms;
    for (int i = 0; i < o.cli_runs; ++i) {
        Timed attached[2];
        for (int k = 0; k < 2; ++k) attached[k] = tools[static_cast<std::size_t>(k)]->run_ok({"use", "attach"});
        use.ours.push_back(attached[0].ms);
        use.theirs.push_back(attached[1].ms);
        use_cpu.ours.push_back(attached[0].cpu_ms);
        use_cpu.theirs.push_back(attached[1].cpu_ms);
        sample(unuse, tools, [&](CliTool &t) { return t.run_ok({"unuse", "attach", "--pid", me}).ms; });
        sample(version, tools, [](CliTool &t) { return t.run_ok({"--version"}).ms; });
        true_ms.push_back(time_ok({"/bin/true"}));
    }
    for (Pair *p : {&use, &use_cpu, &unuse, &version}) {
        p->per_batch = batch_of(o.cli_runs);
        add_pair(std::move(*p));
    }
    meta()["against"]["spawn_true_ms"] = true_ms;
}

void start_rows(const Options &o, const Tools &tools) {
    std::fprintf(stderr, "[against] use of a stopped server until it returns, %d runs each\n", o.start_runs);
    pid_t holder = spawn_client();
    Pair start{"vs_start", "`use` of a stopped server, until it returns", "ms"};
    start.note = "`use --pid <client> --grace-period 10m <new name> -- sleep 1000` until it exits; the server and "
                 "watcher are then SIGKILLed by pid, untimed";
    for (int i = 0; i < o.start_runs + 2; ++i) {
        std::string name = "start-" + std::to_string(i);
        auto run = [&](CliTool &t) {
            double ms = t.use_for(holder, name).ms;
            t.stop(name);
            return ms;
        };
        if (i < 2) {  // warm-up
            for (CliTool *t : tools) run(*t);
            continue;
        }
        sample(start, tools, run);
    }
    start.per_batch = batch_of(o.start_runs);
    add_pair(std::move(start));
}

void death_rows(const Options &o, const Tools &tools) {
    std::fprintf(stderr, "[against] client kill -9 -> grace, %d runs each\n", o.death_runs);
    const std::string name = "death", file = "death.clients.json";
    // Ours watches every client through a pidfd: wait until it holds one, as
    // the death section does. 0.6.8 reads clients.json every 500 ms and has
    // nothing to wait for.
    const bool waits_for_pidfd[2] = {true, false};
    std::array<std::unique_ptr<DirWatch>, 2> watches;
    for (std::size_t k = 0; k < 2; ++k)
        watches[k] = std::make_unique<DirWatch>(tools[k]->state_dir(), IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_TO);
    std::mt19937 random(14);
    std::uniform_real_distribution<double> phase(0, polling_phase_ms);
    Pair death{"vs_death", "client kill -9 -> grace (clients.json shows none)", "ms"};
    death.note = "ours deletes <name>.clients.json when its last client dies; 0.6.8 rewrites it with an empty client "
                 "map at its watcher's next poll (every 500 ms). Timed from the kill to the file event after which the "
                 "file lists no client; each kill follows the same random 0-500 ms pause in both tools";
    int missed[2] = {0, 0};
    for (int i = 0; i < o.death_runs; ++i) {
        double pause = phase(random);
        for (std::size_t k = 0; k < 2; ++k) {
            CliTool &t = *tools[k];
            pid_t client = spawn_client();
            t.use_for(client, name);
            if (waits_for_pidfd[k] &&
                !wait_until([&] { return holds_pidfd(t.watcher_of(name), client); }, 2000, 0.2))
                throw Failure(t.label() + ": the watcher never watched client " + std::to_string(client));
            sleep_ms(pause);
            watches[k]->drain();
            auto t0 = Clock::now();
            ::kill(client, SIGKILL);
            wait_exit(client);  // reaped at once, as a shell reaps a dead editor
            bool seen = watches[k]->wait_for(file, [&] { return t.lists_no_client(name); }, 3000);
            double ms = since_us(t0) / 1000.0;
            if (!seen) {
                ++missed[k];
                continue;
            }
            (k == 0 ? death.ours : death.theirs).push_back(ms);
        }
    }
    for (std::size_t k = 0; k < 2; ++k)
        if (missed[k])
            add_error("against: " + tools[k]->label() + ": " + std::to_string(missed[k]) +
                      " client deaths did not show in clients.json within 3 s");
    death.per_batch = batch_of(o.death_runs);
    add_pair(std::move(death));
}

void idle_rows(const Options &o, const Tools &tools, const std::string &dir) {
    std::fprintf(stderr, "[against] idle watchers (active, grace): %d x %d s under strace -f -c, all at once\n",
                 o.versus_idle_reps, o.versus_idle_seconds);
    if (!have_strace()) {
        add_error("strace is not installed (apt-get install strace): the side-by-side syscall counts are missing");
        return;
    }
    std::map<std::string, pid_t> watchers;
    for (CliTool *t : tools) {
        t->use_for(spawn_client(), "idle-active");
        pid_t leaving = spawn_client();
        t->use_for(leaving, "idle-grace");
        t->run_ok({"unuse", "idle-grace", "--pid", std::to_string(leaving)});
        if (!wait_until([&] { return t->lists_no_client("idle-grace"); }, 3000))
            throw Failure(t->label() + ": idle-grace did not enter its grace period");
        watchers[t->label() + "-active"] = t->watcher_of("idle-active");
        watchers[t->label() + "-grace"] = t->watcher_of("idle-grace");
    }
    sleep_ms(1000);  // settle: a polling watcher has seen the grace period begin
    std::string seconds = std::to_string(o.versus_idle_seconds);
    Pair active{"vs_idle_active", "idle watcher, syscalls in " + seconds + " s (active)", "calls"};
    Pair grace{"vs_idle_grace", "idle watcher, syscalls in " + seconds + " s (grace)", "calls"};
    std::map<std::string, std::string> detail;
    for (int rep = 0; rep < o.versus_idle_reps; ++rep) {
        auto counted = count_syscalls(watchers, o.versus_idle_seconds, dir);
        for (const auto &[k, r] : counted)
            if (r.calls < 0) throw Failure("strace of the " + k + " watcher failed: " + r.error);
        active.ours.push_back(static_cast<double>(counted["ours-active"].calls));
        active.theirs.push_back(static_cast<double>(counted["theirs-active"].calls));
        grace.ours.push_back(static_cast<double>(counted["ours-grace"].calls));
        grace.theirs.push_back(static_cast<double>(counted["theirs-grace"].calls));
        for (const auto &[k, r] : counted) detail[k] = r.detail;
    }
    auto calls = [&](const std::string &k) { return detail[k].empty() ? std::string("none") : detail[k]; };
    active.note = "ours: " + calls("ours-active") + "; theirs: " + calls("theirs-active");
    grace.note = "ours: " + calls("ours-grace") + "; theirs: " + calls("theirs-grace");
    add_pair(std::move(active));
    add_pair(std::move(grace));
    Pair rss{"vs_idle_rss", "idle watcher RSS (active, VmRSS)", "MiB"};
    sample(rss, tools, [&](CliTool &t) {
        return static_cast<double>(proc_field(t.watcher_of("idle-active"), "status", "VmRSS")) / 1024.0;
    });
    add_pair(std::move(rss));
}

void list_rows(const Options &o, const Tools &tools) {
    int count = std::min(200, o.servers);
    std::fprintf(stderr, "[against] list --json of %d servers, %d runs each\n", count, o.list_cli_runs);
    pid_t holder = spawn_client();
    for (CliTool *t : tools)
        for (int i = 0; i < count; ++i) {
            char name[32];
            std::snprintf(name, sizeof name, "list-%04d", i);
            t->use_for(holder, name);
        }
    sleep_ms(300);
    Pair list{"vs_list_json", "`list --json`, " + std::to_string(count) + " servers", "ms"};
    for (int i = 0; i < o.list_cli_runs + 2; ++i) {
        if (i < 2) {  // warm-up
            for (CliTool *t : tools) t->run_ok({"list", "--json"}, t->scratch("list.json"));
            continue;
        }
        sample(list, tools, [](CliTool &t) { return t.run_ok({"list", "--json"}, t.scratch("list.json")).ms; });
    }
    for (CliTool *t : tools) {
        json listed = json::parse(read_file(t->scratch("list.json")), nullptr, false);
        if (!listed.is_array() || listed.size() != static_cast<std::size_t>(count))
            add_error("against: " + t->label() + ": `list --json` did not list " + std::to_string(count) + " servers");
    }
    list.per_batch = batch_of(o.list_cli_runs);
    add_pair(std::move(list));
}

void say_what_is_not_compared() {
    add_not_comparable("attach through a library (C API, LuaJIT ffi, Python): the upstream tool is only a CLI");
    add_not_comparable("readiness (`use` until the server's port answers): upstream 0.6.8 has no readiness probe");
    add_not_comparable("grace deadline -> server gone: upstream 0.6.8 keeps its grace timer in its watcher's memory "
                       "and records no deadline, so there is no common point to time from");
    add_not_comparable("throughput of use+unuse from 8 processes: ours loops in-process through the C API; the "
                       "upstream tool can only be run as a process per call, a different operation");
    add_not_comparable("memory of 200 idle watchers and list of 1000 servers: run the default sections for ours; "
                       "side by side, list runs at 200 servers (issue 2's size) and one watcher's RSS is compared");
}

}  // namespace

void bench_against(const Options &o, const std::string &root) {
    std::string dir = root + "/against";
    make_dir(dir);
    {
        CliTool ours("ours", o.cli, dir), theirs("theirs", o.against, dir);
        meta()["against"] = {{"ours", o.cli},
                             {"ours_version", ours.version()},
                             {"theirs", o.against},
                             {"theirs_version", theirs.version()}};
    }
    std::fprintf(stderr, "[against] ours %s (%s), theirs %s (%s)\n", o.cli.c_str(),
                 meta()["against"]["ours_version"].get<std::string>().c_str(), o.against.c_str(),
                 meta()["against"]["theirs_version"].get<std::string>().c_str());
    using Rows = std::function<void(const Tools &, const std::string &)>;
    const std::vector<std::pair<std::string, Rows>> groups = {
        {"attach", [&](const Tools &t, const std::string &) { attach_rows(o, t); }},
        {"start", [&](const Tools &t, const std::string &) { start_rows(o, t); }},
        {"death", [&](const Tools &t, const std::string &) { death_rows(o, t); }},
        {"idle", [&](const Tools &t, const std::string &d) { idle_rows(o, t, d); }},
        {"list", [&](const Tools &t, const std::string &) { list_rows(o, t); }}};
    for (const auto &[name, rows] : groups) {
        // Fresh state dirs for every group: records left by another group
        // (0.6.8 lists stopped servers too) would change what is measured.
        std::string group_dir = dir + "/" + name;
        try {
            make_dir(group_dir);
            CliTool ours("ours", o.cli, group_dir), theirs("theirs", o.against, group_dir);
            rows({&ours, &theirs}, group_dir);
        } catch (const std::exception &e) {
            add_error("against: rows " + name + " failed: " + e.what());
            std::fprintf(stderr, "[against] %s FAILED: %s\n", name.c_str(), e.what());
        }
        kill_tracked();  // every server, watcher and client of the rows, by pid
    }
    say_what_is_not_compared();
}

}  // namespace bench
