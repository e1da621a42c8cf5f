// Both public headers as a C++17 program sees them: compiled with -std=c++17
// -Wall -Wextra -pedantic -Werror, after the project's -std=c++23.
#include <sharedserver/sharedserver.h>
#include <sharedserver/sharedserver.hpp>

#include <cstdio>
#include <cstring>

static_assert(__cplusplus == 201703L, "this test must be compiled as C++17");

int main() {
    int failures = 0;
    sharedserver_use_options use = SHAREDSERVER_USE_OPTIONS_INIT;
    sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
    sharedserver_stop_options stop = SHAREDSERVER_STOP_OPTIONS_INIT;
    sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
    if (use.grace_period_ms != -1 || result.version != SHAREDSERVER_USE_RESULT_VERSION || stop.timeout_ms != -1 ||
        buf.ptr != nullptr)
        ++failures;

    if (sharedserver::version() != SHAREDSERVER_VERSION_STRING) ++failures;
    if (sharedserver::abi_version() != SHAREDSERVER_ABI_VERSION) ++failures;
    if (sharedserver::parse_duration("30m") != 1800000) ++failures;
    if (sharedserver::format_duration(9000000) != "2h30m") ++failures;
    if (std::strcmp(sharedserver::to_string(sharedserver::State::active), "active") != 0) ++failures;
    try {
        sharedserver::validate_name("a/b");
        ++failures;
    } catch (const sharedserver::Error &e) {
        if (e.code() != SHAREDSERVER_EINVALID || std::strstr(e.what(), "\"a/b\"") == nullptr) ++failures;
    }
    try {
        sharedserver::parse_duration("5x");
        ++failures;
    } catch (const sharedserver::Error &e) {
        if (e.code() != SHAREDSERVER_EINVALID) ++failures;
    }
    sharedserver::UseOptions options;
    options.command = {"sleep", "1"};
    sharedserver::Info info;
    if (info.refcount() != 0 || info.state != sharedserver::State::stopped) ++failures;

    if (failures) std::fprintf(stderr, "cpp17_header: %d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
