#include <doctest/doctest.h>

#include <cerrno>
#include <sys/stat.h>
#include <thread>
#include <vector>
#include <unistd.h>

#include "files.hpp"
#include "support.hpp"

using namespace sharedserver;
using testing::TempDir;

TEST_SUITE("files") {

TEST_CASE("a missing file reads as nullopt, not an error") {
    TempDir dir;
    auto result = read_small_file(dir / "absent.json");
    REQUIRE(result.has_value());
    CHECK_FALSE(result->has_value());
}

TEST_CASE("a small file reads back byte for byte") {
    TempDir dir;
    std::string content("line one\nline two\0binary", 24);
    testing::write_text(dir / "f", content);
    auto result = read_small_file(dir / "f");
    REQUIRE(result.has_value());
    REQUIRE(result->has_value());
    CHECK(**result == content);
}

TEST_CASE("an empty file reads as an empty string") {
    TempDir dir;
    testing::write_text(dir / "empty", "");
    auto result = read_small_file(dir / "empty");
    REQUIRE(result.has_value());
    REQUIRE(result->has_value());
    CHECK(**result == "");
}

TEST_CASE("a symlink is refused instead of followed") {
    TempDir dir;
    testing::write_text(dir / "target", "{}");
    REQUIRE(::symlink((dir / "target").c_str(), (dir / "link.server.json").c_str()) == 0);
    auto result = read_small_file(dir / "link.server.json");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_ECORRUPT);
    CHECK(result.error().sys_errno == ELOOP);
    CHECK(result.error().path == dir / "link.server.json");
    CHECK(result.error().message == "record \"" + (dir / "link.server.json") +
                                        "\" is a symlink: refusing to follow it; repair it with doctor");
}

TEST_CASE("a dangling symlink is refused, not read as absent") {
    TempDir dir;
    REQUIRE(::symlink((dir / "nowhere").c_str(), (dir / "dangling").c_str()) == 0);
    auto result = read_small_file(dir / "dangling");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_ECORRUPT);
}

TEST_CASE("a file larger than the limit is refused with its size") {
    TempDir dir;
    testing::write_text(dir / "big", std::string(11, 'x'));
    auto result = read_small_file(dir / "big", 10);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_ECORRUPT);
    CHECK(result.error().path == dir / "big");
    CHECK(result.error().message ==
          "record \"" + (dir / "big") + "\" is 11 bytes, larger than any record; repair it with doctor");
}

TEST_CASE("a file of exactly the limit is read") {
    TempDir dir;
    testing::write_text(dir / "edge", std::string(10, 'x'));
    auto result = read_small_file(dir / "edge", 10);
    REQUIRE(result.has_value());
    REQUIRE(result->has_value());
    CHECK((*result)->size() == 10);
}

TEST_CASE("the default limit refuses a record over 1 MiB") {
    TempDir dir;
    testing::write_text(dir / "huge", std::string(max_record_size + 1, ' '));
    auto result = read_small_file(dir / "huge");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_ECORRUPT);
}

TEST_CASE("a directory or a fifo in place of a record is refused without blocking") {
    TempDir dir;
    REQUIRE(::mkdir((dir / "sub").c_str(), 0700) == 0);
    auto as_dir = read_small_file(dir / "sub");
    REQUIRE_FALSE(as_dir.has_value());
    CHECK(as_dir.error().code == SHAREDSERVER_ECORRUPT);
    CHECK(as_dir.error().message ==
          "record \"" + (dir / "sub") + "\" is not a regular file; repair it with doctor");

    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    auto as_fifo = read_small_file(dir / "fifo");
    REQUIRE_FALSE(as_fifo.has_value());
    CHECK(as_fifo.error().code == SHAREDSERVER_ECORRUPT);
}

TEST_CASE("an atomic write leaves only the target, mode 0600, with the new content") {
    TempDir dir;
    REQUIRE(write_file_atomically(dir / "a.json", "first").has_value());
    REQUIRE(write_file_atomically(dir / "a.json", "second").has_value());
    CHECK(testing::list_dir(dir.path()) == std::vector<std::string>{"a.json"});
    CHECK(testing::read_text(dir / "a.json") == "second");
    CHECK(testing::mode_of(dir / "a.json") == 0600);
}

