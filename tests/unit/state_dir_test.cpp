#include <doctest/doctest.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <string>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "state_dir.hpp"
#include "support.hpp"

using namespace sharedserver;
using testing::TempDir;

namespace {

// Sets an environment variable for one scope.
class ScopedEnv {
public:
    ScopedEnv(const char *key, const char *value) : key_(key) {
        if (const char *old = std::getenv(key)) old_ = old;
        if (value)
            ::setenv(key, value, 1);
        else
            ::unsetenv(key);
    }
    ~ScopedEnv() {
        if (old_)
            ::setenv(key_, old_->c_str(), 1);
        else
            ::unsetenv(key_);
    }

private:
    const char *key_;
    std::optional<std::string> old_;
};

}  // namespace

TEST_SUITE("state_dir") {

TEST_CASE("a missing state directory is created with mode 0700") {
    TempDir dir;
    std::string state = dir / "state";
    REQUIRE(ensure_private_directory(state).has_value());
    struct stat st {};
    REQUIRE(::lstat(state.c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 07777) == 0700);
    CHECK(st.st_uid == ::geteuid());
}

TEST_CASE("an existing private state directory is accepted as it is") {
    TempDir dir;
    CHECK(ensure_private_directory(dir.path()).has_value());
    CHECK(testing::mode_of(dir.path()) == 0700);
}

TEST_CASE("a group-writable state directory is refused with the chmod that fixes it") {
    TempDir dir;
    std::string state = dir / "state";
    REQUIRE(::mkdir(state.c_str(), 0700) == 0);
    REQUIRE(::chmod(state.c_str(), 0770) == 0);
    auto result = ensure_private_directory(state);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_EPERM);
    CHECK(result.error().path == state);
    CHECK(result.error().message ==
          "state directory \"" + state + "\" is writable by others: run `chmod 700 " + state + "`");
    CHECK(testing::mode_of(state) == 0770);  // refused, not silently fixed
}

TEST_CASE("a world-writable state directory is refused") {
    TempDir dir;
    std::string state = dir / "state";
    REQUIRE(::mkdir(state.c_str(), 0700) == 0);
    REQUIRE(::chmod(state.c_str(), 01777) == 0);
    auto result = ensure_private_directory(state);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_EPERM);
}

TEST_CASE("a group-readable but not writable state directory is accepted") {
    TempDir dir;
    std::string state = dir / "state";
    REQUIRE(::mkdir(state.c_str(), 0700) == 0);
    REQUIRE(::chmod(state.c_str(), 0750) == 0);
    CHECK(ensure_private_directory(state).has_value());
}

TEST_CASE("a symlink to a private directory is refused") {
    TempDir dir;
    std::string real = dir / "real";
    std::string link = dir / "link";
    REQUIRE(::mkdir(real.c_str(), 0700) == 0);
    REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
    auto result = ensure_private_directory(link);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_EPERM);
    CHECK(result.error().sys_errno == ENOTDIR);
    CHECK(result.error().message == "state directory \"" + link +
                                        "\" is not a directory (a symlink or a file): remove it or set SHAREDSERVER_LOCKDIR");
}

TEST_CASE("a regular file in place of the state directory is refused") {
    TempDir dir;
    std::string file = dir / "file";
    testing::write_text(file, "");
    auto result = ensure_private_directory(file);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_EPERM);
    CHECK(result.error().message == "state directory \"" + file +
                                        "\" is not a directory (a symlink or a file): remove it or set SHAREDSERVER_LOCKDIR");
}

TEST_CASE("a state directory owned by another user is refused") {
    if (::geteuid() != 0) {
        MESSAGE("not root: cannot give a directory to another user; skipped");
        return;
    }
    TempDir dir;
    std::string state = dir / "theirs";
    REQUIRE(::mkdir(state.c_str(), 0700) == 0);
    REQUIRE(::chown(state.c_str(), 65534, 65534) == 0);
    auto result = ensure_private_directory(state);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_EPERM);
    CHECK(result.error().message == "state directory \"" + state +
                                        "\" is owned by uid 65534, not by you (uid 0): set SHAREDSERVER_LOCKDIR to a directory of your own");
}

TEST_CASE("a state directory whose parent is missing is an error naming it") {
    TempDir dir;
    std::string state = dir / "a/b/c";
    auto result = ensure_private_directory(state);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().path == state);
    CHECK(result.error().sys_errno == ENOENT);
}

TEST_CASE("an empty state directory path is an invalid argument") {
    auto result = ensure_private_directory("");
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_EINVALID);
}

TEST_CASE("the default state directory follows SHAREDSERVER_LOCKDIR, then XDG_RUNTIME_DIR, then memory-backed dirs") {
    {
        ScopedEnv lockdir("SHAREDSERVER_LOCKDIR", "/custom/dir");
        ScopedEnv xdg("XDG_RUNTIME_DIR", "/run/user/1000");
        CHECK(default_state_dir() == "/custom/dir");
    }
    {
        ScopedEnv lockdir("SHAREDSERVER_LOCKDIR", "");
        ScopedEnv xdg("XDG_RUNTIME_DIR", "/run/user/1000");
        CHECK(default_state_dir() == "/run/user/1000/sharedserver");
    }
    {
        ScopedEnv lockdir("SHAREDSERVER_LOCKDIR", nullptr);
        ScopedEnv xdg("XDG_RUNTIME_DIR", nullptr);
        std::string uid = std::to_string(::geteuid());
        struct stat session {};
        struct statfs shm {};
        if (::stat(("/run/user/" + uid).c_str(), &session) == 0 && session.st_uid == ::geteuid())
            CHECK(default_state_dir() == "/run/user/" + uid + "/sharedserver");
        else if (::statfs("/dev/shm", &shm) == 0 && shm.f_type == TMPFS_MAGIC)
            CHECK(default_state_dir() == "/dev/shm/sharedserver-" + uid);
        else
            CHECK(default_state_dir() == "/tmp/sharedserver-" + uid);
    }
}

TEST_CASE("a relative state directory is resolved against the current directory, once") {
    TempDir dir;
    char before[PATH_MAX];
    REQUIRE(::getcwd(before, sizeof before));
    REQUIRE(::chdir(dir.path().c_str()) == 0);
    char here[PATH_MAX];
    REQUIRE(::getcwd(here, sizeof here));
    auto relative = absolute_state_dir("state");
    auto dotted = absolute_state_dir("./state//.");
    auto parent = absolute_state_dir("../x/");
    REQUIRE(::chdir(before) == 0);
    CHECK(relative.value() == std::string(here) + "/state");
    CHECK(dotted.value() == std::string(here) + "/state");
    CHECK(parent.value() == std::string(here) + "/../x");
    CHECK(absolute_state_dir("/run//user/./1000/sharedserver/").value() == "/run/user/1000/sharedserver");
    CHECK(absolute_state_dir("/").value() == "/");
    CHECK(absolute_state_dir("").error().code == SHAREDSERVER_EINVALID);
    CHECK(absolute_state_dir("/tmp/caf\xe9").error().message ==
          "state directory \"/tmp/caf\xe9\" is not valid UTF-8, which records cannot name; set SHAREDSERVER_LOCKDIR to another directory");
}

TEST_CASE("server files are named after the server inside the state directory") {
    ServerFiles f{"/s", "redis"};
    CHECK(f.server() == "/s/redis.server.json");
    CHECK(f.clients() == "/s/redis.clients.json");
    CHECK(f.lock() == "/s/redis.lock");
    CHECK(f.log() == "/s/redis.log");
    CHECK(f.events() == "/s/redis.events.jsonl");
}

}
