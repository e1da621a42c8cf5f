// The one definition reader: every key of the table, its defaults, limits
// and messages, and the round trip through definition_to_json.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "definition.hpp"
#include "enums.hpp"
#include "project.hpp"

using namespace sharedserver;
using nlohmann::json;

namespace {

Definition parsed(const std::string &text, const std::string &base = "/base") {
    auto def = parse_definition_text(text, base);
    REQUIRE_MESSAGE(def.has_value(), def.error().message);
    return *def;
}

Error refused(const std::string &text) {
    auto def = parse_definition_text(text, "/base");
    REQUIRE_FALSE(def.has_value());
    CHECK(def.error().code == SHAREDSERVER_EINVALID);
    CHECK(def.error().message.find('\n') == std::string::npos);
    return def.error();
}

}  // namespace

TEST_SUITE("definition") {

TEST_CASE("every key of a full definition is read") {
    Definition def = parsed(R"({"command": "redis-server", "args": ["--port", "{port}"], "env": {"A": "1"},
        "working_dir": "srv", "log_file": "/tmp/r.log", "idle_timeout": "30m", "lazy": true,
        "ready": {"port": true, "timeout": "10s", "interval": 50}, "port": "auto", "restart": "on-failure",
        "max_restarts": 3, "restart_window": "2m", "on_mismatch": "restart", "log_max_size": "1M"})");
    CHECK(def.spec.argv == std::vector<std::string>{"redis-server", "--port", "{port}"});
    CHECK(def.spec.env == std::vector<std::string>{"A=1"});
    CHECK(def.spec.working_dir == "/base/srv");
    CHECK(def.working_dir_given);
    CHECK(def.spec.log_file == "/tmp/r.log");
    CHECK(def.spec.grace_period_ms == 30 * 60 * 1000);
    CHECK(def.lazy);
    CHECK(def.spec.ready.kind == SHAREDSERVER_PROBE_PORT);
    CHECK(def.spec.ready.timeout_ms == 10'000);
    CHECK(def.spec.ready.interval_ms == 50);
    CHECK(def.spec.port == SHAREDSERVER_PORT_AUTO);
    CHECK(def.spec.restart.mode == SHAREDSERVER_RESTART_ON_FAILURE);
    CHECK(def.spec.restart.max_restarts == 3);
    CHECK(def.spec.restart.window_ms == 120'000);
    CHECK(def.on_mismatch == SHAREDSERVER_MISMATCH_RESTART);
    CHECK(def.spec.log_max_size == 1024 * 1024);
}

TEST_CASE("a command list is the whole argv, and args may come before it") {
    CHECK(parsed(R"({"command": ["sh", "-c", "exit 0"]})").spec.argv == std::vector<std::string>{"sh", "-c", "exit 0"});
    CHECK(parsed(R"({"args": ["b"], "command": "a"})").spec.argv == std::vector<std::string>{"a", "b"});
}

TEST_CASE("the project file's nested restart form and grace_period, the alias, are accepted") {
    Definition def = parsed(R"({"command": "x", "restart": {"policy": "always", "max_restarts": 0, "window": "5s"},
                                "grace_period": 1500})");
    CHECK(def.spec.restart.mode == SHAREDSERVER_RESTART_ALWAYS);
    CHECK(def.spec.restart.max_restarts == 0);
    CHECK(def.spec.restart.window_ms == 5000);
    CHECK(def.spec.grace_period_ms == 1500);
}

TEST_CASE("unset values stay unset until the server is named; no command only attaches") {
    Definition def = parsed(R"({})");
    CHECK(def.spec.argv.empty());
    CHECK(def.spec.grace_period_ms == -1);
    CHECK(def.spec.log_max_size == -1);
    CHECK_FALSE(def.working_dir_given);
}

TEST_CASE("a NUL byte, which JSON can carry and exec cannot, is refused wherever it is") {
    // Once "\u0000" reached exec intact and the program ran with its argument cut short.
    Error e = refused(R"({"command": ["sleep", "1000\u0000; rm -rf ~"]})");
    CHECK(e.message == "command: argument 1 of the command contains a NUL byte (\\u0000), which no C string can carry");
    CHECK(e.key == "command");
    CHECK(refused(R"({"command": "x", "env": {"A": "1\u0000"}})").key == "env");
    CHECK(refused(R"({"command": "x", "log_file": "/tmp/a\u0000b"})").key == "log_file");
    CHECK(refused(R"({"command": "x", "ready": {"cmd": "true\u0000"}})").key == "ready");
}

TEST_CASE("errors start with the key path and carry the key") {
    Error e = refused(R"({"command": "x", "idle_timeout": "5x"})");
    CHECK(e.message == "idle_timeout: \"5x\" is not a duration (use e.g. 500ms, 90s, 30m, 2h30m)");
    CHECK(e.key == "idle_timeout");
    e = refused(R"({"command": "x", "ready": {"port": 70000}})");
    CHECK(e.message == "ready.port: 70000 is not a port: use \"auto\" or a number from 1 to 65535");
    CHECK(e.key == "ready.port");
    e = refused(R"({"command": "x", "colour": "red"})");
    CHECK(e.message.starts_with("colour: unknown option (expected one of command, args, env,"));
    CHECK(e.message.find("log_max_size") != std::string::npos);
    e = refused(R"({"command": "x", "": 1})");  // found by fuzz_definition
    CHECK(e.message.starts_with("\"\": unknown option (expected one of command,"));
    CHECK(e.key == "\"\"");
    e = refused(R"({"command": "x", "ready": {"port": 80, "timeout": 0}})");  // once the 30s default, silently
    CHECK(e.message == "ready.timeout: must be longer than 0 (leave it out for the default)");
    e = refused(R"({"command": "x", "ready": {"port": 80, "interval": "0s"}})");
    CHECK(e.key == "ready.interval");
    e = refused(R"({"command": "x", "restart": {"max_restarts": 3}, "max_restarts": 4})");  // once: 3, by key order
    CHECK(e.message == "max_restarts: is also given as restart.max_restarts: give only one of them");
    e = refused(R"({"command": "x", "restart": {"window": "1m"}, "restart_window": "2m"})");
    CHECK(e.key == "restart_window");
    e = refused(R"({"command": "x", "restart": {"": 1}})");
    CHECK(e.message.starts_with("restart.\"\": unknown key"));
    e = refused(R"({"command": "x", "restart": "sometimes"})");
    CHECK(e.message == "restart: \"sometimes\" is not a restart policy: use \"no\", \"on-failure\" or \"always\"");
    e = refused(R"({"command": "x", "max_restarts": 1001})");
    CHECK(e.message == "max_restarts: 1001 is not a count from 0 to 1000");
    e = refused(R"({"command": "x", "on_mismatch": 1})");
    CHECK(e.message == "on_mismatch: 1 is not a mismatch mode: use \"warn\", \"error\" or \"restart\"");
    e = refused(R"({"command": "x", "log_max_size": "10Q"})");
    CHECK(e.key == "log_max_size");
    e = refused(R"({"command": "x", "ready": {"port": true}})");
    CHECK(e.key == "ready.port");
    CHECK(e.message.starts_with("ready.port: the port probe has no port"));
    e = refused(R"({"command": "x", "env": {"A": 1}})");
    CHECK(e.message == "env.A: expected a string, got number");
    e = refused(R"({"command": "x", "idle_timeout": "1m", "grace_period": "2m"})");
    CHECK(e.key == "grace_period");
    e = refused(R"({"command": "x", "idle_timeout": -1})");
    CHECK(e.key == "idle_timeout");
    e = refused(R"([1])");
    CHECK(e.message.starts_with("definition: expected an object"));
    e = refused("{");
    CHECK(e.message == "definition: not valid JSON text");
    e = refused(R"({"command": "x", "env": {"\u001b=": "x"}})");
    CHECK(e.message.find('\x1b') == std::string::npos);
}

TEST_CASE("the size limits of records are checked when the definition is read") {
    Error e = refused(R"({"command": "x", "args": [")" + std::string(70'000, 'a') + R"("]})");
    CHECK(e.key == "command");
    CHECK(e.message.starts_with("command: the definition is too large"));
}

TEST_CASE("the normalized JSON reads back to the same definition, defaults filled in") {
    Definition def = parsed(R"({"command": ["srv", "-v"], "env": {"B": "2", "A": "1"}, "ready": {"http": "http://127.0.0.1:{port}/"},
                                "port": 8080, "working_dir": "/w"})");
    json out = definition_to_json(def);
    CHECK(out["idle_timeout"] == "5m");
    CHECK(out["max_restarts"] == 5);
    CHECK(out["restart_window"] == "1m");
    CHECK(out["log_max_size"] == 10 * 1024 * 1024);
    CHECK(out["ready"]["timeout"] == "30s");
    Definition again = parsed(out.dump());
    CHECK(again.spec == with_defaults(def.spec));
    CHECK(again.working_dir_given == def.working_dir_given);
    CHECK(again.on_mismatch == def.on_mismatch);
}

