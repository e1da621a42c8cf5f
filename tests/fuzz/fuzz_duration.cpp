// libFuzzer target: duration parsing ("500ms", "90s", "2h30m", "1d").
// Accepted durations are non-negative and round-trip through format_duration;
// refusals are EINVALID with a message free of raw control characters.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "duration.hpp"

using namespace sharedserver;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    auto ms = parse_duration(text, "grace period");
    if (ms) {
        if (*ms < 0) std::abort();
        const std::string shown = format_duration(*ms);
        auto back = parse_duration(shown);
        if (!back || *back != *ms) std::abort();
    } else {
        if (ms.error().code != SHAREDSERVER_EINVALID) std::abort();
        for (unsigned char c : ms.error().message)
            if (c < 0x20 || c == 0x7f) std::abort();
    }
    // Formatting any value never crashes and always parses back (for ms >= 0).
    if (size >= sizeof(int64_t)) {
        int64_t value = 0;
        for (size_t i = 0; i < sizeof value; ++i) value = (value << 8) | data[i];
        const std::string shown = format_duration(value);
        auto back = parse_duration(shown);
        if (!back) std::abort();
        if (value >= 0 && *back != value) std::abort();
    }
    return 0;
}
