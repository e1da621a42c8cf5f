// Wall-clock time in unix milliseconds: what records and events store, because
// other processes (and people) read them.
#pragma once

#include <chrono>
#include <cstdint>

namespace sharedserver {

inline int64_t unix_now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

inline int64_t monotonic_now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace sharedserver
