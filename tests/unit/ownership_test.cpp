#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "ownership.hpp"
#include "support.hpp"

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

std::vector<pid_t> children_of(pid_t parent) {
    std::vector<pid_t> out;
    for (const auto &entry : list_processes())
        if (entry.parent == parent && !entry.zombie) out.push_back(entry.id.pid);
    return out;
}

bool has(const Members &members, pid_t pid) {
    return std::any_of(members.alive().begin(), members.alive().end(), [&](const ProcessId &id) { return id.pid == pid; });
}

void end(pid_t pid) {
    testing::kill_if_alive(pid);
    int status = 0;
    ::waitpid(pid, &status, 0);
}

ProcessId me() { return *identify_process(::getpid()); }

// Every process these tests start is killed by pid, children first (a
// killed shell leaves its children running).
void end_tree(pid_t pid) {
    for (pid_t child : children_of(pid)) testing::kill_if_alive(child);
    end(pid);
}

}  // namespace

TEST_SUITE("ownership") {

TEST_CASE("a leader and its descendants are members; an unrelated process is not") {
    pid_t leader = run("/bin/sh", {"sh", "-c", "sleep 1000 & sleep 1000 & wait"});
    pid_t stranger = run("/bin/sleep", {"sleep", "1000"});
    REQUIRE(testing::wait_until([&] { return children_of(leader).size() == 2; }, 5000));
    Members members({*identify_process(leader), {}, ""});
    CHECK(members.refresh() == 3);
    CHECK(members.leader_alive());
    CHECK(has(members, leader));
    for (pid_t child : children_of(leader)) CHECK(has(members, child));
    CHECK_FALSE(has(members, stranger));
    CHECK_FALSE(has(members, ::getpid()));
    end_tree(leader);
    end(stranger);
}

TEST_CASE("the subtree under another sharedserver-watcher is not the watcher's server's") {
    pid_t own = run("/bin/sleep", {"sleep", "1000"});
    pid_t other_watcher = run("/bin/sh", {"/usr/libexec/sharedserver-watcher", "-c", "sleep 1000 & wait"});
    REQUIRE(testing::wait_until([&] { return children_of(other_watcher).size() == 1; }, 5000));
    Members members({{}, me(), ""});  // this process stands for the watcher
    members.refresh();
    CHECK(has(members, own));
    CHECK_FALSE(has(members, other_watcher));
    CHECK_FALSE(has(members, children_of(other_watcher).front()));
    end(own);
    end_tree(other_watcher);
}

TEST_CASE("a process carrying the instance token is a member; another token is not") {
    std::string token = new_instance_token();
    pid_t holder = run("/bin/sleep", {"sleep", "1000"}, {std::string(instance_variable) + "=" + token});
    pid_t other = run("/bin/sleep", {"sleep", "1000"}, {std::string(instance_variable) + "=" + new_instance_token()});
    REQUIRE(testing::wait_until([&] { return !process_environment(holder).empty(); }, 5000));
    Members members({{}, {}, token});
    members.refresh();
    CHECK(has(members, holder));
    CHECK_FALSE(has(members, other));
    Members none({{}, {}, ""});
    CHECK(none.refresh() == 0);
    end(holder);
    end(other);
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
    REQUIRE(testing::wait_until([&] { return testing::proc_state(leader) == 'Z'; }, 5000));
    pid_t member = 0;
    REQUIRE(testing::wait_until([&] {
        for (const auto &entry : list_processes())
            if (entry.group == leader && !entry.zombie) member = entry.id.pid;
        return member != 0;
    }, 5000));
    ProcessId leader_id{leader, read_process_entry(leader)->id.start};

    Members zombie_leader({leader_id, {}, ""});
    zombie_leader.refresh();
    CHECK_FALSE(zombie_leader.leader_alive());
    CHECK(has(zombie_leader, member));

    int status = 0;
    ::waitpid(leader, &status, 0);
    Members gone_leader({leader_id, {}, ""});
    CHECK(gone_leader.refresh() == 0);
    auto strangers = gone_leader.unproven_in_group(leader);
    REQUIRE(strangers.size() == 1);
    CHECK(strangers.front().pid == member);
    testing::kill_if_alive(member);
}

TEST_CASE("signalling the members reaches each of them and never the caller") {
    pid_t a = run("/bin/sleep", {"sleep", "1000"});
    pid_t b = run("/bin/sleep", {"sleep", "1000"});
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

TEST_CASE("instance tokens are 32 random hex digits") {
    std::string a = new_instance_token(), b = new_instance_token();
    CHECK(a.size() == 32);
    CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(a != b);
}

TEST_CASE("processes stamped with a state dir are found by it, with their name and instance") {
    testing::TempDir dir;
    std::string token = new_instance_token();
    pid_t stamped = run("/bin/sleep", {"sleep", "1000"}, identity_environment(token, "web", dir.path()));
    pid_t malformed = run("/bin/sleep", {"sleep", "1000"}, identity_environment("not-a-token", "web", dir.path()));
    pid_t elsewhere = run("/bin/sleep", {"sleep", "1000"}, identity_environment(token, "web", dir.path() + "-other"));
    REQUIRE(testing::wait_until([&] { return !process_environment(elsewhere).empty(); }, 5000));
    auto found = find_stamped_processes(dir.path());
    REQUIRE(found.size() == 1);
    CHECK(found.front().id.pid == stamped);
    CHECK(found.front().name == "web");
    CHECK(found.front().instance == token);
    end(stamped);
    end(malformed);
    end(elsewhere);
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
