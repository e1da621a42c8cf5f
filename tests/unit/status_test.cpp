#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "process.hpp"
#include "records.hpp"
#include "status.hpp"
#include "support.hpp"

using namespace sharedserver;
using testing::TempDir;

namespace {

// A record naming `server` as the running server of `name`.
void write_record(const std::string &dir, const std::string &name, const ProcessId &server) {
    ServerRecord record;
    record.schema = 1;
    record.name = name;
    record.server = server;
    record.pgid = server.pid;
    record.boot_id = boot_id();
    record.spec.argv = {"sleep", "1000"};
    record.ready_at_ms = 1;
    REQUIRE(save_server_record({dir, name}, record));
}

}  // namespace

TEST_SUITE("status") {

TEST_CASE("list reads every record of a long list, in name order, and leaves out servers that are gone") {
    // Past 128 names the records are read by several threads at once.
    TempDir dir;
    testing::Child alive;
    testing::Child dead;
    auto live = identify_process(alive.pid());
    auto gone = identify_process(dead.pid());
    REQUIRE(live);
    REQUIRE(gone);
    dead.kill();
    dead.reap();
    constexpr int count = 700;
    for (int i = count - 1; i >= 0; --i) {
        char name[16];
        std::snprintf(name, sizeof name, "s%04d", i);
        write_record(dir.path(), name, i % 7 == 3 ? *gone : *live);
    }
    auto listed = list_servers(dir.path());
    std::size_t expected = 0;
    for (int i = 0; i < count; ++i) expected += i % 7 != 3;
    REQUIRE(listed.size() == expected);
    std::size_t at = 0;
    for (int i = 0; i < count; ++i) {
        if (i % 7 == 3) continue;
        char name[16];
        std::snprintf(name, sizeof name, "s%04d", i);
        CHECK(listed[at].name == name);
        CHECK(listed[at].pid == alive.pid());
        ++at;
    }
}

TEST_CASE("list of a missing state dir is empty") {
    TempDir dir;
    CHECK(list_servers(dir / "missing").empty());
}

}
