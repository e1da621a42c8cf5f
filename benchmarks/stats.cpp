#include "stats.hpp"

#include <algorithm>
#include <cstddef>

namespace bench {

Stats stats(std::vector<double> v) {
    Stats s;
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    s.n = v.size();
    s.min = v.front();
    s.max = v.back();
    s.median = s.n % 2 ? v[s.n / 2] : (v[s.n / 2 - 1] + v[s.n / 2]) / 2;
    s.p90 = v[std::min(s.n - 1, static_cast<std::size_t>(0.9 * static_cast<double>(s.n)))];
    return s;
}

std::vector<double> batch_medians(const std::vector<double> &samples, std::size_t per_batch) {
    std::vector<double> out;
    for (std::size_t i = 0; per_batch && i + per_batch <= samples.size(); i += per_batch)
        out.push_back(stats({samples.begin() + static_cast<std::ptrdiff_t>(i),
                             samples.begin() + static_cast<std::ptrdiff_t>(i + per_batch)})
                          .median);
    return out;
}

double spread_pct(const std::vector<double> &batch_medians) {
    Stats b = stats(batch_medians);
    return b.min > 0 ? 100.0 * (b.max - b.min) / b.min : 0.0;
}

}  // namespace bench
