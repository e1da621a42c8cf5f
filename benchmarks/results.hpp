// What a run found: one row per measurement (with its target), the
// side-by-side pairs of --against, facts about the machine, and errors.
#pragma once

#include "stats.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace bench {

using nlohmann::json;

struct Row {
    std::string key;    // stable, for --compare
    std::string label;
    std::string unit;   // us, ms, calls, MiB, ...
    Stats s;
    std::optional<double> target;  // median <= target; nullopt: report only
    std::string target_text;       // printed in the target column
    json extra = json::object();
    bool at_least = false;         // the target is a floor (median >= target), e.g. throughput
};

// One row measured on both CLIs of --against, run by run in turn.
struct Pair {
    Pair(std::string key_, std::string label_, std::string unit_)
        : key(std::move(key_)), label(std::move(label_)), unit(std::move(unit_)) {}
    std::string key;
    std::string label;
    std::string unit;
    std::vector<double> ours, theirs;  // the samples, in the order they were taken
    std::size_t per_batch = 0;         // runs per batch for the noise line (0: one window, no batches)
    std::string note;                  // what each tool's number means, when it differs
};

void add_row(const std::string &key, const std::string &label, const std::string &unit,
             const std::vector<double> &samples, std::optional<double> target, json extra = json::object());

// A row whose target is a floor: the median must reach it.
void add_row_at_least(const std::string &key, const std::string &label, const std::string &unit,
                      const std::vector<double> &samples, double target, json extra = json::object());

void add_pair(Pair p);

// Something of the other tool that cannot be measured as ours is: said, not faked.
void add_not_comparable(const std::string &what);

// The spread of the batch medians of a row: how noisy the machine was while it ran.
void note_noise(const std::string &key, const std::vector<double> &batch_medians);

void add_error(const std::string &error);

bool passes(const Row &r);

std::vector<Row> &rows();
const std::vector<Pair> &pairs();
const std::vector<std::string> &not_comparable();
const std::vector<std::string> &errors();
json &meta();  // machine, load average, state dirs, noise

json results_json();

}  // namespace bench
