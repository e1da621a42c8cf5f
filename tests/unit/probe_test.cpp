#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "probe.hpp"
#include "support.hpp"

using namespace sharedserver;
using testing::TempDir;

namespace {

void append(const std::string &path, const std::string &text) {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << text;
}

ProbeRunner log_probe(const std::string &log, const std::string &pattern, int64_t offset = 0) {
    ReadyProbe probe;
    probe.kind = SHAREDSERVER_PROBE_LOG;
    probe.target = pattern;
    return ProbeRunner(probe, log, offset, {});
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
    testing::write_text(log, "starting\nlisten");
    auto runner = log_probe(log, "^listening on \\d+$");
    CHECK_FALSE(ready(runner));
    append(log, "ing on 80");
    CHECK_FALSE(ready(runner));  // no newline yet: the line may go on
    append(log, "80\n");
    CHECK(ready(runner));
}

TEST_CASE("a log probe only sees what was written after its offset") {
    TempDir dir;
    const std::string log = dir / "log";
    testing::write_text(log, "ready\n");
    auto runner = log_probe(log, "ready", 6);
    CHECK_FALSE(ready(runner));
    append(log, "ready\n");
    CHECK(ready(runner));
}

TEST_CASE("a very long log line neither overflows the stack nor hides the lines after it") {
    // GCC's std::regex recurses per character: a 60000-byte line matched
    // whole against `.*` needs more than the usual 8 MiB of stack.
    TempDir dir;
    const std::string log = dir / "log";
    testing::write_text(log, std::string(60000, 'a') + "\n" + std::string(1 << 20, 'b') + "\n");
    auto runner = log_probe(log, "^.*ready$");
    CHECK_FALSE(ready(runner));
    append(log, "server ready\n");
    CHECK(ready(runner));
}

TEST_CASE("only the first 2 KiB of a line are matched") {
    TempDir dir;
    const std::string log = dir / "log";
    auto ready_in = [&](const std::string &text) {
        testing::write_text(log, text);
        auto runner = log_probe(log, "ready");
        return ready(runner);
    };
    CHECK_FALSE(ready_in(std::string(2048, '.') + "ready\n"));
    // Found in the second line, which is under the cap.
    CHECK(ready_in(std::string(2048, '.') + "ready\n" + std::string(2000, '.') + "ready\n"));
}

}
