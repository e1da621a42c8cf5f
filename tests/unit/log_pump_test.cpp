#include <doctest/doctest.h>

#include <string>
#include <unistd.h>

#include "log_pump.hpp"
#include "support.hpp"

using namespace sharedserver;
using testing::TempDir;

namespace {

std::string numbered_lines(int from, int to, std::size_t width) {
    std::string out;
    for (int i = from; i <= to; ++i) {
        std::string n = std::to_string(i);
        out += std::string(width - 1 - n.size(), '0') + n + "\n";
    }
    return out;
}

}  // namespace

TEST_SUITE("log_pump") {

TEST_CASE("nothing is created before the first output") {
    TempDir dir;
    { LogWriter writer({dir / "log", 100, true}); }
    CHECK(testing::list_dir(dir.path()).empty());
}

TEST_CASE("at its cap the log becomes log.1, cut between two lines, and no byte is lost") {
    TempDir dir;
    LogWriter writer({dir / "log", 1000, true});
    writer.write(numbered_lines(1, 15, 100));  // 1500 bytes in one chunk
    CHECK(testing::read_text(dir / "log.1") == numbered_lines(1, 10, 100));
    CHECK(testing::read_text(dir / "log") == numbered_lines(11, 15, 100));
}

TEST_CASE("lines that arrive one by one rotate the same way") {
    TempDir dir;
    LogWriter writer({dir / "log", 1000, true});
    for (int i = 1; i <= 25; ++i) writer.write(numbered_lines(i, i, 100));
    CHECK(testing::read_text(dir / "log.1") == numbered_lines(11, 20, 100));
    CHECK(testing::read_text(dir / "log") == numbered_lines(21, 25, 100));
}

TEST_CASE("a chunk with no newline before the cap starts the next log when the log has lines") {
    TempDir dir;
    LogWriter writer({dir / "log", 100, true});
    writer.write("short\n");
    writer.write(std::string(95, 'x') + "\n");  // 102 bytes would pass the cap
    CHECK(testing::read_text(dir / "log.1") == "short\n");
    CHECK(testing::read_text(dir / "log") == std::string(95, 'x') + "\n");
}

TEST_CASE("a line longer than the cap is split, each piece at the cap") {
    TempDir dir;
    LogWriter writer({dir / "log", 100, true});
    writer.write(std::string(250, 'y') + "\n");
    CHECK(testing::read_text(dir / "log.1") == std::string(100, 'y'));
    CHECK(testing::read_text(dir / "log") == std::string(50, 'y') + "\n");
}

TEST_CASE("an old log already past the cap is rotated before anything is added") {
    TempDir dir;
    testing::write_text(dir / "log", std::string(300, 'o') + "\n");
    LogWriter writer({dir / "log", 100, true});
    writer.write("new\n");
    CHECK(testing::read_text(dir / "log.1") == std::string(300, 'o') + "\n");
    CHECK(testing::read_text(dir / "log") == "new\n");
}

TEST_CASE("without a cap the log only grows") {
    TempDir dir;
    LogWriter writer({dir / "log", 0, true});
    writer.write(numbered_lines(1, 100, 100));
    CHECK(testing::list_dir(dir.path()) == std::vector<std::string>{"log"});
}

TEST_CASE("a device is written but never rotated") {
    LogWriter writer({"/dev/null", 10, false});
    writer.write(numbered_lines(1, 100, 100));
    CHECK(writer.dropped() == 0);
}

TEST_CASE("output that cannot be written is counted, not retried") {
    LogWriter writer({"/dev/full", 0, false});  // every write: ENOSPC
    writer.write("lost\n");
    writer.write("lost too\n");
    CHECK(writer.dropped() == 14);
}

TEST_CASE("a log the pump may not follow through a symlink drops its output") {
    TempDir dir;
    testing::write_text(dir / "target", "precious\n");
    REQUIRE(::symlink((dir / "target").c_str(), (dir / "log").c_str()) == 0);
    LogWriter writer({dir / "log", 0, true});
    writer.write("leaked\n");
    CHECK(writer.dropped() == 7);
    CHECK(testing::read_text(dir / "target") == "precious\n");
}

TEST_CASE("a log that can be written is accepted before it exists; one that cannot is named") {
    TempDir dir;
    CHECK(check_log_file({dir / "new.log", 0, true}));
    CHECK(testing::list_dir(dir.path()).empty());
    auto missing = check_log_file({dir / "no/such/dir.log", 0, false});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message == "log file " + (dir / "no/such/dir.log") + ": No such file or directory");
    REQUIRE(::symlink("/etc/passwd", (dir / "link.log").c_str()) == 0);
    CHECK_FALSE(check_log_file({dir / "link.log", 0, true}));
}

}
