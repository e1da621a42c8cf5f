// How a server ended, composed once from its event log; and the change
// watch that tails those logs for clients.
#include <doctest/doctest.h>

#include <poll.h>
#include <string>

#include "change_watch.hpp"
#include "events.hpp"
#include "exit_info.hpp"
#include "support.hpp"

using namespace sharedserver;
using nlohmann::json;

namespace {

ExitInfo only_exit(std::vector<json> events) {
    auto exits = exits_in(events);
    REQUIRE(exits.size() == 1);
    return exits.front();
}

bool readable(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) > 0;
}

}  // namespace

TEST_SUITE("exit info") {

TEST_CASE("each ending gets its reason and one line") {
    ExitInfo e = only_exit({{{"event", "started"}, {"pid", 10}, {"ready", false}}, {{"event", "exited"}, {"pid", 10}, {"code", 3}, {"unexpected", true}}});
    CHECK(e.reason == SHAREDSERVER_EXIT_EXITED);
    CHECK(e.code == 3);
    CHECK(e.while_starting);
    CHECK(e.unexpected);
    CHECK(exit_phrase(e) == "exited with code 3 while starting");

    e = only_exit({{{"event", "started"}, {"pid", 10}}, {{"event", "exited"}, {"pid", 10}, {"code", -1}, {"signal", 9}}});
    CHECK(e.reason == SHAREDSERVER_EXIT_SIGNALLED);
    CHECK(e.code == -1);
    CHECK(exit_phrase(e) == "was killed by signal 9");

    e = only_exit({{{"event", "started"}, {"pid", 10}, {"ready", false}},
                   {{"event", "probe-failed"}, {"pid", 10}, {"probe", "port 5432"}, {"reason", "port 5432: Connection refused"}, {"timeout_ms", 2000}},
                   {{"event", "stopping"}, {"pid", 10}, {"reason", "the readiness probe failed"}},
                   {{"event", "exited"}, {"pid", 10}, {"code", -1}, {"signal", 15}}});
    CHECK(e.reason == SHAREDSERVER_EXIT_PROBE_FAILED);
    CHECK(exit_phrase(e) == "did not become ready within 2s (port 5432: Connection refused)");

    e = only_exit({{{"event", "started"}, {"pid", 10}}, {{"event", "gave-up"}, {"pid", 10}, {"restarts", 1}}, {{"event", "exited"}, {"pid", 10}, {"code", 1}}});
    CHECK(e.reason == SHAREDSERVER_EXIT_GAVE_UP);
    CHECK(e.restarts == 1);
    CHECK(exit_phrase(e) == "kept exiting and was given up after 1 restart");
    e.restarts = 2;
    CHECK(exit_phrase(e) == "kept exiting and was given up after 2 restarts");

    e = only_exit({{{"event", "started"}, {"pid", 10}},
                   {{"event", "liveness-failed"}, {"pid", 10}, {"probe", "http http://127.0.0.1:8000/"}, {"reason", "no answer within 300ms"}, {"failures", 3}},
                   {{"event", "exited"}, {"pid", 10}, {"code", -1}, {"signal", 15}, {"unexpected", true}}});
    CHECK(e.reason == SHAREDSERVER_EXIT_UNHEALTHY);
    CHECK(e.code == -1);
    CHECK(exit_phrase(e) ==
          "was stopped: it failed its liveness probe (http http://127.0.0.1:8000/: no answer within 300ms, 3 times in a row)");

    e = only_exit({{{"event", "started"}, {"pid", 10}}, {{"event", "stopping"}, {"pid", 10}, {"reason", "grace period expired"}}, {{"event", "exited"}, {"pid", 10}, {"code", 0}}});
    CHECK(e.reason == SHAREDSERVER_EXIT_GRACE_EXPIRED);
    CHECK(exit_phrase(e) == "was stopped: its grace period ended");

    e = only_exit({{{"event", "started"}, {"pid", 10}}, {{"event", "stopping"}, {"pid", 10}, {"force", false}, {"by", 4}}, {{"event", "exited"}, {"pid", 10}, {"code", 0}}});
    CHECK(e.reason == SHAREDSERVER_EXIT_STOPPED);
    CHECK(exit_phrase(e) == "was stopped by a client");

    e = only_exit({{{"event", "started"}, {"pid", 10}}, {{"event", "stopping"}, {"pid", 10}, {"reason", "its record was removed"}}, {{"event", "exited"}, {"pid", 10}}});
    CHECK(e.reason == SHAREDSERVER_EXIT_ORPHANED);

    e = only_exit({{{"event", "started"}, {"pid", 10}}, {{"event", "killed"}, {"pid", 10}}});
    CHECK(e.reason == SHAREDSERVER_EXIT_KILLED);
    CHECK(exit_phrase(e) == "was killed (admin kill)");
}

TEST_CASE("find_exit gives the newest ending at or after a time, with its message and log tail") {
    testing::TempDir dir;
    ServerFiles files{dir.path(), "web"};
    testing::write_text(files.log(), "booting\nfailed: no config\n");
    testing::write_text(files.events(),
                        R"({"at":100,"event":"started","pid":7,"ready":false,"log_file":")" + files.log() + "\"}\n" +
                            R"({"at":200,"event":"exited","pid":7,"code":2,"unexpected":true})" "\n");
    auto exit = find_exit(files, 0);
    REQUIRE(exit);
    CHECK(exit->message == "server \"web\" exited with code 2 while starting");
    CHECK(exit->log_tail.find("failed: no config") != std::string::npos);
    CHECK(find_exit(files, 200));
    CHECK_FALSE(find_exit(files, 201));
}

}  // TEST_SUITE

