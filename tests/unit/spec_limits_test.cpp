// What a definition may hold: everything normalize_spec accepts must give
// records that every reader reads back as written.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "duration.hpp"
#include "files.hpp"
#include "lifecycle.hpp"
#include "names.hpp"
#include "records.hpp"
#include "spec_limits.hpp"
#include "support.hpp"

using namespace sharedserver;

namespace {

const ServerFiles files{"/run/user/1000/sharedserver", "web"};

ServerSpec spec_with(std::vector<std::string> argv) {
    ServerSpec spec;
    spec.argv = std::move(argv);
    spec.grace_period_ms = -1;
    spec.log_max_size = -1;
    spec.restart.max_restarts = -1;
    spec.restart.window_ms = -1;
    return spec;
}

Error refused(const ServerSpec &spec) {
    auto normalized = normalize_spec(spec, files);
    REQUIRE_FALSE(normalized.has_value());
    CHECK(normalized.error().code == SHAREDSERVER_EINVALID);
    CHECK(normalized.error().message.find('\n') == std::string::npos);
    return normalized.error();
}

// A record of `spec` with every list as long as it can get.
ServerRecord fullest_record(const ServerSpec &spec) {
    ServerRecord r;
    r.name = std::string(max_name_length, 'n');
    r.server = {4194304, UINT64_MAX};
    r.pgid = 4194304;
    r.watcher = {4194303, UINT64_MAX};
    r.boot_id = "0f1e2d3c-aaaa-bbbb-cccc-000000000000";
    r.spec = spec;
    r.grace_deadline_ms = INT64_MAX;
    r.started_at_ms = INT64_MAX;
    r.ready_at_ms = INT64_MAX;
    r.restarts_boot_ms.assign(max_restarts_limit, INT64_MIN);
    return r;
}

}  // namespace

