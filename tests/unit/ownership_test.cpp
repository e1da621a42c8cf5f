#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "ownership.hpp"
#include "support.hpp"
#include "termination.hpp"

using namespace sharedserver;

extern char **environ;

namespace {

// Runs `argv` (argv[0] as the name it shows) from `path` with `env` added
// to ours; returns its pid. The caller reaps it.
pid_t run(const char *path, std::vector<std::string> argv, std::vector<std::string> env = {}) {
    std::vector<std::string> full_env;
    for (char **e = environ; *e; ++e) full_env.emplace_back(*e);
    full_env.insert(full_env.end(), env.begin(), env.end());
    std::vector<char *> args, envp;
    for (auto &a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    for (auto &e : full_env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    REQUIRE(::posix_spawn(&pid, path, nullptr, nullptr, args.data(), envp.data()) == 0);
    return pid;
}

// The process table, which these tests expect to be readable. (A range-for
// over list_processes().value() would walk a destroyed temporary.)
std::vector<ProcessEntry> table() {
    auto read = list_processes();
    REQUIRE(read.has_value());
    return *read;
}

std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> out;
    for (const auto &entry : table())
        if (entry.parent == parent && !entry.zombie) out.push_back(entry.id.pid);
    return out;
}

bool has(const Members &members, pid_t pid) {
    return std::any_of(members.alive().begin(), members.alive().end(), [&](const ProcessId &id) { return id.pid == pid; });
}

// Kills what a test started, children first (a killed shell leaves its
// children running), however the test ends; by identity, so that a pid the
// test reaped and the system reused is left alone.
struct Started {
    std::vector<ProcessId> ids;
    ~Started() {
        for (const ProcessId &id : ids) {
            if (!process_alive(id)) continue;
            for (pid_t child : children_of(id.pid))
                if (auto child_id = identify_process(child)) signal_exactly(*child_id, SIGKILL);
            signal_exactly(id, SIGKILL);
            ::waitpid(id.pid, nullptr, 0);  // ours to reap, or not our child (ECHILD)
        }
    }
    pid_t operator()(pid_t pid) {
        if (auto id = identify_process(pid)) ids.push_back(*id);
        return pid;
    }
};

ProcessId me() { return *identify_process(::getpid()); }

}  // namespace

TEST_SUITE("ownership") {

TEST_CASE("a leader and its descendants are members; an unrelated process is not") {
    Started started;
    pid_t leader = started(run("/bin/sh", {"sh", "-c", "sleep 1000 & sleep 1000 & wait"}));
    pid_t stranger = started(run("/bin/sleep", {"sleep", "1000"}));
    REQUIRE(testing::wait_until([&] { return children_of(leader).size() == 2; }, 5000));
    Members members({*identify_process(leader), {}, ""});
    CHECK(members.refresh() == 3);
    CHECK(members.leader_alive());
    CHECK(has(members, leader));
    for (pid_t child : children_of(leader)) CHECK(has(members, child));
    CHECK_FALSE(has(members, stranger));
    CHECK_FALSE(has(members, ::getpid()));
}

TEST_CASE("the subtree under another sharedserver-watcher is not the watcher's server's") {
    Started started;
    pid_t own = started(run("/bin/sleep", {"sleep", "1000"}));
    pid_t other_watcher = started(run("/bin/sh", {"/usr/libexec/sharedserver-watcher", "-c", "sleep 1000 & wait"}));
    REQUIRE(testing::wait_until([&] { return children_of(other_watcher).size() == 1; }, 5000));
    Members members({{}, me(), ""});  // this process stands for the watcher
    members.refresh();
    CHECK(has(members, own));
    CHECK_FALSE(has(members, other_watcher));
    CHECK_FALSE(has(members, children_of(other_watcher).front()));
}

TEST_CASE("a process carrying the instance token is a member; another token is not") {
    Started started;
    std::string token = new_instance_token();
    pid_t holder = started(run("/bin/sleep", {"sleep", "1000"}, {std::string(instance_variable) + "=" + token}));
    pid_t other = started(run("/bin/sleep", {"sleep", "1000"}, {std::string(instance_variable) + "=" + new_instance_token()}));
    REQUIRE(testing::wait_until([&] { return !process_environment(holder).empty(); }, 5000));
    Members members({{}, {}, token});
    members.refresh();
    CHECK(has(members, holder));
    CHECK_FALSE(has(members, other));
    Members none({{}, {}, ""});
    CHECK(none.refresh() == 0);
}

TEST_CASE("a group whose leader is gone proves nothing; while its zombie is unreaped, it does") {
    // The leader forks a member into its group, then exits; its zombie waits for us.
    pid_t leader = ::fork();
    REQUIRE(leader >= 0);
    if (leader == 0) {
        ::setpgid(0, 0);
        if (::fork() == 0) {  // once the leader exits, only the group ties this one to it
            ::execl("/bin/sleep", "sleep", "1000", static_cast<char *>(nullptr));
            ::_exit(127);
        }
        ::_exit(0);
    }
    ::setpgid(leader, leader);
    // Until we reap the leader its pid, and so its group, cannot be reused:
    // the group is provably ours, and a failed REQUIRE below does not leave
    // the member sleeping.
    struct GroupGuard {
        pid_t group;
        bool reaped = false;
        ~GroupGuard() {
            if (reaped) return;
            ::killpg(group, SIGKILL);
            ::waitpid(group, nullptr, 0);
        }
    } guard{leader};
    REQUIRE(testing::wait_until([&] { return testing::proc_state(leader) == 'Z'; }, 5000));
    Started started;
    pid_t member = 0;
    REQUIRE(testing::wait_until([&] {
        for (const auto &entry : table())
            if (entry.group == leader && !entry.zombie) member = entry.id.pid;
        return member != 0;
    }, 5000));
    started(member);
    ProcessId leader_id{leader, read_process_entry(leader)->id.start};

    Members zombie_leader({leader_id, {}, ""});
    zombie_leader.refresh();
    CHECK_FALSE(zombie_leader.leader_alive());
    CHECK(has(zombie_leader, member));

    int status = 0;
    ::waitpid(leader, &status, 0);
    guard.reaped = true;
    Members gone_leader({leader_id, {}, ""});
    CHECK(gone_leader.refresh() == 0);
    auto strangers = gone_leader.unproven_in_group(leader);
    REQUIRE(strangers.size() == 1);
    CHECK(strangers.front().pid == member);
    signal_exactly(*identify_process(member), SIGKILL);
}

TEST_CASE("signalling the members reaches each of them and never the caller") {
    Started started;
    pid_t a = started(run("/bin/sleep", {"sleep", "1000"}));
    pid_t b = started(run("/bin/sleep", {"sleep", "1000"}));
    Members members({{}, me(), ""});
    members.refresh();
    REQUIRE(has(members, a));
    REQUIRE(has(members, b));
    CHECK(members.signal(SIGTERM) >= 2);
    int status = 0;
    CHECK(::waitpid(a, &status, 0) == a);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM));
    CHECK(::waitpid(b, &status, 0) == b);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM));
    members.refresh();
    CHECK_FALSE(has(members, a));
    CHECK(members.signal_newcomers(SIGTERM) == 0);
}