TEST_CASE("an atomic write replaces a symlink instead of writing through it") {
    TempDir dir;
    testing::write_text(dir / "victim", "untouched");
    REQUIRE(::symlink((dir / "victim").c_str(), (dir / "a.json").c_str()) == 0);
    REQUIRE(write_file_atomically(dir / "a.json", "new").has_value());
    CHECK(testing::read_text(dir / "victim") == "untouched");
    struct stat st {};
    REQUIRE(::lstat((dir / "a.json").c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK(testing::list_dir(dir.path()) == std::vector<std::string>{"a.json", "victim"});
}

TEST_CASE("a failed atomic write leaves no temp file behind") {
    TempDir dir;
    // rename() of a file over a non-empty directory fails (EISDIR).
    REQUIRE(::mkdir((dir / "target").c_str(), 0700) == 0);
    testing::write_text(dir / "target/keep", "x");
    auto result = write_file_atomically(dir / "target", "content");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_ERROR);
    CHECK(result.error().path == dir / "target");
    CHECK(result.error().sys_errno == EISDIR);
    CHECK(testing::list_dir(dir.path()) == std::vector<std::string>{"target"});
}

TEST_CASE("an atomic write into a missing directory fails naming the file, not its temp file") {
    TempDir dir;
    auto result = write_file_atomically(dir / "missing/a.json", "x");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().sys_errno == ENOENT);
    CHECK(result.error().message == "cannot write " + (dir / "missing/a.json") + ": No such file or directory");
    CHECK(testing::list_dir(dir.path()).empty());
}

TEST_CASE("many atomic writes from several threads never leave a torn, missing or temp file") {
    TempDir dir;
    REQUIRE(write_file_atomically(dir / "r.json", std::string(1000, 'a')).has_value());
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t)
        writers.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i)
                (void)write_file_atomically(dir / "r.json", std::string(1000 + t, static_cast<char>('a' + t)));
        });
    bool torn = false, missing = false;
    for (int i = 0; i < 500; ++i) {
        auto text = read_small_file(dir / "r.json");
        // A reader without the lock must always find the old or the new record.
        if (!text || !*text) missing = true;
        else {
            const std::string &s = **text;
            if (s.size() != 1000u + static_cast<unsigned>(s[0] - 'a') ||
                s.find_first_not_of(s[0]) != std::string::npos)
                torn = true;
        }
    }
    for (auto &w : writers) w.join();
    CHECK_FALSE(torn);
    CHECK_FALSE(missing);
    CHECK(testing::list_dir(dir.path()) == std::vector<std::string>{"r.json"});
}

TEST_CASE("remove_file treats a missing file as success") {
    TempDir dir;
    testing::write_text(dir / "x", "1");
    CHECK(remove_file(dir / "x").has_value());
    CHECK_FALSE(file_exists(dir / "x"));
    CHECK(remove_file(dir / "x").has_value());
}

TEST_CASE("append_line adds one newline-terminated line per call") {
    TempDir dir;
    REQUIRE(append_line(dir / "log", "one").has_value());
    REQUIRE(append_line(dir / "log", "two").has_value());
    CHECK(testing::read_text(dir / "log") == "one\ntwo\n");
    CHECK(testing::mode_of(dir / "log") == 0600);
}

TEST_CASE("append_line leaves a file over its limit as it is and reports its size") {
    TempDir dir;
    testing::write_text(dir / "log", "0123456789\n");
    auto kept = append_line(dir / "log", "more", 10);
    REQUIRE(kept.has_value());
    CHECK(*kept == 11u);
    CHECK(testing::read_text(dir / "log") == "0123456789\n");
    auto grown = append_line(dir / "log", "more", 11);
    REQUIRE(grown.has_value());
    CHECK(*grown == 16u);
    CHECK(testing::read_text(dir / "log") == "0123456789\nmore\n");
}

TEST_CASE("append_line refuses to append through a symlink") {
    TempDir dir;
    testing::write_text(dir / "victim", "");
    REQUIRE(::symlink((dir / "victim").c_str(), (dir / "log").c_str()) == 0);
    auto result = append_line(dir / "log", "x");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().sys_errno == ELOOP);
    CHECK(testing::read_text(dir / "victim") == "");
}

TEST_CASE("file_exists sees dangling symlinks") {
    TempDir dir;
    REQUIRE(::symlink("/nonexistent/x", (dir / "dangling").c_str()) == 0);
    CHECK(file_exists(dir / "dangling"));
    CHECK_FALSE(file_exists(dir / "nothing"));
}

}
