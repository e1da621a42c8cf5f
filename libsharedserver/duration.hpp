// Durations as people write them: 500ms, 90s, 30m, 1h, 2h30m.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "error.hpp"

namespace sharedserver {

inline constexpr int64_t default_grace_period_ms = 5 * 60 * 1000;
inline constexpr int64_t default_stop_timeout_ms = 5 * 1000;

// The longest duration parse_duration() accepts (about 73 million years), so
// that adding one to a clock cannot overflow.
inline constexpr int64_t max_duration_ms = INT64_MAX / 4;

// `what` names the option in the error message ("grace period").
Result<int64_t> parse_duration(std::string_view text, std::string_view what = "duration");

// The shortest text parse_duration() turns back into `ms` ("2h30m", "500ms", "0s");
// past max_duration_ms, the text of max_duration_ms (it still parses).
std::string format_duration(int64_t ms);

}  // namespace sharedserver
