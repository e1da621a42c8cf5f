#include <doctest/doctest.h>

#include <string>

#include "events.hpp"
#include "log_tail.hpp"
#include "records.hpp"
#include "support.hpp"

using namespace sharedserver;
using testing::TempDir;

namespace {

std::string tail(const std::string &path, std::size_t lines) {
    auto result = tail_file(path, lines);
    REQUIRE(result.has_value());
    return *result;
}

}  // namespace

TEST_SUITE("log_tail") {

TEST_CASE("the last lines of a log come back newline-terminated") {
    TempDir dir;
    testing::write_text(dir / "log", "a\nb\nc\nd\ne\n");
    CHECK(tail(dir / "log", 2) == "d\ne\n");
    CHECK(tail(dir / "log", 1) == "e\n");
    CHECK(tail(dir / "log", 5) == "a\nb\nc\nd\ne\n");
}

TEST_CASE("asking for more lines than the log holds gives the whole log") {
    TempDir dir;
    testing::write_text(dir / "log", "a\nb\n");
    CHECK(tail(dir / "log", 10) == "a\nb\n");
}

TEST_CASE("zero lines gives nothing") {
    TempDir dir;
    testing::write_text(dir / "log", "a\nb\n");
    CHECK(tail(dir / "log", 0) == "");
}

TEST_CASE("an unterminated last line counts as a line") {
    TempDir dir;
    testing::write_text(dir / "log", "a\nb\nc");
    CHECK(tail(dir / "log", 1) == "c\n");
    CHECK(tail(dir / "log", 2) == "b\nc\n");
}

TEST_CASE("an empty log gives nothing") {
    TempDir dir;
    testing::write_text(dir / "log", "");
    CHECK(tail(dir / "log", 3) == "");
}

TEST_CASE("empty lines are lines") {
    TempDir dir;
    testing::write_text(dir / "log", "a\n\n\nb\n");
    CHECK(tail(dir / "log", 3) == "\n\nb\n");
}

TEST_CASE("lines spanning the 8 KiB read blocks come back whole") {
    TempDir dir;
    std::string content;
    for (int i = 0; i < 2000; ++i) content += "line " + std::to_string(i) + " " + std::string(i % 37, 'x') + "\n";
    REQUIRE(content.size() > 3 * 8192);
    testing::write_text(dir / "log", content);
    std::string expected;
    for (int i = 1500; i < 2000; ++i) expected += "line " + std::to_string(i) + " " + std::string(i % 37, 'x') + "\n";
    CHECK(tail(dir / "log", 500) == expected);
    CHECK(tail(dir / "log", 5000) == content);
}

TEST_CASE("one line longer than a read block comes back whole") {
    TempDir dir;
    std::string longline(20000, 'L');
    testing::write_text(dir / "log", "first\n" + longline + "\nlast\n");
    CHECK(tail(dir / "log", 2) == longline + "\nlast\n");
}

TEST_CASE("a missing log is an error naming the file") {
    TempDir dir;
    auto result = tail_file(dir / "absent.log", 5);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().path == dir / "absent.log");
    CHECK(result.error().message == "cannot open log file " + (dir / "absent.log") + ": No such file or directory");
}

TEST_CASE("a server's log is still readable after the server is gone, through its started event") {
    TempDir dir;
    ServerFiles files{dir.path(), "web"};
    testing::write_text(dir / "custom.log", "bye\n");
    record_event(files, "started", {{"pid", 1}, {"log_file", dir / "custom.log"}});
    auto result = tail_server_log(files, 10);
    REQUIRE(result.has_value());
    CHECK(*result == "bye\n");
}

TEST_CASE("a server with no record or event reads the default log file") {
    TempDir dir;
    ServerFiles files{dir.path(), "web"};
    testing::write_text(files.log(), "default\n");
    auto result = tail_server_log(files, 10);
    REQUIRE(result.has_value());
    CHECK(*result == "default\n");
}

TEST_CASE("a running server's record names the log to read") {
    TempDir dir;
    ServerFiles files{dir.path(), "web"};
    ServerRecord record;
    record.server = {1234, 1};
    record.spec.log_file = dir / "from-record.log";
    REQUIRE(save_server_record(files, record).has_value());
    testing::write_text(dir / "from-record.log", "record\n");
    testing::write_text(files.log(), "default\n");
    auto result = tail_server_log(files, 10);
    REQUIRE(result.has_value());
    CHECK(*result == "record\n");
}

TEST_CASE("a log rotated a moment ago is completed from the end of log.1") {
    TempDir dir;
    testing::write_text(dir / "log.1", "a\nb\nc\nd\n");
    testing::write_text(dir / "log", "e\nf\n");
    auto result = tail_log(dir / "log", 4);
    REQUIRE(result.has_value());
    CHECK(*result == "c\nd\ne\nf\n");
    CHECK(*tail_log(dir / "log", 2) == "e\nf\n");
    CHECK(*tail_log(dir / "log", 10) == "a\nb\nc\nd\ne\nf\n");
}

TEST_CASE("a log rotated before its first line reads from log.1 alone") {
    TempDir dir;
    testing::write_text(dir / "log.1", "a\nb\n");
    CHECK(*tail_log(dir / "log", 1) == "b\n");
}

TEST_CASE("a server that has not written anything yet has an empty log, not a missing one") {
    TempDir dir;
    ServerFiles files{dir.path(), "web"};
    record_event(files, "started", {{"pid", 1}, {"log_file", files.log()}});
    auto result = tail_server_log(files, 10);
    REQUIRE(result.has_value());
    CHECK(*result == "");
}

}
