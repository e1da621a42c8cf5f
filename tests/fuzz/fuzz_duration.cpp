// libFuzzer target: duration parsing ("500ms", "90s", "2h30m", "1d").
// Accepted durations are from 0 to INT64_MAX / 4 (the longest parse_duration
// takes, so adding one to a clock cannot overflow) and round-trip through
// format_duration; refusals are EINVALID with a message free of raw control
// characters. Formatting any value gives text that parses: the value itself,
// or the longest duration for one past it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "duration.hpp"

using namespace sharedserver;

namespace {
constexpr int64_t longest_ms = std::numeric_limits<int64_t>::max() / 4;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    auto ms = parse_duration(text, "grace period");
    if (ms) {
        if (*ms < 0 || *ms > longest_ms) std::abort();
        const std::string shown = format_duration(*ms);
        auto back = parse_duration(shown);
        if (!back || *back != *ms) std::abort();
    } else {
        if (ms.error().code != SHAREDSERVER_EINVALID) std::abort();
        for (unsigned char c : ms.error().message)
            if (c < 0x20 || c == 0x7f) std::abort();
    }
    // Formatting any value (the first 8 bytes) gives text that parses back.
    if (size >= sizeof(int64_t)) {
        int64_t value = 0;
        for (size_t i = 0; i < sizeof value; ++i) value = (value << 8) | data[i];
        const std::string shown = format_duration(value);
        auto back = parse_duration(shown);
        if (!back) std::abort();
        if (*back != std::clamp<int64_t>(value, 0, longest_ms)) std::abort();
    }
    return 0;
}
