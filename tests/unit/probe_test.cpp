#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "log_probe.hpp"
#include "probe_runner.hpp"
#include "support.hpp"

using namespace sharedserver;
using testing::TempDir;

namespace {

void append(const std::string &path, const std::string &text) {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << text;
}

// What the log pump does at its cap: the log becomes <log>.1, and the next
// output starts a new log.
void rotate(const std::string &path) { REQUIRE(std::rename(path.c_str(), (path + ".1").c_str()) == 0); }

ProbeRunner log_probe(const std::string &log, const std::string &pattern) {
    ReadyProbe probe;
    probe.kind = SHAREDSERVER_PROBE_LOG;
    probe.target = pattern;
    return ProbeRunner(probe, log, log_start(log), {}, "/");
}

bool ready(ProbeRunner &runner) {
    std::string why;
    return runner.attempt(why) == ProbeRunner::Result::ready;
}

}  // namespace

TEST_SUITE("probe") {

TEST_CASE("a log probe matches a whole line, even one written in pieces") {
    TempDir dir;
    const std::string log = dir / "log";
    auto runner = log_probe(log, "^listening on \\d+$");
    CHECK_FALSE(ready(runner));  // no log yet: the pump creates it with the first output
    testing::write_text(log, "starting\nlisten");
    CHECK_FALSE(ready(runner));
    append(log, "ing on 80");
    CHECK_FALSE(ready(runner));  // no newline yet: the line may go on
    append(log, "80\n");
    CHECK(ready(runner));
}

TEST_CASE("a log probe only sees what was written after the server started") {
    TempDir dir;
    const std::string log = dir / "log";
    testing::write_text(log, "ready\n");
    auto runner = log_probe(log, "ready");
    CHECK_FALSE(ready(runner));
    append(log, "ready\n");
    CHECK(ready(runner));
}

TEST_CASE("a line cut in two by a rotation is matched whole") {
    TempDir dir;
    const std::string log = dir / "log";
    testing::write_text(log, "old\n");
    auto runner = log_probe(log, "^server is ready$");
    append(log, "booting\nserver is");
    CHECK_FALSE(ready(runner));
    rotate(log);
    CHECK_FALSE(ready(runner));  // rotated, and nothing new yet
    testing::write_text(log, " ready\n");
    CHECK(ready(runner));
}

TEST_CASE("what was written before the first look survives a rotation") {
    TempDir dir;
    const std::string log = dir / "log";
    testing::write_text(log, "ready (an old run)\n");
    testing::write_text(log + ".1", "ready (an older run)\n");
    auto runner = log_probe(log, "^ready$");
    append(log, "ready\n");
    rotate(log);
    testing::write_text(log, "later\n");
    CHECK(ready(runner));
}

TEST_CASE("an old rotated log is not read again") {
    TempDir dir;
    const std::string log = dir / "log";
    testing::write_text(log + ".1", "ready\n");
    auto runner = log_probe(log, "^ready$");
    testing::write_text(log, "starting\n");
    CHECK_FALSE(ready(runner));
}

TEST_CASE("a very long log line neither costs its length nor hides the lines after it") {
    TempDir dir;
    const std::string log = dir / "log";
    auto runner = log_probe(log, "^.*ready$");
    testing::write_text(log, std::string(60000, 'a') + "\n" + std::string(1 << 20, 'b') + "\n");
    CHECK_FALSE(ready(runner));
    append(log, "server ready\n");
    CHECK(ready(runner));
}

TEST_CASE("only the first 2 KiB of a line are matched") {
    TempDir dir;
    const std::string log = dir / "log";
    auto ready_in = [&](const std::string &text) {
        std::remove(log.c_str());
        auto runner = log_probe(log, "ready");
        testing::write_text(log, text);
        return ready(runner);
    };
    CHECK_FALSE(ready_in(std::string(2048, '.') + "ready\n"));
    // Found in the second line, which is under the cap.
    CHECK(ready_in(std::string(2048, '.') + "ready\n" + std::string(2000, '.') + "ready\n"));
}

TEST_CASE("a pattern that makes a backtracking engine explode is matched in linear time") {
    TempDir dir;
    const std::string log = dir / "log";
    auto runner = log_probe(log, "(a+)+$");
    testing::write_text(log, std::string(2040, 'a') + "b\n");
    auto begin = std::chrono::steady_clock::now();
    CHECK_FALSE(ready(runner));
    CHECK(std::chrono::steady_clock::now() - begin < std::chrono::milliseconds(100));
}

TEST_CASE("a pattern RE2 cannot compile is refused naming it and the syntax") {
    auto refused = check_log_pattern("(a)\\1");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == SHAREDSERVER_EINVALID);
    CHECK(refused.error().message ==
          "invalid readiness log pattern \"(a)\\\\1\": invalid escape sequence: \\1 "
          "(patterns are RE2 syntax, without back-references or look-arounds)");
    CHECK(check_log_pattern("Serving HTTP on \\S+ port \\d+"));
    CHECK_FALSE(check_log_pattern("(?=x)"));
    CHECK_FALSE(check_log_pattern("(["));
}

}
