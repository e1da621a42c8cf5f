#include <doctest/doctest.h>

#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <cerrno>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "client_use.hpp"
#include "process.hpp"
#include "support.hpp"

using namespace sharedserver;
using testing::Child;

TEST_SUITE("process") {

TEST_CASE("this process is alive under its own identity") {
    auto me = identify_process(::getpid());
    REQUIRE(me.has_value());
    CHECK(me->pid == ::getpid());
    CHECK(me->start > 0);
    CHECK(process_alive(*me));
    CHECK(process_start_stamp(::getpid()) == me->start);
}

TEST_CASE("a forked child attaches as itself, not as the parent whose identity was read first") {
    auto parent = identify_client(0);
    REQUIRE(parent.has_value());
    CHECK(parent->pid == ::getpid());
    CHECK(parent->start == process_start_stamp(::getpid()));
    ::usleep(20'000);  // a start stamp counts clock ticks: the child's must differ
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        auto self = identify_client(0);
        auto by_pid = identify_client(::getpid());
        bool right = self && by_pid && self->pid == ::getpid() && *self == *by_pid &&
                     self->start == process_start_stamp(::getpid()) && self->start != parent->start;
        ::_exit(right ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("the start stamp is field 22 of /proc/<pid>/stat") {
    std::string stat = testing::read_text("/proc/self/stat");
    auto after = stat.substr(stat.rfind(')') + 2);
    // Fields from 3 on; starttime is field 22, the 20th of these.
    std::size_t pos = 0;
    for (int i = 0; i < 19; ++i) pos = after.find(' ', pos) + 1;
    uint64_t expected = std::stoull(after.substr(pos, after.find(' ', pos) - pos));
    CHECK(process_start_stamp(::getpid()) == expected);
}

TEST_CASE("a mismatched start stamp is a different process") {
    auto me = identify_process(::getpid());
    REQUIRE(me.has_value());
    CHECK_FALSE(process_alive({me->pid, me->start + 1}));
    CHECK_FALSE(process_alive({me->pid, 0}));
}

TEST_CASE("a child that exited and was reaped is not alive") {
    Child child;
    auto id = identify_process(child.pid());
    REQUIRE(id.has_value());
    CHECK(process_alive(*id));
    child.release();
    int status = child.reap();
    CHECK(WIFEXITED(status));
    CHECK_FALSE(process_alive(*id));
    CHECK_FALSE(process_start_stamp(id->pid).has_value());
    CHECK_FALSE(identify_process(id->pid).has_value());
}

TEST_CASE("a zombie is not alive") {
    Child child;
    auto id = identify_process(child.pid());
    REQUIRE(id.has_value());
    child.release();
    REQUIRE(testing::wait_until([&] { return testing::proc_state(child.pid()) == 'Z'; }, 2000));
    CHECK_FALSE(process_alive(*id));
    CHECK_FALSE(process_start_stamp(child.pid()).has_value());
    child.reap();
}

TEST_CASE("a process whose comm holds spaces and parentheses is still parsed") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    int ready[2];
    REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(fds[1]);
        ::close(ready[0]);
        ::prctl(PR_SET_NAME, "a) (b c) d", 0, 0, 0);
        char c = 'r';
        if (::write(ready[1], &c, 1) != 1) ::_exit(1);
        while (::read(fds[0], &c, 1) < 0 && errno == EINTR) {
        }
        ::_exit(0);
    }
    ::close(fds[0]);
    ::close(ready[1]);
    char c;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    ::close(ready[0]);
    CHECK(testing::read_text("/proc/" + std::to_string(child) + "/comm") == "a) (b c) d\n");
    auto id = identify_process(child);
    auto self = identify_process(::getpid());
    REQUIRE(id.has_value());
    REQUIRE(self.has_value());
    // Parsed from the right field: the child was forked after us, so it
    // cannot have started earlier, and the stamp matches the kernel's.
    CHECK(id->start >= self->start);
    std::string stat = testing::read_text("/proc/" + std::to_string(child) + "/stat");
    std::string after = stat.substr(stat.rfind(')') + 2);
    std::size_t pos = 0;
    for (int i = 0; i < 19; ++i) pos = after.find(' ', pos) + 1;
    CHECK(id->start == std::stoull(after.substr(pos, after.find(' ', pos) - pos)));
    CHECK(process_alive(*id));
    ::close(fds[1]);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK_FALSE(process_alive(*id));
}

TEST_CASE("pids that can never be a server are not alive") {
    CHECK_FALSE(process_start_stamp(0).has_value());
    CHECK_FALSE(process_start_stamp(-1).has_value());
    CHECK_FALSE(process_alive({0, 0}));
    CHECK_FALSE(process_alive({-5, 1}));
    CHECK_FALSE(process_alive({4'194'305, 1}));  // above the kernel's pid_max limit
}

TEST_CASE("pid 1 is never owned by me, even as root") {
    CHECK_FALSE(process_owned_by_me(1));
    CHECK_FALSE(process_owned_by_me(0));
    CHECK_FALSE(process_owned_by_me(-1));
}

TEST_CASE("this process and its children are owned by me") {
    Child child;
    CHECK(process_owned_by_me(::getpid()));
    CHECK(process_owned_by_me(child.pid()));
}

TEST_CASE("a process that does not exist is not owned by me") {
    Child child;
    pid_t pid = child.pid();
    child.kill();
    child.reap();
    CHECK_FALSE(process_owned_by_me(pid));
}

TEST_CASE("the boot id is the kernel's, without a trailing newline") {
    std::string expected = testing::read_text("/proc/sys/kernel/random/boot_id");
    while (!expected.empty() && expected.back() == '\n') expected.pop_back();
    CHECK(boot_id() == expected);
    CHECK(boot_id().size() == 36);
}

TEST_CASE("the parent pid is getppid()") {
    CHECK(parent_pid() == ::getppid());
}

TEST_CASE("the process table lists a zombie with its parent, group and start stamp") {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::setpgid(0, 0);
        ::pause();
        ::_exit(0);
    }
    ::setpgid(child, child);  // avoid racing the child's own setpgid
    auto start = process_start_stamp(child);
    REQUIRE(start.has_value());
    ::kill(child, SIGKILL);
    REQUIRE(testing::wait_until([&] { return testing::proc_state(child) == 'Z'; }, 2000));
    bool listed = false;
    auto table = list_processes();
    REQUIRE(table.has_value());
    for (const auto &entry : *table) {
        if (entry.id.pid != child) continue;
        listed = true;
        CHECK(entry.zombie);
        CHECK(entry.parent == ::getpid());
        CHECK(entry.group == child);
        CHECK(entry.id.start == *start);
    }
    CHECK(listed);
    auto read = read_process_entry(child);
    REQUIRE(read.has_value());
    CHECK(read->zombie);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK_FALSE(read_process_entry(child).has_value());
    CHECK_FALSE(read_process_entry(0).has_value());
}

TEST_CASE("a process handle becomes readable when the process exits") {
    Child child;
    int fd = open_process_handle(child.pid());
    REQUIRE(fd >= 0);
    CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    pollfd p{fd, POLLIN, 0};
    CHECK(::poll(&p, 1, 0) == 0);
    child.release();
    p.revents = 0;
    CHECK(::poll(&p, 1, 2000) == 1);
    CHECK((p.revents & POLLIN) != 0);
    ::close(fd);
    child.reap();
}

TEST_CASE("no process handle opens for a pid that does not exist") {
    Child child;
    pid_t pid = child.pid();
    child.kill();
    child.reap();
    CHECK(open_process_handle(pid) == -1);
}

}
