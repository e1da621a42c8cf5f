#include "results.hpp"

#include <cstdio>

namespace bench {
namespace {

std::vector<Row> g_rows;
std::vector<Pair> g_pairs;
std::vector<std::string> g_not_comparable;
json g_meta = json::object();
std::vector<std::string> g_errors;

std::string target_text(const char *relation, double target, const std::string &unit) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s %g %s", relation, target, unit.c_str());
    return buf;
}

json stats_json(const Stats &s) {
    return {{"median", s.median}, {"min", s.min}, {"max", s.max}, {"p90", s.p90}, {"n", s.n}};
}

}  // namespace

void add_row(const std::string &key, const std::string &label, const std::string &unit,
             const std::vector<double> &samples, std::optional<double> target, json extra) {
    Row r{key, label, unit, stats(samples), target, "", std::move(extra)};
    r.target_text = target ? target_text("<=", *target, unit) : "(report)";
    g_rows.push_back(std::move(r));
    const Row &row = g_rows.back();
    std::fprintf(stderr, "  %-48s median %.3f %s (n=%zu)\n", row.label.c_str(), row.s.median, row.unit.c_str(), row.s.n);
}

void add_row_at_least(const std::string &key, const std::string &label, const std::string &unit,
                      const std::vector<double> &samples, double target, json extra) {
    add_row(key, label, unit, samples, target, std::move(extra));
    Row &r = g_rows.back();
    r.at_least = true;
    r.target_text = target_text(">=", target, unit);
}

void add_pair(Pair p) {
    Stats a = stats(p.ours), b = stats(p.theirs);
    std::fprintf(stderr, "  %-48s median %.3f vs %.3f %s (n=%zu, %zu)\n", p.label.c_str(), a.median, b.median,
                 p.unit.c_str(), a.n, b.n);
    g_pairs.push_back(std::move(p));
}

void add_not_comparable(const std::string &what) { g_not_comparable.push_back(what); }

void note_noise(const std::string &key, const std::vector<double> &batch_medians) {
    g_meta["noise"][key] = {{"batch_medians", batch_medians}, {"spread_pct", spread_pct(batch_medians)}};
}

void add_error(const std::string &error) { g_errors.push_back(error); }

bool passes(const Row &r) {
    if (!r.target) return true;
    return r.at_least ? r.s.median >= *r.target - 1e-9 : r.s.median <= *r.target + 1e-9;
}

std::vector<Row> &rows() { return g_rows; }
const std::vector<Pair> &pairs() { return g_pairs; }
const std::vector<std::string> &not_comparable() { return g_not_comparable; }
const std::vector<std::string> &errors() { return g_errors; }
json &meta() { return g_meta; }

json results_json() {
    json rows = json::array();
    for (const auto &r : g_rows) {
        json row = {{"key", r.key}, {"label", r.label}, {"unit", r.unit}};
        row.update(stats_json(r.s));
        row["target"] = r.target ? json(*r.target) : json(nullptr);
        row["status"] = r.target ? (passes(r) ? "ok" : "miss") : "report";
        row["extra"] = r.extra;
        rows.push_back(std::move(row));
    }
    json out = {{"meta", g_meta}, {"rows", rows}, {"errors", g_errors}};
    if (!g_pairs.empty() || !g_not_comparable.empty()) {
        json side = json::array();
        for (const auto &p : g_pairs) {
            Stats a = stats(p.ours), b = stats(p.theirs);
            side.push_back({{"key", p.key},
                            {"label", p.label},
                            {"unit", p.unit},
                            {"ours", stats_json(a)},
                            {"theirs", stats_json(b)},
                            {"ratio", b.median != 0 ? json(a.median / b.median) : json(nullptr)},
                            {"samples", {{"ours", p.ours}, {"theirs", p.theirs}}},
                            {"note", p.note}});
        }
        out["side_by_side"] = {{"rows", side}, {"not_comparable", g_not_comparable}};
    }
    return out;
}

}  // namespace bench
