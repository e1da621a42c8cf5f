#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>
#include <vector>

#include "clock.hpp"
#include "events.hpp"
#include "files.hpp"
#include "support.hpp"

using namespace sharedserver;
using nlohmann::json;
using testing::TempDir;

namespace {

std::vector<json> lines_of(const std::string &text) {
    std::vector<json> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
}

}  // namespace

TEST_SUITE("events") {

TEST_CASE("recorded events read back oldest first with a time and their fields") {
    TempDir dir;
    ServerFiles files{dir.path(), "redis"};
    int64_t before = unix_now_ms();
    record_event(files, "started", {{"pid", 10}, {"command", {"redis-server"}}});
    record_event(files, "attached", {{"client", 20}});
    int64_t after = unix_now_ms();
    auto text = read_events(files);
    REQUIRE(text.has_value());
    auto events = lines_of(*text);
    REQUIRE(events.size() == 2);
    CHECK(events[0]["event"] == "started");
    CHECK(events[0]["pid"] == 10);
    CHECK(events[0]["command"] == json::array({"redis-server"}));
    CHECK(events[1]["event"] == "attached");
    CHECK(events[1]["client"] == 20);
    for (const auto &e : events) {
        CHECK(e["at"].get<int64_t>() >= before);
        CHECK(e["at"].get<int64_t>() <= after);
    }
    CHECK(testing::mode_of(files.events()) == 0600);
}

TEST_CASE("an event's own fields cannot overwrite its kind") {
    TempDir dir;
    ServerFiles files{dir.path(), "x"};
    record_event(files, "detached", {{"client", 1}});
    auto events = lines_of(*read_events(files));
    REQUIRE(events.size() == 1);
    CHECK(events[0]["event"] == "detached");
}

TEST_CASE("a name without events reads as an empty log") {
    TempDir dir;
    auto text = read_events({dir.path(), "none"});
    REQUIRE(text.has_value());
    CHECK(*text == "");
}

TEST_CASE("an event with invalid UTF-8 is still recorded") {
    TempDir dir;
    ServerFiles files{dir.path(), "x"};
    record_event(files, "started", {{"command", {"caf\xe9"}}});
    auto events = lines_of(*read_events(files));
    REQUIRE(events.size() == 1);
    CHECK(events[0]["event"] == "started");
}

TEST_CASE("last_exit is the newest exited event") {
    TempDir dir;
    ServerFiles files{dir.path(), "x"};
    CHECK_FALSE(last_exit(files).has_value());
    record_event(files, "exited", {{"pid", 1}, {"code", 3}, {"unexpected", true}, {"log_file", "/a.log"}});
    record_event(files, "started", {{"pid", 2}});
    record_event(files, "exited", {{"pid", 2}, {"code", -1}, {"signal", 15}, {"unexpected", false}});
    record_event(files, "attached", {{"client", 3}});
    auto exit = last_exit(files);
    REQUIRE(exit.has_value());
    CHECK(exit->exit_code == -1);
    CHECK(exit->signal == 15);
    CHECK_FALSE(exit->unexpected);
    CHECK(exit->at_ms > 0);
}

TEST_CASE("an exit with a code and no signal reads as that code and signal 0") {
    TempDir dir;
    ServerFiles files{dir.path(), "x"};
    record_event(files, "exited", {{"pid", 1}, {"code", 3}, {"unexpected", true}});
    auto exit = last_exit(files);
    REQUIRE(exit.has_value());
    CHECK(exit->exit_code == 3);
    CHECK(exit->signal == 0);
    CHECK(exit->unexpected);
}

TEST_CASE("an adopted server's exit, whose code is unknowable, reads as code -1") {
    TempDir dir;
    ServerFiles files{dir.path(), "x"};
    record_event(files, "exited", {{"pid", 1}, {"code", nullptr}, {"unexpected", true}});
    std::optional<ExitRecord> exit;
    CHECK_NOTHROW(exit = last_exit(files));
    REQUIRE(exit.has_value());
    CHECK(exit->exit_code == -1);
    CHECK(exit->signal == 0);
    CHECK(exit->unexpected);
}

TEST_CASE("garbage lines in the event log are skipped") {
    TempDir dir;
    ServerFiles files{dir.path(), "x"};
    REQUIRE(append_line(files.events(), "not json").has_value());
    REQUIRE(append_line(files.events(), "[1,2]").has_value());
    record_event(files, "exited", {{"code", 0}});
    REQUIRE(append_line(files.events(), "{\"event\": \"exi").has_value());
    auto exit = last_exit(files);
    REQUIRE(exit.has_value());
    CHECK(exit->exit_code == 0);
}

TEST_CASE("the log file of the newest started event is remembered") {
    TempDir dir;
    ServerFiles files{dir.path(), "x"};
    CHECK_FALSE(last_log_file(files).has_value());
    record_event(files, "started", {{"log_file", "/one.log"}});
    record_event(files, "started", {{"log_file", "/two.log"}});
    record_event(files, "started", {{"pid", 3}});
    CHECK(last_log_file(files) == std::optional<std::string>("/two.log"));
}

TEST_CASE("the event log is trimmed to its newest half when it passes the size cap") {
    TempDir dir;
    ServerFiles files{dir.path(), "x"};
    const std::string padding(200, 'p');
    int count = 0;
    std::size_t largest = 0;
    bool trimmed = false;
    while (count < 5000 && !trimmed) {
        record_event(files, "attached", {{"client", count}, {"padding", padding}});
        ++count;
        struct stat st {};
        REQUIRE(::stat(files.events().c_str(), &st) == 0);
        std::size_t size = static_cast<std::size_t>(st.st_size);
        if (size < largest) trimmed = true;
        largest = std::max(largest, size);
    }
    REQUIRE(trimmed);
    CHECK(largest <= max_event_log_size + 512);
    auto text = read_events(files);
    REQUIRE(text.has_value());
    CHECK(text->size() <= max_event_log_size / 2);
    CHECK(text->size() > max_event_log_size / 2 - 512);
    // Whole lines only, newest kept, in order.
    auto events = lines_of(*text);
    REQUIRE_FALSE(events.empty());
    CHECK(events.back()["client"] == count - 1);
    for (std::size_t i = 1; i < events.size(); ++i)
        CHECK(events[i]["client"].get<int>() == events[i - 1]["client"].get<int>() + 1);
    CHECK(testing::list_dir(dir.path()) == std::vector<std::string>{"x.events.jsonl"});
}

TEST_CASE("an event log grown past the cap by a foreign writer is trimmed on the next event") {
    TempDir dir;
    ServerFiles files{dir.path(), "x"};
    std::string big;
    for (int i = 0; big.size() < max_event_log_size * 2; ++i)
        big += json{{"at", 1}, {"event", "attached"}, {"client", i}}.dump() + "\n";
    testing::write_text(files.events(), big);
    record_event(files, "detached", {{"client", -1}});
    auto text = read_events(files);
    REQUIRE(text.has_value());
    CHECK(text->size() <= max_event_log_size / 2);
    auto events = lines_of(*text);
    REQUIRE_FALSE(events.empty());
    CHECK(events.back()["event"] == "detached");
}

TEST_CASE("a server was recorded when a started, restarted or adopted event names its pid") {
    TempDir dir;
    ServerFiles files{dir.path(), "x"};
    CHECK_FALSE(server_was_recorded(files, 10));
    record_event(files, "started", {{"pid", 10}});
    record_event(files, "restarted", {{"old_pid", 10}, {"pid", 11}});
    record_event(files, "adopted", {{"pid", 12}, {"watcher_pid", 13}});
    record_event(files, "exited", {{"pid", 14}});
    CHECK(server_was_recorded(files, 10));
    CHECK(server_was_recorded(files, 11));
    CHECK(server_was_recorded(files, 12));
    CHECK_FALSE(server_was_recorded(files, 13));
    CHECK_FALSE(server_was_recorded(files, 14));
}

TEST_CASE("recording into a missing directory fails silently") {
    TempDir dir;
    CHECK_NOTHROW(record_event({dir / "missing", "x"}, "started"));
}

}
