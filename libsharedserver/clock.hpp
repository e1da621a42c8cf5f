// The two clocks of sharedserver.
//
// Deadlines a process acts on (a grace period's end, the restart window, a
// readiness probe's timeout) are CLOCK_BOOTTIME milliseconds: they do not
// move when the wall clock is set (NTP, `date -s`, a resumed VM), they count
// a suspended laptop's sleep toward a grace period, and they compare between
// the processes of one boot (records carry the boot id).
//
// Wall-clock unix milliseconds are only for display: what records and
// events show to people (started at, grace ends at, event times).
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>

namespace sharedserver {

inline int64_t unix_now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

inline int64_t boot_now_ms() {
    timespec now{};
    ::clock_gettime(CLOCK_BOOTTIME, &now);
    return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
}

// For short waits inside one process (a stop's timeout, a report's).
inline int64_t monotonic_now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// The wall-clock time at which a CLOCK_BOOTTIME deadline falls, as of now.
inline int64_t unix_time_of_boot_ms(int64_t boot_ms) { return unix_now_ms() + (boot_ms - boot_now_ms()); }

}  // namespace sharedserver