TEST_CASE("liveness: one repeatable probe, its interval, timeout and failures, with defaults") {
    Definition def = parsed(R"({"command": "srv", "port": "auto",
        "liveness": {"http": "http://127.0.0.1:{port}/health", "interval": "2s", "timeout": 300, "failures": 5}})");
    CHECK(def.spec.liveness.probe.kind == SHAREDSERVER_PROBE_HTTP);
    CHECK(def.spec.liveness.probe.target == "http://127.0.0.1:{port}/health");
    CHECK(def.spec.liveness.probe.interval_ms == 2000);
    CHECK(def.spec.liveness.probe.timeout_ms == 300);
    CHECK(def.spec.liveness.failures == 5);

    ServerSpec filled = with_defaults(parsed(R"({"command": "srv", "liveness": {"cmd": "true"}})").spec);
    CHECK(filled.liveness.probe.interval_ms == 10'000);
    CHECK(filled.liveness.probe.timeout_ms == 5'000);
    CHECK(filled.liveness.failures == 3);
    // The timeout defaults to no more than the interval.
    CHECK(with_defaults(parsed(R"({"command": "srv", "liveness": {"cmd": "true", "interval": "1s"}})").spec)
              .liveness.probe.timeout_ms == 1000);
    CHECK(with_defaults(parsed(R"({"command": "srv", "liveness": {"port": 80}})").spec).liveness.probe.target == "80");
    CHECK(with_defaults(parsed(R"({"command": "srv"})").spec).liveness == LivenessProbe{});

    Definition round = parsed(definition_to_json(def).dump());
    CHECK(with_defaults(round.spec).liveness == with_defaults(def.spec).liveness);
}

TEST_CASE("liveness refusals name the key and say what to do") {
    auto log = refused(R"({"command": "x", "liveness": {"log": "Ready"}})");
    CHECK(log.key == "liveness.log");
    CHECK(log.message == "liveness.log: a log pattern cannot show that a ready server still answers: use port, socket, http or cmd");
    CHECK(refused(R"({"command": "x", "liveness": {"interval": "1s"}})").message ==
          "liveness: give exactly one of port, socket, http or cmd");
    CHECK(refused(R"({"command": "x", "liveness": {"cmd": "a", "port": 80}})").key == "liveness");
    CHECK(refused(R"({"command": "x", "liveness": {"cmd": "true", "interval": "50ms"}})").message ==
          "liveness.interval: 50ms is too short: probe at most every 100ms");
    CHECK(refused(R"({"command": "x", "liveness": {"cmd": "true", "timeout": 0}})").key == "liveness.timeout");
    CHECK(refused(R"({"command": "x", "liveness": {"cmd": "true", "failures": 0}})").message ==
          "liveness.failures: 0 is not a count from 1 to 100");
    CHECK(refused(R"({"command": "x", "liveness": {"cmd": "true", "every": "1s"}})").key == "liveness.every");
    CHECK(refused(R"({"command": "x", "liveness": "port"})").key == "liveness");
    auto port = refused(R"({"command": "x", "liveness": {"port": true}})");
    CHECK(port.key == "liveness.port");
    CHECK(port.message.find("port probe has no port") != std::string::npos);
    auto url = refused(R"({"command": "x", "liveness": {"http": "https://x/"}})");
    CHECK(url.key == "liveness.http");
    CHECK(url.message.find("invalid liveness URL") != std::string::npos);
    CHECK(refused(R"({"command": "x", "liveness": {"cmd": ""}})").message.find("the liveness command is empty") !=
          std::string::npos);
}

TEST_CASE("the key table lists every key with a type and a doc") {
    json keys = json::parse(definition_keys_json());
    REQUIRE(keys.is_array());
    std::vector<std::string> names;
    for (const auto &k : keys) {
        names.push_back(k["key"]);
        CHECK_FALSE(k["doc"].get<std::string>().empty());
        CHECK_FALSE(k["type"].get<std::string>().empty());
    }
    for (const char *key : {"command", "args", "env", "working_dir", "log_file", "idle_timeout", "grace_period", "lazy",
                            "ready", "port", "restart", "max_restarts", "restart_window", "on_mismatch", "log_max_size"})
        CHECK(std::find(names.begin(), names.end(), key) != names.end());
}

TEST_CASE("a project file reads each server with the same table, prefixing the file and server") {
    auto project = parse_project(R"({"servers": {"r": {"command": "redis", "log_max_size": 4096, "on_mismatch": "error",
                                                        "max_restarts": 2}}})",
                                 "/p/sharedserver.json");
    REQUIRE_MESSAGE(project.has_value(), project.error().message);
    const ProjectServer *r = project->find("r");
    REQUIRE(r);
    CHECK(r->definition.spec.log_max_size == 4096);
    CHECK(r->definition.on_mismatch == SHAREDSERVER_MISMATCH_ERROR);
    CHECK(r->definition.spec.restart.max_restarts == 2);
    CHECK(r->definition.spec.working_dir == "/p");
    auto bad = parse_project(R"({"servers": {"r": {"command": "x", "ready": {"port": "x"}}}})", "/p/sharedserver.json");
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().message.starts_with("sharedserver.json: servers.r.ready.port: \"x\" is not a port"));
    CHECK(bad.error().key == "ready.port");
}