TEST_SUITE("change watch") {

TEST_CASE("a watch on one name sees its events, not another name's, and its fd says when") {
    testing::TempDir dir;
    auto watch = ChangeWatch::open(dir.path(), {"a"}, -1);
    REQUIRE_MESSAGE(watch.has_value(), watch.error().message);
    auto &w = **watch;
    CHECK_FALSE(readable(w.fd(), 0));
    record_event({dir.path(), "b"}, "attached", {{"client", 1}});
    CHECK_FALSE(readable(w.fd(), 50));
    auto none = w.next(0);
    REQUIRE(none.has_value());
    CHECK_FALSE(none->has_value());
    record_event({dir.path(), "a"}, "started", {{"pid", 42}});
    CHECK(readable(w.fd(), 5000));
    auto change = w.next(5000);
    REQUIRE(change.has_value());
    REQUIRE(change->has_value());
    CHECK((*change)->name == "a");
    CHECK((*change)->kind == SHAREDSERVER_CHANGE_STARTED);
    CHECK((*change)->pid == 42);
    CHECK((*change)->json.find("\"event\":\"started\"") != std::string::npos);
    CHECK_FALSE(w.next(0)->has_value());
}

TEST_CASE("since 0 replays the log, and pending changes keep the fd readable") {
    testing::TempDir dir;
    record_event({dir.path(), "a"}, "started", {{"pid", 1}});
    record_event({dir.path(), "a"}, "ready", {{"pid", 1}});
    auto watch = ChangeWatch::open(dir.path(), {"a"}, 0);
    REQUIRE(watch.has_value());
    CHECK(readable((*watch)->fd(), 0));
    CHECK((*watch)->next(0).value()->kind == SHAREDSERVER_CHANGE_STARTED);
    CHECK(readable((*watch)->fd(), 0));
    CHECK((*watch)->next(0).value()->kind == SHAREDSERVER_CHANGE_READY);
    CHECK_FALSE(readable((*watch)->fd(), 0));
}

TEST_CASE("a trimmed log is followed without repeating or losing events") {
    testing::TempDir dir;
    ServerFiles files{dir.path(), "a"};
    auto watch = ChangeWatch::open(dir.path(), {"a"}, -1);
    REQUIRE(watch.has_value());
    const std::string filler(1000, 'x');
    // Enough events to pass the cap and be trimmed several times, read as
    // they come (a client reads between writes; the trim keeps the newest half).
    int n = 0, seen = 0, expected_next = 0;
    for (; n < 600; ++n) {
        record_event(files, "attached", {{"client", n}, {"filler", filler}});
        if (n % 3 != 2) continue;
        while (true) {
            auto change = (*watch)->next(0);
            REQUIRE(change.has_value());
            if (!change->has_value()) break;
            int client = json::parse((*change)->json)["client"].get<int>();
            CHECK(client == expected_next);
            expected_next = client + 1;
            ++seen;
        }
    }
    CHECK(seen == n);
}

TEST_CASE("a watch on every name learns of new names") {
    testing::TempDir dir;
    auto watch = ChangeWatch::open(dir.path(), {}, -1);
    REQUIRE(watch.has_value());
    record_event({dir.path(), "fresh"}, "started", {{"pid", 5}});
    auto change = (*watch)->next(5000);
    REQUIRE(change.has_value());
    REQUIRE(change->has_value());
    CHECK((*change)->name == "fresh");
}

}  // TEST_SUITE
