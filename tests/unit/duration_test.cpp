#include <doctest/doctest.h>

#include <string>

#include "duration.hpp"

using namespace sharedserver;

namespace {

std::string expected_hint = ": expected a number followed by ms, s, m, h or d (e.g. 500ms, 90s, 30m, 2h30m)";

int64_t parse_ok(std::string_view text) {
    auto result = parse_duration(text);
    INFO("text: ", std::string(text));
    REQUIRE(result.has_value());
    return *result;
}

std::string parse_error(std::string_view text, std::string_view what = "duration") {
    auto result = parse_duration(text, what);
    INFO("text: ", std::string(text));
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_EINVALID);
    return result.error().message;
}

}  // namespace

TEST_SUITE("duration") {

TEST_CASE("each unit parses to milliseconds") {
    CHECK(parse_ok("500ms") == 500);
    CHECK(parse_ok("90s") == 90'000);
    CHECK(parse_ok("30m") == 1'800'000);
    CHECK(parse_ok("1h") == 3'600'000);
    CHECK(parse_ok("2h30m") == 9'000'000);
    CHECK(parse_ok("0s") == 0);
    CHECK(parse_ok("1d") == 86'400'000);
    CHECK(parse_ok("1h1m1s1ms") == 3'661'001);
}

TEST_CASE("formatting gives the shortest text, largest unit first") {
    CHECK(format_duration(500) == "500ms");
    CHECK(format_duration(90'000) == "1m30s");
    CHECK(format_duration(1'800'000) == "30m");
    CHECK(format_duration(3'600'000) == "1h");
    CHECK(format_duration(9'000'000) == "2h30m");
    CHECK(format_duration(0) == "0s");
    CHECK(format_duration(86'400'000) == "1d");
    CHECK(format_duration(90'061'001) == "1d1h1m1s1ms");
    CHECK(format_duration(1) == "1ms");
}

TEST_CASE("parse and format round-trip") {
    for (const char *text : {"500ms", "90s", "30m", "1h", "2h30m", "0s", "1d"}) {
        INFO("text: ", text);
        int64_t ms = parse_ok(text);
        CHECK(parse_ok(format_duration(ms)) == ms);
    }
    for (int64_t ms : {int64_t{0}, int64_t{1}, int64_t{999}, int64_t{1000}, int64_t{61'001}, int64_t{86'400'001},
                       int64_t{7 * 86'400'000LL + 5}}) {
        INFO("ms: ", ms);
        CHECK(parse_ok(format_duration(ms)) == ms);
    }
}

TEST_CASE("a duration past the longest accepted formats as the longest, which parses back") {
    CHECK(parse_ok(format_duration(max_duration_ms)) == max_duration_ms);
    CHECK(parse_ok(format_duration(max_duration_ms + 1)) == max_duration_ms);
    CHECK(parse_ok(format_duration(INT64_MAX)) == max_duration_ms);
}

TEST_CASE("a negative duration formats as 0s") {
    CHECK(format_duration(-5) == "0s");
}

TEST_CASE("an empty duration is refused") {
    CHECK(parse_error("") == "invalid duration \"\"" + expected_hint);
}

TEST_CASE("a number without a unit is refused") {
    CHECK(parse_error("5") == "invalid duration \"5\"" + expected_hint);
    CHECK(parse_error("1h30") == "invalid duration \"1h30\"" + expected_hint);
}

TEST_CASE("an unknown unit is refused") {
    CHECK(parse_error("5x") == "invalid duration \"5x\"" + expected_hint);
    CHECK(parse_error("5 s") == "invalid duration \"5 s\"" + expected_hint);
    CHECK(parse_error("1.5h") == "invalid duration \"1.5h\"" + expected_hint);
}

TEST_CASE("a unit without a number is refused") {
    CHECK(parse_error("m") == "invalid duration \"m\"" + expected_hint);
    CHECK(parse_error("1hm") == "invalid duration \"1hm\"" + expected_hint);
}

TEST_CASE("a negative duration is refused") {
    CHECK(parse_error("-1s") == "invalid duration \"-1s\"" + expected_hint);
}

TEST_CASE("durations too large for 64-bit milliseconds are refused, not wrapped") {
    CHECK(parse_error("99999999999999999999s") == "invalid duration \"99999999999999999999s\"" + expected_hint);
    CHECK(parse_error("9223372036854775807ms") == "invalid duration \"9223372036854775807ms\"" + expected_hint);
    CHECK(parse_error("999999999999d") == "invalid duration \"999999999999d\"" + expected_hint);
    // Largest digit count the per-number guard lets through, times the largest unit.
    CHECK(parse_error("106751991169d") == "invalid duration \"106751991169d\"" + expected_hint);
    CHECK(parse_error("1d106751991160d") == "invalid duration \"1d106751991160d\"" + expected_hint);
}

TEST_CASE("the message names the option being parsed") {
    CHECK(parse_error("5x", "grace period") == "invalid grace period \"5x\"" + expected_hint);
}

}