TEST_CASE("enum names come from one table and parse back") {
    for (int kind = SHAREDSERVER_ENUM_ERROR; kind <= SHAREDSERVER_ENUM_CHANGE; ++kind) {
        REQUIRE_FALSE(enum_entries(kind).empty());
        for (const auto &e : enum_entries(kind)) {
            auto back = enum_parse(kind, e.name);
            REQUIRE(back.has_value());
            CHECK(*back == e.value);
        }
    }
    CHECK(std::string(enum_name(SHAREDSERVER_ENUM_ERROR, SHAREDSERVER_ENOTRUNNING)) == "not-running");
    CHECK(std::string(enum_name(SHAREDSERVER_ENUM_STATE, 99)).empty());
    CHECK(enum_parse(SHAREDSERVER_ENUM_RESTART, "maybe").error().message ==
          "\"maybe\" is not a restart policy: use \"no\", \"on-failure\" or \"always\"");
}

}  // TEST_SUITE

TEST_CASE("upstream's camelCase keys are other names for ours, and two names of one key are refused") {
    Definition def = parsed(R"({"command": "c", "gracePeriod": "30m", "logFile": "c.log", "skipIfEnv": "C_URL",
                                "metadata": "m", "_scope": "s1"})");
    CHECK(def.spec.grace_period_ms == 30 * 60 * 1000);
    CHECK(def.spec.log_file == "/base/c.log");
    CHECK(def.skip_if_env == "C_URL");
    CHECK(def.metadata == "m");
    CHECK(def.scope == "s1");
    json written = definition_to_json(def);
    CHECK(written["skip_if_env"] == "C_URL");
    CHECK(written["metadata"] == "m");
    CHECK(written["_scope"] == "s1");
    CHECK(definition_to_json(parsed(written.dump())) == written);
    Error e = refused(R"({"command": "x", "idle_timeout": "1m", "gracePeriod": "2m"})");
    CHECK(e.message == "gracePeriod: is another name for idle_timeout: give only one of them");
    e = refused(R"({"command": "x", "logFile": "a", "log_file": "b"})");
    CHECK(e.message == "logFile: is another name for log_file: give only one of them");
    e = refused(R"({"command": "x", "skipIfEnv": 1})");
    CHECK(e.key == "skipIfEnv");
}