TEST_SUITE("spec limits") {

TEST_CASE("UTF-8 is checked to the byte: overlong forms, surrogates and truncated sequences are not") {
    CHECK(invalid_utf8_at("plain ascii") == std::string::npos);
    CHECK(invalid_utf8_at("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == std::string::npos);
    CHECK(invalid_utf8_at("caf\xe9") == 3);
    CHECK(invalid_utf8_at("\xc0\xaf") == 0);          // overlong '/'
    CHECK(invalid_utf8_at("ab\xed\xa0\x80") == 2);    // a UTF-16 surrogate
    CHECK(invalid_utf8_at("\xf4\x90\x80\x80") == 0);  // past U+10FFFF
    CHECK(invalid_utf8_at("x\xe2\x82") == 1);         // cut short
    CHECK(invalid_utf8_at("\x80") == 0);
}

TEST_CASE("a command of 1.2 MB is refused in one line that names the limit") {
    std::vector<std::string> argv = {"sh", "-c", "sleep 1000"};
    for (int i = 0; i < 12; ++i) argv.push_back(std::string(100'000, 'x'));
    Error error = refused(spec_with(argv));
    CHECK(error.message ==
          "the definition of \"web\" is too large: its command takes 1200044 bytes (argument 3 of the command alone "
          "100002), and the command, env, working dir, log file and readiness target may take 64 KiB together; pass "
          "large data in a file");
}

TEST_CASE("the limit counts bytes as stored: control characters take six") {
    ServerSpec spec = spec_with({"sh", std::string(12'000, '\x01')});
    Error error = refused(spec);
    CHECK(error.message.find("its command takes 72006 bytes (argument 1 of the command alone 72002)") != std::string::npos);
}

TEST_CASE("a large env is named as the part at fault") {
    ServerSpec spec = spec_with({"sleep", "1000"});
    spec.env = {"A=1", "BIG=" + std::string(70'000, 'v')};
    Error error = refused(spec);
    CHECK(error.message.find("its env takes 70011 bytes (env entry 2 alone 70006)") != std::string::npos);
}

TEST_CASE("bytes that are not UTF-8 are refused wherever they are, naming where") {
    CHECK(refused(spec_with({"sh", "-c", "sleep 1000", "\xff\xfe"})).message ==
          "argument 3 of the command of \"web\" is not valid UTF-8 (byte 0xff at offset 0): records are JSON text and "
          "cannot keep such bytes; pass them in a file");
    ServerSpec env = spec_with({"sleep", "1000"});
    env.env = {"A=caf\xe9"};
    CHECK(refused(env).message.starts_with("env entry 1 of \"web\" is not valid UTF-8 (byte 0xe9 at offset 5)"));
    ServerSpec dir = spec_with({"sleep", "1000"});
    dir.working_dir = "/tmp/\xff";
    CHECK(refused(dir).message.starts_with("the working dir of \"web\" is not valid UTF-8"));
    ServerSpec log = spec_with({"sleep", "1000"});
    log.log_file = "/tmp/\xc3";
    CHECK(refused(log).message.starts_with("the log file of \"web\" is not valid UTF-8"));
}

TEST_CASE("durations past the longest one and more than 1000 restarts are refused") {
    ServerSpec grace = spec_with({"sleep", "1000"});
    grace.grace_period_ms = INT64_MAX;
    CHECK(refused(grace).message.starts_with("invalid grace period of \"web\": 9223372036854775807 ms is longer"));
    ServerSpec window = spec_with({"sleep", "1000"});
    window.restart.window_ms = max_duration_ms + 1;
    CHECK(refused(window).message.starts_with("invalid restart window of \"web\""));
    ServerSpec timeout = spec_with({"sleep", "1000"});
    timeout.ready.kind = SHAREDSERVER_PROBE_PORT;
    timeout.ready.target = "8080";
    timeout.ready.timeout_ms = INT64_MAX;
    CHECK(refused(timeout).message.starts_with("invalid readiness timeout of \"web\""));
    ServerSpec restarts = spec_with({"sleep", "1000"});
    restarts.restart.max_restarts = 99'999;
    CHECK(refused(restarts).message == "invalid max restarts 99999 of \"web\": expected a number from 0 to 1000");
    restarts.restart.max_restarts = 1000;
    CHECK(normalize_spec(restarts, files).has_value());
}

TEST_CASE("metadata is UTF-8 of at most 1 KiB") {
    CHECK(check_metadata(std::string(1024, 'm')).has_value());
    CHECK(check_metadata(std::string(1025, 'm')).error().message ==
          "the client's metadata is 1025 bytes; it may take 1024 (keep a short label there, and larger data in a file)");
    CHECK(check_metadata("\xff").error().message.starts_with("the client's metadata is not valid UTF-8"));
}

TEST_CASE("every definition normalize_spec accepts gives a record that reads back as written") {
    // The worst case the limits allow: a definition of the largest size, made
    // of the characters JSON escapes most, in a record whose every other
    // field is at its longest.
    std::vector<ServerSpec> largest;
    largest.push_back(spec_with({"sh", std::string(max_definition_size / 6 - 200, '\x01')}));
    largest.push_back(spec_with({"sh", std::string(max_definition_size - 300, 'x')}));
    ServerSpec many = spec_with({"sh"});
    while (many.argv.size() * 3 < max_definition_size - 300) many.argv.push_back("");
    largest.push_back(many);
    ServerSpec text = spec_with({"sh", std::string(max_definition_size / 3 - 300, ' ')});
    for (std::size_t i = 0; i < text.argv[1].size(); i += 3) text.argv[1].replace(i, 3, "\xe2\x82\xac");
    largest.push_back(text);
    for (const ServerSpec &spec : largest) {
        auto normalized = normalize_spec(spec, files);
        REQUIRE_MESSAGE(normalized.has_value(), normalized.error().message);
        ServerRecord record = fullest_record(*normalized);
        std::string json = to_json(record);
        CHECK(json.size() < max_record_size / 4);
        auto parsed = parse_server_record(json, files.server());
        REQUIRE(parsed.has_value());
        CHECK(*parsed == record);
    }
}

TEST_CASE("a record larger than any reader accepts is refused by its writer") {
    testing::TempDir dir;
    ServerFiles here{dir.path(), "web"};
    ClientMap clients;
    for (pid_t pid = 2; clients.size() < 1200; ++pid) clients[pid] = {1, 1, std::string(1000, 'm')};
    auto saved = save_clients(here, clients);
    REQUIRE_FALSE(saved.has_value());
    CHECK(saved.error().message.find("more than the 1048576 a record may take; detach clients") != std::string::npos);
    CHECK_FALSE(file_exists(here.clients()));
}

}
