#include <doctest/doctest.h>

#include <unistd.h>

#include "clock.hpp"
#include "files.hpp"
#include "records.hpp"
#include "support.hpp"

using namespace sharedserver;
using testing::TempDir;

namespace {

ServerRecord sample_record() {
    ServerRecord r;
    r.name = "redis";
    r.server = {4242, 987654321};
    r.pgid = 4242;
    r.watcher = {4241, 987654300};
    r.boot_id = "0f1e2d3c-aaaa-bbbb-cccc-000000000000";
    r.spec.argv = {"redis-server", "--port", "6379", "arg with spaces", "quote\"d"};
    r.spec.env = {"A=1", "B=two words"};
    r.spec.working_dir = "/home/u/project";
    r.spec.log_file = "/run/user/1000/sharedserver/redis.log";
    r.spec.grace_period_ms = 90'000;
    r.stopping = true;
    r.grace_deadline_ms = 1'700'000'000'123;
    r.grace_deadline_boot_ms = 86'400'123;
    r.restarts_boot_ms = {86'000'000, 86'300'000};
    r.started_at_ms = 1'700'000'000'000;
    // Every other field too: the reader names each key by hand, and a key
    // it dropped must fail this round trip.
    r.watcher_wakes_on_signal = true;
    r.instance = "4f1c0de5";
    r.spec.ready = {SHAREDSERVER_PROBE_HTTP, "http://127.0.0.1:{port}/", 7'000, 50};
    r.spec.port = -1;
    r.spec.restart = {SHAREDSERVER_RESTART_ON_FAILURE, 3, 60'000};
    r.spec.log_max_size = 1 << 20;
    r.spec.depends_on = {"postgres", "redis"};
    r.port = 43210;
    r.ready_at_ms = 1'700'000'000'500;
    r.restarting = true;
    r.spec.liveness = {{SHAREDSERVER_PROBE_COMMAND, "curl -f localhost:{port}", 400, 1'500}, 4};
    r.liveness_failures = 2;
    r.liveness_failed_at_ms = 1'700'000'000'900;
    return r;
}

void check_same(const ServerRecord &a, const ServerRecord &b) {
    CHECK(a.schema == b.schema);
    CHECK(a.name == b.name);
    CHECK(a.server == b.server);
    CHECK(a.pgid == b.pgid);
    CHECK(a.watcher == b.watcher);
    CHECK(a.boot_id == b.boot_id);
    CHECK(a.spec.argv == b.spec.argv);
    CHECK(a.spec.env == b.spec.env);
    CHECK(a.spec.working_dir == b.spec.working_dir);
    CHECK(a.spec.log_file == b.spec.log_file);
    CHECK(a.spec.grace_period_ms == b.spec.grace_period_ms);
    CHECK(a.stopping == b.stopping);
    CHECK(a.grace_deadline_ms == b.grace_deadline_ms);
    CHECK(a.grace_deadline_boot_ms == b.grace_deadline_boot_ms);
    CHECK(a.restarts_boot_ms == b.restarts_boot_ms);
    CHECK(a.started_at_ms == b.started_at_ms);
    CHECK(a == b);  // and every field the checks above do not name
}

std::string corrupt_message(const std::string &path, const std::string &why) {
    return "record \"" + path + "\" is corrupt (" + why + "); repair it with doctor";
}

Error server_error(const std::string &text, const std::string &path = "/s/x.server.json") {
    auto r = parse_server_record(text, path);
    INFO("text: ", text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == SHAREDSERVER_ECORRUPT);
    CHECK(r.error().path == path);
    return r.error();
}

Error clients_error(const std::string &text, const std::string &path = "/s/x.clients.json") {
    auto r = parse_clients(text, path);
    INFO("text: ", text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == SHAREDSERVER_ECORRUPT);
    CHECK(r.error().path == path);
    return r.error();
}

}  // namespace

TEST_SUITE("records") {

TEST_CASE("a server record survives a JSON round trip field for field") {
    ServerRecord original = sample_record();
    auto parsed = parse_server_record(to_json(original), "/s/redis.server.json");
    REQUIRE(parsed.has_value());
    check_same(*parsed, original);
    CHECK(parsed->schema == record_schema_version);
}

TEST_CASE("a server record with non-UTF-8 argv bytes still serialises") {
    ServerRecord r = sample_record();
    r.spec.argv = {"echo", "caf\xe9"};
    std::string json;
    CHECK_NOTHROW(json = to_json(r));
}

TEST_CASE("a record of an older schema reads with defaults for the fields it lacks") {
    auto parsed = parse_server_record(R"({"pid": 123, "command": ["sleep", "100"]})", "/s/old.server.json");
    REQUIRE(parsed.has_value());
    CHECK(parsed->schema == 0);
    CHECK(parsed->server.pid == 123);
    CHECK(parsed->server.start == 0);
    CHECK(parsed->pgid == 123);  // the pgid defaults to the pid: servers lead their group
    CHECK(parsed->watcher.pid == 0);
    CHECK(parsed->boot_id == "");
    CHECK(parsed->spec.argv == std::vector<std::string>{"sleep", "100"});
    CHECK(parsed->spec.env.empty());
    CHECK(parsed->spec.grace_period_ms == 0);
    CHECK_FALSE(parsed->stopping);
    CHECK(parsed->grace_deadline_ms == 0);
}

TEST_CASE("null fields read as their defaults") {
    auto parsed = parse_server_record(R"({"pid": 5, "pgid": null, "env": null, "stopping": null})", "/s/n.server.json");
    REQUIRE(parsed.has_value());
    CHECK(parsed->pgid == 5);
    CHECK(parsed->spec.env.empty());
    CHECK_FALSE(parsed->stopping);
}

TEST_CASE("unknown fields from a newer schema are ignored") {
    auto parsed = parse_server_record(R"({"schema": 9, "pid": 7, "port": 8080, "readiness": {"tcp": 8080}})",
                                      "/s/new.server.json");
    REQUIRE(parsed.has_value());
    CHECK(parsed->schema == 9);
    CHECK(parsed->server.pid == 7);
}

TEST_CASE("a record that is not JSON is corrupt and names the file") {
    Error e = server_error("not json at all");
    CHECK(e.message == corrupt_message("/s/x.server.json", "not a JSON object"));
}

TEST_CASE("an empty or truncated record is corrupt") {
    CHECK(server_error("").message == corrupt_message("/s/x.server.json", "not a JSON object"));
    CHECK(server_error(R"({"pid": 12)").message == corrupt_message("/s/x.server.json", "not a JSON object"));
}

TEST_CASE("a record that is JSON but not an object is corrupt") {
    CHECK(server_error("[1, 2, 3]").message == corrupt_message("/s/x.server.json", "not a JSON object"));
    CHECK(server_error("42").message == corrupt_message("/s/x.server.json", "not a JSON object"));
    CHECK(server_error("null").message == corrupt_message("/s/x.server.json", "not a JSON object"));
}

TEST_CASE("a record without a pid is corrupt") {
    Error e = server_error(R"({"name": "x", "command": ["sleep", "1"]})");
    CHECK(e.message.starts_with("record \"/s/x.server.json\" is corrupt ("));
    CHECK(e.message.ends_with("); repair it with doctor"));
}

TEST_CASE("a record with a negative or zero pid is corrupt") {
    CHECK(server_error(R"({"pid": -1})").message == corrupt_message("/s/x.server.json", "pid -1 is not a process id"));
    CHECK(server_error(R"({"pid": 0})").message == corrupt_message("/s/x.server.json", "pid is not positive"));
}

TEST_CASE("a record whose fields have the wrong type is corrupt, not an exception") {
    server_error(R"({"pid": "123"})");
    server_error(R"({"pid": 1, "command": "sleep 1"})");
    server_error(R"({"pid": 1, "stopping": "yes"})");
}

TEST_CASE("a pid beyond pid_t is corrupt, not truncated into a valid pid") {
    // 4294967297 would truncate to 1 (init) as a 32-bit pid.
    server_error(R"({"pid": 4294967297})");
}

TEST_CASE("a client map survives a JSON round trip") {
    ClientMap clients;
    clients[100] = {11, 1'700'000'000'001, "nvim pid 100"};
    clients[200] = {22, 1'700'000'000'002, ""};
    clients[3] = {UINT64_MAX, 0, "quote \" backslash \\ newline \n é"};
    auto parsed = parse_clients(to_json(clients), "/s/x.clients.json");
    REQUIRE(parsed.has_value());
    REQUIRE(parsed->size() == 3);
    CHECK(parsed->at(3).start == UINT64_MAX);
    CHECK(parsed->at(3).metadata == clients[3].metadata);
    CHECK(parsed->at(100).start == 11);
    CHECK(parsed->at(100).attached_at_ms == 1'700'000'000'001);
    CHECK(parsed->at(100).metadata == "nvim pid 100");
    CHECK(parsed->at(200).start == 22);
    CHECK(parsed->at(200).metadata == "");
}

TEST_CASE("a client entry of an older schema reads with defaults") {
    auto parsed = parse_clients(R"({"clients": {"300": {}}})", "/s/x.clients.json");
    REQUIRE(parsed.has_value());
    REQUIRE(parsed->count(300) == 1);
    CHECK(parsed->at(300).start == 0);
    CHECK(parsed->at(300).metadata == "");
}

TEST_CASE("corrupt client maps are refused naming the file") {
    CHECK(clients_error("garbage").message == corrupt_message("/s/x.clients.json", "not a JSON object"));
    CHECK(clients_error("[]").message == corrupt_message("/s/x.clients.json", "not a JSON object"));
    clients_error(R"({"schema": 1})");
    CHECK(clients_error(R"({"clients": {"abc": {}}})").message.starts_with("record \"/s/x.clients.json\" is corrupt ("));
    CHECK(clients_error(R"({"clients": {"12x": {}}})").message ==
          corrupt_message("/s/x.clients.json", "client key \"12x\" is not a pid"));
    CHECK(clients_error(R"({"clients": {"-4": {}}})").message ==
          corrupt_message("/s/x.clients.json", "client key \"-4\" is not a pid"));
    CHECK(clients_error(R"({"clients": {"0": {}}})").message ==
          corrupt_message("/s/x.clients.json", "client key \"0\" is not a pid"));
    clients_error(R"({"clients": {"5": {"start": "x"}}})");
}

TEST_CASE("saved records load back from the state directory") {
    TempDir dir;
    ServerFiles files{dir.path(), "redis"};
    ServerRecord record = sample_record();
    REQUIRE(save_server_record(files, record).has_value());
    auto loaded = load_server_record(files);
    REQUIRE(loaded.has_value());
    REQUIRE(loaded->has_value());
    check_same(**loaded, record);
}

TEST_CASE("an absent server record loads as nullopt and absent clients as an empty map") {
    TempDir dir;
    ServerFiles files{dir.path(), "none"};
    auto record = load_server_record(files);
    REQUIRE(record.has_value());
    CHECK_FALSE(record->has_value());
    auto clients = load_clients(files);
    REQUIRE(clients.has_value());
    CHECK(clients->empty());
}

TEST_CASE("a corrupt record file on disk gives SHAREDSERVER_ECORRUPT naming that file") {
    TempDir dir;
    ServerFiles files{dir.path(), "broken"};
    testing::write_text(files.server(), "{{{");
    auto record = load_server_record(files);
    REQUIRE_FALSE(record.has_value());
    CHECK(record.error().code == SHAREDSERVER_ECORRUPT);
    CHECK(record.error().path == files.server());
    CHECK(record.error().message == corrupt_message(files.server(), "not a JSON object"));

    testing::write_text(files.clients(), "[]");
    auto clients = load_clients(files);
    REQUIRE_FALSE(clients.has_value());
    CHECK(clients.error().code == SHAREDSERVER_ECORRUPT);
    CHECK(clients.error().path == files.clients());
}

TEST_CASE("saving an empty client map removes clients.json: that is how grace begins") {
    TempDir dir;
    ServerFiles files{dir.path(), "g"};
    ClientMap one;
    one[1234] = {1, 2, ""};
    REQUIRE(save_clients(files, one).has_value());
    CHECK(file_exists(files.clients()));
    REQUIRE(save_clients(files, {}).has_value());
    CHECK_FALSE(file_exists(files.clients()));
    CHECK(save_clients(files, {}).has_value());
}

TEST_CASE("a record of this process with its start stamp is alive") {
    ServerRecord r;
    r.server = *identify_process(::getpid());
    r.boot_id = boot_id();
    CHECK(server_alive(r));
}

TEST_CASE("a record from another boot is stale even when the pid lives") {
    ServerRecord r;
    r.server = *identify_process(::getpid());
    r.watcher = r.server;
    r.boot_id = "00000000-0000-0000-0000-000000000000";
    CHECK_FALSE(server_alive(r));
    CHECK_FALSE(watcher_alive(r));
}

TEST_CASE("a record without a start stamp is not trusted") {
    ServerRecord r;
    r.server = {::getpid(), 0};
    CHECK_FALSE(server_alive(r));
}

TEST_CASE("a record with no watcher pid has no live watcher") {
    ServerRecord r;
    r.server = *identify_process(::getpid());
    CHECK_FALSE(watcher_alive(r));
}

TEST_CASE("a grace deadline is kept on the boot clock and shown on the wall clock") {
    ServerRecord r;
    r.spec.grace_period_ms = 30'000;
    int64_t boot_before = boot_now_ms(), unix_before = unix_now_ms();
    start_grace(r);
    CHECK(r.grace_deadline_boot_ms >= boot_before + 30'000);
    CHECK(r.grace_deadline_boot_ms <= boot_now_ms() + 30'000);
    CHECK(r.grace_deadline_ms >= unix_before + 30'000 - 5);
    CHECK(r.grace_deadline_ms <= unix_now_ms() + 30'000 + 5);
    CHECK(grace_deadline_boot(r) == r.grace_deadline_boot_ms);
    cancel_grace(r);
    CHECK(r.grace_deadline_ms == 0);
    CHECK(grace_deadline_boot(r) == 0);
}

TEST_CASE("a record written before boot deadlines existed gives its wall-clock deadline on the boot clock") {
    ServerRecord r;
    r.grace_deadline_ms = unix_now_ms() + 10'000;
    int64_t deadline = grace_deadline_boot(r);
    CHECK(deadline >= boot_now_ms() + 9'900);
    CHECK(deadline <= boot_now_ms() + 10'000);
}

}

TEST_CASE("a record read as it is scanned: unknown keys of any shape are skipped, known ones checked by name") {
    auto parsed = parse_server_record(
        R"({"future": {"deep": [1, {"x": null}], "more": "y"}, "pid": 7, "extra": [[1], {"a": [2]}],
            "command": ["sleep", "1000"], "ready": {"kind": 1, "target": "5432", "novel": {"z": 1}},
            "restart": {"mode": 2, "max_restarts": 3, "window_ms": 60000}, "pid_start": 18446744073709551615,
            "restarts_boot_ms": [-5, 10], "name": "db"})",
        "/s/x.server.json");
    REQUIRE(parsed.has_value());
    CHECK(parsed->server.pid == 7);
    CHECK(parsed->pgid == 7);  // absent: the server leads its group
    CHECK(parsed->server.start == UINT64_MAX);
    CHECK(parsed->spec.argv == std::vector<std::string>{"sleep", "1000"});
    CHECK(parsed->spec.ready.target == "5432");
    CHECK(parsed->spec.restart.max_restarts == 3);
    CHECK(parsed->restarts_boot_ms == std::vector<int64_t>{-5, 10});
    CHECK(parsed->name == "db");
}

TEST_CASE("a field of the wrong kind makes the record corrupt, naming the field") {
    auto why = [](const std::string &text) { return server_error(text).message; };
    CHECK(why(R"({"pid": 1.5})") == corrupt_message("/s/x.server.json", "pid is not an integer"));
    CHECK(why(R"({"pid": 1, "port": 1e3})") == corrupt_message("/s/x.server.json", "port is not an integer"));
    CHECK(why(R"({"pid": 1, "port": 4294967296})") ==
          corrupt_message("/s/x.server.json", "port 4294967296 is out of range"));
    CHECK(why(R"({"pid": 1, "pgid": 18446744073709551615})") ==
          corrupt_message("/s/x.server.json", "pgid is not a process id"));
    CHECK(why(R"({"pid": 1, "name": 5})") == corrupt_message("/s/x.server.json", "name is not a string"));
    CHECK(why(R"({"pid": 1, "stopping": 1})") == corrupt_message("/s/x.server.json", "stopping is not true or false"));
    CHECK(why(R"({"pid": 1, "command": ["a", 2]})") ==
          corrupt_message("/s/x.server.json", "command is not a list of strings"));
    CHECK(why(R"({"pid": 1, "env": {"A": "1"}})") == corrupt_message("/s/x.server.json", "env is not a list"));
    CHECK(why(R"({"pid": 1, "ready": {"timeout_ms": "5s"}})") ==
          corrupt_message("/s/x.server.json", "ready.timeout_ms is not an integer"));
    CHECK(why(R"({"pid": 1} trailing)") == corrupt_message("/s/x.server.json", "not a JSON object"));
    CHECK(why(R"({"pid": 1, "name": "a\u0000b"} {})") == corrupt_message("/s/x.server.json", "not a JSON object"));
}

TEST_CASE("a command or env with a nested value is corrupt, not silently shortened") {
    CHECK(server_error(R"({"pid": 1, "command": ["a", {"x": 1}]})").message ==
          corrupt_message("/s/x.server.json", "command is not a list of strings"));
    CHECK(server_error(R"({"pid": 1, "env": [["A=1"]]})").message ==
          corrupt_message("/s/x.server.json", "env is not a list of strings"));
}

TEST_CASE("a repeated key is read as its last value, arrays included") {
    auto parsed = parse_server_record(R"({"pid": 1, "command": ["a"], "command": ["b", "c"], "pid": 2})",
                                      "/s/x.server.json");
    REQUIRE(parsed.has_value());
    CHECK(parsed->server.pid == 2);
    CHECK(parsed->spec.argv == std::vector<std::string>{"b", "c"});
}