TEST_CASE("without a descriptor left, the table is unreadable and nothing is taken for stopped") {
    Started started;
    pid_t server = started(run("/bin/sleep", {"sleep", "1000"}));
    ProcessId id = *identify_process(server);
    // In a child, so that this process keeps its descriptors.
    pid_t probe = ::fork();
    REQUIRE(probe >= 0);
    if (probe == 0) {
        rlimit few{16, 16};
        ::setrlimit(RLIMIT_NOFILE, &few);
        while (::open("/dev/null", O_RDONLY) >= 0) {
        }
        int code = 0;
        if (list_processes().has_value()) code |= 1;
        Members members({id, {}, ""});
        members.refresh();
        if (!members.blind()) code |= 2;
        if (terminate_server({id, {}, ""}, 100, true).outcome != Termination::unknown) code |= 4;
        ::_exit(code);
    }
    int status = 0;
    REQUIRE(::waitpid(probe, &status, 0) == probe);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(process_alive(id));
}

TEST_CASE("instance tokens are 32 random hex digits") {
    std::string a = new_instance_token(), b = new_instance_token();
    CHECK(a.size() == 32);
    CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(a != b);
}

TEST_CASE("processes stamped with a state dir are found by it, with their name and instance") {
    Started started;
    testing::TempDir dir;
    std::string token = new_instance_token();
    pid_t stamped = started(run("/bin/sleep", {"sleep", "1000"}, identity_environment(token, "web", dir.path())));
    started(run("/bin/sleep", {"sleep", "1000"}, identity_environment("not-a-token", "web", dir.path())));
    pid_t elsewhere = started(run("/bin/sleep", {"sleep", "1000"}, identity_environment(token, "web", dir.path() + "-other")));
    REQUIRE(testing::wait_until([&] { return !process_environment(elsewhere).empty(); }, 5000));
    auto found = find_stamped_processes(dir.path());
    REQUIRE(found.size() == 1);
    CHECK(found.front().id.pid == stamped);
    CHECK(found.front().name == "web");
    CHECK(found.front().instance == token);
}

TEST_CASE("a watcher's environment is cleared of the server identity it was started in") {
    CHECK(is_identity_variable("SHAREDSERVER_INSTANCE=abc"));
    CHECK(is_identity_variable("SHAREDSERVER_NAME=web"));
    CHECK(is_identity_variable("SHAREDSERVER_STATE_DIR=/x"));
    CHECK_FALSE(is_identity_variable("SHAREDSERVER_PORT=8080"));
    CHECK_FALSE(is_identity_variable("SHAREDSERVER_INSTANCEX=1"));
    CHECK_FALSE(is_identity_variable("SHAREDSERVER_LOCKDIR=/x"));
}

}
