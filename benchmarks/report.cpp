#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace bench {
namespace {

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

std::string range(const Stats &s) { return s.n > 1 ? fmt(s.min) + " .. " + fmt(s.max) : ""; }

std::string list(const std::vector<double> &values) {
    std::string out;
    for (double v : values) out += (out.empty() ? "" : ", ") + fmt(v);
    return out;
}

void print_rows(const json &previous) {
    bool cmp = previous.is_object();
    std::map<std::string, json> prev;
    if (cmp && previous.contains("rows"))
        for (const auto &r : previous["rows"]) prev[r.value("key", "")] = r;
    std::printf("\n%-52s %10s %-18s %6s %-6s  %-14s %-6s", "metric", "median", "  min .. max", "n", "unit", "target",
                "status");
    if (cmp) std::printf(" %10s %8s", "previous", "change");
    std::printf("\n%s\n", std::string(cmp ? 140 : 120, '-').c_str());
    for (const auto &r : rows()) {
        std::printf("%-52s %10s   %-16s %6zu %-6s  %-14s %-6s", r.label.c_str(), fmt(r.s.median).c_str(),
                    range(r.s).c_str(), r.s.n, r.unit.c_str(), r.target_text.c_str(),
                    r.target ? (passes(r) ? "ok" : "MISS") : "-");
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
}

std::string ratio(const Stats &ours, const Stats &theirs) {
    if (theirs.median == 0) return ours.median == 0 ? "=" : "-";
    return fmt(ours.median / theirs.median) + "x";
}

void print_side_by_side() {
    const json &a = meta()["against"];
    std::printf("\nside by side, alternating run by run: ours = %s (%s), theirs = %s (%s)\n",
                a.value("ours", "?").c_str(), a.value("ours_version", "?").c_str(), a.value("theirs", "?").c_str(),
                a.value("theirs_version", "?").c_str());
    std::printf("%-50s %9s %-17s %9s %-17s %5s %-6s %9s\n", "row", "ours", "  min .. max", "theirs", "  min .. max", "n",
                "unit", "ours/them");
    std::printf("%s\n", std::string(128, '-').c_str());
    for (const auto &p : pairs()) {
        Stats o = stats(p.ours), t = stats(p.theirs);
        std::printf("%-50s %9s   %-15s %9s   %-15s %5zu %-6s %9s\n", p.label.c_str(), fmt(o.median).c_str(),
                    range(o).c_str(), fmt(t.median).c_str(), range(t).c_str(), std::max(o.n, t.n), p.unit.c_str(),
                    ratio(o, t).c_str());
    }
    for (const auto &p : pairs())
        if (!p.note.empty()) std::printf("%s: %s\n", p.key.c_str(), p.note.c_str());
    if (a.contains("spawn_true_ms")) {
        Stats t = stats(a["spawn_true_ms"].get<std::vector<double>>());
        std::printf("noise: spawn+wait of /bin/true between the runs: median %s ms, %s ms, n %zu\n",
                    fmt(t.median).c_str(), range(t).c_str(), t.n);
    }
    for (const auto &p : pairs()) {
        if (!p.per_batch) continue;
        auto ob = batch_medians(p.ours, p.per_batch), tb = batch_medians(p.theirs, p.per_batch);
        if (ob.size() < 2) continue;
        std::printf("noise: %s batch medians (%zu runs each): ours [%s] spread %.1f%%, theirs [%s] spread %.1f%%\n",
                    p.key.c_str(), p.per_batch, list(ob).c_str(), spread_pct(ob), list(tb).c_str(), spread_pct(tb));
    }
    for (const auto &n : not_comparable()) std::printf("not compared: %s\n", n.c_str());
}

void print_machine() {
    const json &m = meta();
    std::printf("machine: %s, nproc %s, kernel %s; load average at start %s, at end %s\n",
                m.value("cpu", "?").c_str(), std::to_string(m.value("nproc", 0)).c_str(), m.value("kernel", "?").c_str(),
                m.value("loadavg_start", "?").c_str(), m.value("loadavg_end", "?").c_str());
    std::printf("state dirs: under %s (%s)\n", m.value("state_dirs_in", "?").c_str(), m.value("state_fs", "?").c_str());
    if (m.contains("noise"))
        for (const auto &[key, n] : m["noise"].items())
            std::printf("noise: %s batch medians [%s], spread %.1f%% (max-min)/min\n", key.c_str(),
                        list(n["batch_medians"].get<std::vector<double>>()).c_str(), n["spread_pct"].get<double>());
}

// The details some rows carry beside their median.
void print_row_details() {
    for (const auto &r : rows())
        if (r.extra.contains("syscalls") && !r.extra["syscalls"].get<std::string>().empty())
            std::printf("%s: %s\n", r.key.c_str(), r.extra["syscalls"].get<std::string>().c_str());
    for (const auto &r : rows())
        if (r.key.rfind("watcher_ctxsw_", 0) == 0)
            std::printf("%s: cpu ticks %s, read/write syscalls %s\n", r.key.c_str(), r.extra["cpu_ticks"].dump().c_str(),
                        r.extra["read_write_syscalls"].dump().c_str());
    for (const auto &r : rows())
        if (r.key.rfind("watcher_rss_", 0) == 0)
            std::printf("%s: RssAnon %s kB, RssFile %s kB\n", r.key.c_str(), r.extra["RssAnon_kB"].dump().c_str(),
                        r.extra["RssFile_kB"].dump().c_str());
    for (const auto &r : rows())
        if (r.key == "admin_start")
            std::printf("admin start: median of the first 10 %.2f ms, of the last 10 %.2f ms\n",
                        r.extra["first10_median_ms"].get<double>(), r.extra["last10_median_ms"].get<double>());
    for (const auto &r : rows())
        if (r.key.rfind("throughput_", 0) == 0 && r.extra.contains("use_worst_p99_us_per_rep"))
            std::printf("%s: %s processes, %s s per repetition, errors %s; worst p99 of one use per repetition %s us; "
                        "CPU per 1000 transactions: workers %.0f ms, watchers %.0f ms\n",
                        r.key.c_str(), r.extra["processes"].dump().c_str(), r.extra["seconds_per_rep"].dump().c_str(),
                        r.extra["errors"].dump().c_str(), r.extra["use_worst_p99_us_per_rep"].dump().c_str(),
                        r.extra["worker_cpu_ms_per_1000_tx"].get<double>(),
                        r.extra["watcher_cpu_ms_per_1000_tx"].get<double>());
    for (const auto &r : rows())
        if (r.key == "watchers_pss_total")
            std::printf("watchers: total RSS %.1f MiB (shared pages counted in each), total PSS_Anon %.1f MiB\n",
                        r.extra["rss_total_MiB"].get<double>(), r.extra["pss_anon_total_MiB"].get<double>());
    for (const auto &r : rows())
        if (r.key == "watchers_woke")
            std::printf("watchers: %s had no inotify instance (fs.inotify.max_user_instances = %s): those check their log's size every 10 s instead\n",
                        r.extra["without_inotify"].dump().c_str(), r.extra["max_user_instances"].get<std::string>().c_str());
}

}  // namespace

void print_report(const json &previous) {
    if (!rows().empty() || pairs().empty()) print_rows(previous);
    print_machine();
    print_row_details();
    if (!pairs().empty() || !not_comparable().empty()) print_side_by_side();
    if (previous.is_object())
        std::printf("compared with: run of %s\n",
                    previous.contains("meta") ? previous["meta"].value("date", std::string("?")).c_str() : "?");
    for (const auto &e : errors()) std::printf("ERROR: %s\n", e.c_str());
    std::fflush(stdout);
}

}  // namespace bench
