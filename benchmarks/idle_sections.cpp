// What idle watchers cost: wake-ups, system calls and memory of two watchers
// (one active, one in its grace period), and the memory and wake-ups of many.
#include "child_processes.hpp"
#include "failure.hpp"
#include "files.hpp"
#include "proc_sampling.hpp"
#include "results.hpp"
#include "section.hpp"
#include "sections.hpp"
#include "strace_count.hpp"
#include "timing.hpp"

#include <cstdio>
#include <map>

namespace bench {

void bench_idle(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[idle] two idle watchers (active, grace): %d s unobserved, then %d s under strace -c\n",
                 o.idle_seconds, o.idle_seconds);
    Section s(root, "idle");
    pid_t holder = s.hold("idle-active");
    auto opts = use_options(&sleep_argv, 600'000, holder);
    int64_t ignored = 0;
    check(sharedserver_start(&ignored, s.ctx, "idle-grace", &opts), "start idle-grace");
    s.remember("idle-grace");
    std::map<std::string, pid_t> watchers = {{"active", watcher_of(s.ctx, "idle-active")},
                                             {"grace", watcher_of(s.ctx, "idle-grace")}};
    wait_until([&] { return holds_pidfd(watchers["active"], holder); }, 2000);
    sleep_ms(500);

    // Window 1, nobody attached to the watchers: context switches, CPU, read/write calls.
    std::map<std::string, std::vector<int64_t>> before;
    auto sample = [](pid_t w) {
        return std::vector<int64_t>{context_switches(w), cpu_ticks(w),
                                    proc_field(w, "io", "syscr") + proc_field(w, "io", "syscw")};
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
    if (have_strace()) {
        for (const auto &[k, r] : count_syscalls(watchers, o.idle_seconds, s.dir)) {
            if (r.calls < 0) {
                add_error("strace of the " + k + " watcher failed: " + r.error);
                continue;
            }
            add_row("watcher_syscalls_" + k,
                    "watcher idle " + std::to_string(o.idle_seconds) + " s (" + k + "): syscalls (strace -c)", "calls",
                    {static_cast<double>(r.calls)}, 0.0, {{"syscalls", r.detail}});
        }
    } else {
        add_error("strace is not installed (apt-get install strace): the syscall count is missing");
    }

    for (auto &[k, w] : watchers) {
        double rss = static_cast<double>(proc_field(w, "status", "VmRSS")) / 1024.0;
        add_row("watcher_rss_" + k, "watcher RSS (" + k + ", VmRSS)", "MiB", {rss}, 4.0,
                {{"RssAnon_kB", proc_field(w, "status", "RssAnon")},
                 {"RssFile_kB", proc_field(w, "status", "RssFile")},
                 {"RssShmem_kB", proc_field(w, "status", "RssShmem")}});
    }
}

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
    for (pid_t w : watchers) before.push_back(context_switches(w));
    sleep_ms(o.watcher_idle_seconds * 1000.0);
    int woke = 0, without_inotify = 0, gone = 0;
    for (std::size_t i = 0; i < watchers.size(); ++i) {
        pid_t w = watchers[i];
        if (!start_stamp(w)) {
            ++gone;
            continue;
        }
        if (context_switches(w) != before[i]) ++woke;
        if (!has_inotify(w)) ++without_inotify;
    }
    if (gone) add_error("watchers: " + std::to_string(gone) + " of " + std::to_string(o.watchers) + " watchers died");

    std::vector<double> rss, pss;
    double rss_total = 0, pss_total = 0, anon_total = 0;
    for (pid_t w : watchers) {
        int64_t r = proc_field(w, "smaps_rollup", "Rss"), p = proc_field(w, "smaps_rollup", "Pss"),
                a = proc_field(w, "smaps_rollup", "Pss_Anon");
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

}  // namespace bench
