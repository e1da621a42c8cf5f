#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "json_writer.hpp"
#include "status.hpp"

using namespace sharedserver;
using nlohmann::json;

namespace {

std::string written(const std::string &text) {
    std::string out;
    JsonWriter(out).value(std::string_view(text));
    return out;
}

ServerInfo running_info() {
    ServerInfo info;
    info.name = "web";
    info.state = SHAREDSERVER_GRACE;
    info.pid = 4242;
    info.watcher_pid = 4241;
    info.spec.argv = {"python3", "-m", "http.server", "{port}"};
    info.spec.env = {"A=\"quoted\"\\", "B=tab\there"};
    info.spec.working_dir = "/srv/é";
    info.spec.log_file = "/tmp/web.log";
    info.spec.grace_period_ms = 90'000;
    info.spec.ready.kind = SHAREDSERVER_PROBE_PORT;
    info.spec.restart.mode = SHAREDSERVER_RESTART_ON_FAILURE;
    info.port = 8000;
    info.started_at_ms = 1'700'000'000'123;
    info.ready_at_ms = 1'700'000'001'999;
    info.grace_deadline_ms = 1'700'000'090'000;
    info.restarts = 2;
    info.clients.push_back({4000, 1'700'000'000'500, "nvim\n\x01"});
    return info;
}

}  // namespace

TEST_CASE("strings are escaped as the JSON library escapes them") {
    for (std::string text : {std::string("plain"), std::string("\"\\/"), std::string("\b\f\n\r\t"),
                             std::string("\x01\x1f\x7f", 3), std::string("é ✓ 😀"), std::string()}) {
        CHECK(written(text) == json(text).dump());
    }
    CHECK(written(std::string("nul\0inside", 10)) == json(std::string("nul\0inside", 10)).dump());
}

TEST_CASE("text that is not UTF-8 is written with U+FFFD, not refused") {
    std::string out = written("bad \xff byte");
    CHECK(json::parse(out).get<std::string>() == "bad \xEF\xBF\xBD byte");
}

TEST_CASE("an info is written as the document tree would print it, keys in order") {
    ServerInfo info = running_info();
    json expected = {
        {"name", "web"},
        {"state", "grace"},
        {"pid", 4242},
        {"refcount", 1},
        {"clients", json::array({{{"pid", 4000}, {"attached_at", 1'700'000'000}, {"metadata", "nvim\n\x01"}}})},
        {"command", info.spec.argv},
        {"env", info.spec.env},
        {"grace_period", "1m30s"},
        {"grace_period_ms", 90'000},
        {"grace_deadline", 1'700'000'090},
        {"watcher_pid", 4241},
        {"started_at", 1'700'000'000},
        {"working_dir", "/srv/é"},
        {"log_file", "/tmp/web.log"},
        {"log_max_size", info.spec.log_max_size},
        {"port", 8000},
        {"ready", json::parse(info_to_json(info))["ready"]},
        {"ready_at", 1'700'000'001},
        {"restart", "on-failure"},
        {"restarts", 2},
        {"error", nullptr},
        {"liveness", nullptr},
        {"depends_on", json::array()},
        {"needed_by", json::array()},
    };
    CHECK(json::parse(info_to_json(info))["ready"].is_string());
    CHECK(info_to_json(info) == expected.dump());

    ServerInfo stopped;
    stopped.name = "gone";
    stopped.error = "record is corrupt";
    stopped.state = SHAREDSERVER_CORRUPT;
    json nulls = json::parse(info_to_json(stopped));
    for (const char *key : {"pid", "grace_period", "grace_period_ms", "watcher_pid", "started_at", "working_dir",
                            "log_file", "log_max_size", "ready", "restart", "port", "ready_at", "grace_deadline"})
        CHECK_MESSAGE(nulls[key].is_null(), key);
    CHECK(nulls["error"] == "record is corrupt");
    CHECK(infos_to_json({info, stopped}) == "[" + info_to_json(info) + "," + info_to_json(stopped) + "]");
    CHECK(infos_to_json({}) == "[]");
}