TEST_CASE("a project file: unknown keys are warnings, a lazy entry needs no command, profiles are read") {
    auto project = parse_project(R"({"servers": {"w": {"lazy": true, "futureKey": 1}, "c": {"command": "c"}},
                                     "profiles": {"p": ["c"]}, "version": 2})",
                                 "/p/.sharedserver/servers.json");
    REQUIRE_MESSAGE(project.has_value(), project.error().message);
    CHECK(project->warnings == std::vector<std::string>{
                                   ".sharedserver/servers.json: version: unknown key, ignored (expected servers, profiles)",
                                   ".sharedserver/servers.json: servers.w.futureKey: unknown option, ignored"});
    CHECK(project->find("w")->definition.spec.argv.empty());
    CHECK(project->profiles.at("p") == std::vector<std::string>{"c"});
    auto bad = parse_project(R"({"servers": {}, "profiles": {"p": "c"}})", "/p/.sharedserver.json");
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().message == ".sharedserver.json: profiles.p: expected a list of server names, got string");
}

TEST_CASE("${NAME} is expanded from the environment; anything else stays as written") {
    ::setenv("SHAREDSERVER_TEST_V", "ok", 1);
    ::unsetenv("SHAREDSERVER_TEST_UNSET");
    CHECK(expand_variables("a${SHAREDSERVER_TEST_V}b${SHAREDSERVER_TEST_V}") == "aokbok");
    CHECK(expand_variables("${SHAREDSERVER_TEST_UNSET}") == "${SHAREDSERVER_TEST_UNSET}");
    for (const char *kept : {"$SHAREDSERVER_TEST_V", "${}", "${1X}", "${SHAREDSERVER_TEST_V", "${A-B}", "$", "${"})
        CHECK(expand_variables(kept) == kept);
    json doc = json::parse(R"({"${SHAREDSERVER_TEST_V}": ["${SHAREDSERVER_TEST_V}", 1, {"k": "${SHAREDSERVER_TEST_V}"}]})");
    expand_variables_in(doc);
    CHECK(doc.dump() == R"({"${SHAREDSERVER_TEST_V}":["ok",1,{"k":"ok"}]})");
}
