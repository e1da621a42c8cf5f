// Sustained attach/detach: worker processes (this program,
// --throughput-worker) loop use + unuse through the C API, all on one name
// and each on its own; transactions per second, latency under contention,
// and where the CPU goes.
#include "child_processes.hpp"
#include "failure.hpp"
#include "files.hpp"
#include "proc_sampling.hpp"
#include "results.hpp"
#include "section.hpp"
#include "sections.hpp"
#include "timing.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <sstream>

namespace bench {
namespace {

// What one worker printed.
struct WorkerReport {
    long tx = 0, errors = 0;
    double median_us = 0, p99_us = 0, late_us = 0, cpu_us = 0;
    std::string first_error;
};

bool read_report(const std::string &out, WorkerReport &r) {
    std::istringstream in(read_file(out));
    if (!(in >> r.tx >> r.errors >> r.median_us >> r.p99_us >> r.late_us >> r.cpu_us)) return false;
    std::getline(in, r.first_error);
    r.first_error = trim(r.first_error);
    return true;
}

struct Variant {
    std::string key, label;
    std::vector<std::string> names;  // one per worker
    std::vector<std::string> served;  // the distinct names
};

void run_variant(const Options &o, Section &s, const Variant &v) {
    std::string exe = self_exe();
    std::vector<pid_t> watchers;
    for (const auto &name : v.served) {
        s.hold(name);
        watchers.push_back(watcher_of(s.ctx, name));
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
            pid_t pid = spawn({exe, "--throughput-worker", s.dir, v.names[static_cast<std::size_t>(i)],
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
            WorkerReport r;
            if (code != 0 || !read_report(out, r)) {
                ++errors;
                if (first_error.empty())
                    first_error = "worker exited " + std::to_string(code) + ": " + trim(read_file(out + ".err"));
                continue;
            }
            if (r.errors && first_error.empty()) first_error = r.first_error;
            tx += r.tx;
            errors += r.errors;
            workers_cpu_ms += r.cpu_us / 1000.0;
            worker_medians.push_back(r.median_us);
            worker_p99.push_back(r.p99_us);
            late_max = std::max(late_max, r.late_us);
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
                     v.key.c_str(), rep + 1, rate, errors, medians_us.back(), p99s_us.back(), late_max / 1000);
        // No reference may be lost or left behind: only the holders remain.
        for (const auto &n : v.served) {
            sharedserver_info *info = nullptr;
            check(sharedserver_info_get(&info, s.ctx, n.c_str()), "info " + n);
            std::size_t refs = sharedserver_info_refcount(info);
            int state = sharedserver_info_state(info);
            sharedserver_info_free(info);
            if (refs != 1 || state != SHAREDSERVER_ACTIVE)
                add_error(v.key + ": " + n + " has refcount " + std::to_string(refs) + " (state " +
                          std::to_string(state) + ") after the run, expected 1 (active)");
        }
    }
    if (total_errors) add_error(v.key + ": " + std::to_string(total_errors) + " failed calls; first: " + first_error);
    add_row_at_least(v.key, v.label, "tx/s", tps, 5000.0,
                     {{"errors", total_errors}, {"processes", o.tp_procs}, {"seconds_per_rep", o.tp_ms / 1000.0},
                      {"use_median_us_per_rep", medians_us}, {"use_worst_p99_us_per_rep", p99s_us},
                      {"worker_cpu_ms_per_1000_tx", stats(worker_cpu_per_ktx).median},
                      {"watcher_cpu_ms_per_1000_tx", stats(watcher_cpu_per_ktx).median},
                      {"transaction", "one sharedserver_use or one sharedserver_unuse"}});
    add_row(v.key + "_use_us", "  same, one use under contention (median of workers)", "us", medians_us, std::nullopt);
    if (total_errors) rows()[rows().size() - 2].extra["first_error"] = first_error;
}

}  // namespace

// From START (CLOCK_MONOTONIC ns) for MS, loops use + unuse of NAME for itself
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
    double cpu0 = cpu_clock_us(CLOCK_PROCESS_CPUTIME_ID);
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
    double cpu = cpu_clock_us(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
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
    // Every name keeps one other client, so the workers attach (1 -> 2 ...)
    // and detach without ever starting or stopping the server.
    Variant one{"throughput_one_name", std::to_string(o.tp_procs) + " processes use+unuse, one name: throughput", {}, {"tp"}};
    Variant own{"throughput_own_names", std::to_string(o.tp_procs) + " processes use+unuse, own names: throughput", {}, {}};
    for (int i = 0; i < o.tp_procs; ++i) {
        one.names.push_back("tp");
        own.names.push_back("tp-" + std::to_string(i));
        own.served.push_back(own.names.back());
    }
    run_variant(o, s, one);
    run_variant(o, s, own);
}

}  // namespace bench
