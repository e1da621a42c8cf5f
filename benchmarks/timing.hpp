// Clocks of the benchmark: wall time on the monotonic clock, CPU time of the
// caller, and waiting for a condition with a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <thread>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double since_us(Clock::time_point t0) {
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

inline int64_t unix_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

inline int64_t mono_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline double cpu_clock_us(clockid_t clock) {
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// CPU time of the calling thread (user + system), in microseconds: unlike the
// wall clock it does not grow when other processes compete for the CPUs.
inline double thread_cpu_us() { return cpu_clock_us(CLOCK_THREAD_CPUTIME_ID); }

inline void sleep_ms(double ms) {
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(ms * 1000)));
}

// Polls `done` every `step_ms` until it holds or `timeout_ms` passed; its last answer.
template <class Predicate>
bool wait_until(Predicate done, double timeout_ms, double step_ms = 1) {
    auto until = Clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeout_ms * 1000));
    while (!done()) {
        if (Clock::now() >= until) return done();
        sleep_ms(step_ms);
    }
    return true;
}

}  // namespace bench
