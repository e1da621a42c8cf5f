// Order statistics of a row's samples.
#pragma once

#include <cstddef>
#include <vector>

namespace bench {

struct Stats {
    double median = 0, min = 0, max = 0, p90 = 0;
    std::size_t n = 0;
};

Stats stats(std::vector<double> v);

// The medians of consecutive batches of `per_batch` samples (a last partial batch is left out).
std::vector<double> batch_medians(const std::vector<double> &samples, std::size_t per_batch);

// The spread of batch medians, (max - min) / min in %: how noisy the machine was.
double spread_pct(const std::vector<double> &batch_medians);

}  // namespace bench
