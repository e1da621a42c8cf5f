// Transactions through Lifecycle, in-process, with the real watcher
// ($SHAREDSERVER_WATCHER, set by meson). Every test uses its own state
// directory and kills every process it started, by pid, in teardown.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <fcntl.h>
#include <chrono>
#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <vector>

#include "clock.hpp"
#include "events.hpp"
#include "files.hpp"
#include "lifecycle.hpp"
#include "spawn.hpp"
#include "status.hpp"
#include "support.hpp"

using namespace sharedserver;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::Child;
using testing::TempDir;

namespace {

struct Started {
    ProcessId server;
    pid_t pgid = 0;
    ProcessId watcher;
};

class Fixture {
public:
    Fixture() : life_(dir_.path(), find_watcher_executable()) {}

    ~Fixture() {
        for (const auto &name : names_in_state_dir(dir_.path())) track(name);
        for (const auto &s : started_) {
            if (process_alive(s.watcher)) ::kill(s.watcher.pid, SIGKILL);
            if (process_alive(s.server)) ::kill(s.pgid > 1 ? -s.pgid : s.server.pid, SIGKILL);
        }
        for (const auto &s : started_) {
            testing::wait_until([&] { return !process_alive(s.server) && !process_alive(s.watcher); }, 3000);
        }
    }

    bool has_watcher() const {
        if (!life_.watcher_path().empty()) return true;
        MESSAGE("SHAREDSERVER_WATCHER is not set: run these through `meson test`; skipped");
        return false;
    }

    Lifecycle &life() { return life_; }
    const std::string &dir() const { return dir_.path(); }
    ServerFiles files(const std::string &name) const { return {dir_.path(), name}; }

    // Remembers the processes of `name` so teardown can kill them.
    void track(const std::string &name) {
        auto record = load_server_record(files(name));
        if (record && *record) started_.push_back({(*record)->server, (*record)->pgid, (*record)->watcher});
    }

    ServerRecord record(const std::string &name) {
        auto loaded = load_server_record(files(name));
        REQUIRE(loaded.has_value());
        REQUIRE(loaded->has_value());
        return **loaded;
    }

    int state(const std::string &name) {
        auto s = read_server_state(files(name));
        REQUIRE(s.has_value());
        return *s;
    }

    UseOutcome use(const std::string &name, const ProcessId &client, std::vector<std::string> argv = {"sleep", "1000"},
                   int64_t grace_ms = 60'000) {
        UseRequest request;
        if (!argv.empty()) {
            ServerSpec spec;
            spec.argv = std::move(argv);
            spec.grace_period_ms = grace_ms;
            request.spec = spec;
        }
        request.client = client;
        auto outcome = life_.use(name, request);
        if (!outcome) FAIL_CHECK("use failed: ", outcome.error().message);
        REQUIRE(outcome.has_value());
        track(name);
        return *outcome;
    }

    std::vector<std::string> event_kinds(const std::string &name) {
        std::vector<std::string> kinds;
        auto text = read_events(files(name));
        std::istringstream in(text.value_or(""));
        for (std::string line; std::getline(in, line);) kinds.push_back(json::parse(line).value("event", ""));
        return kinds;
    }

private:
    TempDir dir_;
    Lifecycle life_;
    std::vector<Started> started_;
};

ProcessId me() { return *identify_process(::getpid()); }

ServerSpec spec_of(std::vector<std::string> argv, int64_t grace_ms, std::vector<std::string> env = {},
                   std::string working_dir = {}) {
    ServerSpec spec;
    spec.argv = std::move(argv);
    spec.env = std::move(env);
    spec.working_dir = std::move(working_dir);
    spec.grace_period_ms = grace_ms;
    return spec;
}

ProcessId id_of(const Child &child) { return *identify_process(child.pid()); }

bool contains(const std::vector<std::string> &items, const std::string &item) {
    return std::find(items.begin(), items.end(), item) != items.end();
}

std::vector<std::string> open_fds(pid_t pid) {
    return testing::list_dir("/proc/" + std::to_string(pid) + "/fd");
}

}  // namespace

TEST_SUITE("lifecycle") {

TEST_CASE("the first use of a name starts one server, attaches the client and writes both records") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    auto outcome = fx.use("web", me());
    CHECK(outcome.outcome == SHAREDSERVER_STARTED);
    CHECK(outcome.refcount == 1);
    CHECK(outcome.mismatch == "");
    CHECK(process_alive(outcome.server));

    ServerRecord r = fx.record("web");
    CHECK(r.server == outcome.server);
    CHECK(r.pgid == outcome.server.pid);
    CHECK(r.boot_id == boot_id());
    CHECK(process_alive(r.watcher));
    CHECK(r.watcher.pid != ::getpid());
    CHECK(r.spec.argv == std::vector<std::string>{"sleep", "1000"});
    CHECK(r.spec.log_file == fx.files("web").log());
    CHECK(r.spec.grace_period_ms == 60'000);
    CHECK(r.grace_deadline_ms == 0);
    CHECK(::getpgid(r.server.pid) == r.server.pid);
    CHECK(::getsid(r.watcher.pid) == r.watcher.pid);

    auto clients = load_clients(fx.files("web"));
    REQUIRE(clients.has_value());
    REQUIRE(clients->size() == 1);
    CHECK(clients->begin()->first == ::getpid());
    CHECK(fx.state("web") == SHAREDSERVER_ACTIVE);
    CHECK(fx.event_kinds("web") == std::vector<std::string>{"started", "attached"});
}

TEST_CASE("a second client attaches to the running server and the same client twice counts once") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    Child other;
    auto first = fx.use("web", me());
    auto second = fx.use("web", id_of(other));
    CHECK(second.outcome == SHAREDSERVER_ATTACHED);
    CHECK(second.server == first.server);
    CHECK(second.refcount == 2);
    auto again = fx.use("web", id_of(other));
    CHECK(again.outcome == SHAREDSERVER_ATTACHED);
    CHECK(again.refcount == 2);
}

TEST_CASE("a use with a different command attaches and names what differs") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    fx.use("web", me());
    auto other = fx.use("web", me(), {"sleep", "999"});
    CHECK(other.outcome == SHAREDSERVER_ATTACHED);
    CHECK(other.mismatch == "command is `sleep 1000`, asked `sleep 999`");
}

TEST_CASE("the last unuse starts the grace period and a later use rescues the server") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    auto started = fx.use("web", me());
    int64_t before = unix_now_ms();
    int64_t boot_before = boot_now_ms();
    auto refcount = fx.life().unuse("web", ::getpid());
    REQUIRE(refcount.has_value());
    CHECK(*refcount == 0);
    CHECK_FALSE(file_exists(fx.files("web").clients()));
    CHECK(fx.state("web") == SHAREDSERVER_GRACE);
    ServerRecord r = fx.record("web");
    CHECK(r.grace_deadline_ms >= before + 60'000);
    CHECK(r.grace_deadline_ms <= unix_now_ms() + 60'000);
    // What the watcher acts on: the same deadline on CLOCK_BOOTTIME.
    CHECK(r.grace_deadline_boot_ms >= boot_before + 60'000);
    CHECK(r.grace_deadline_boot_ms <= boot_now_ms() + 60'000);
    CHECK(process_alive(started.server));

    auto rescued = fx.use("web", me());
    CHECK(rescued.outcome == SHAREDSERVER_RESCUED);
    CHECK(rescued.server == started.server);
    CHECK(rescued.refcount == 1);
    CHECK(fx.record("web").grace_deadline_ms == 0);
    CHECK(fx.record("web").grace_deadline_boot_ms == 0);
    CHECK(fx.state("web") == SHAREDSERVER_ACTIVE);
    auto kinds = fx.event_kinds("web");
    CHECK(contains(kinds, "grace-entered"));
    CHECK(contains(kinds, "grace-cancelled"));
}

TEST_CASE("a client that dies starts the grace period within 50 ms") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    Child client;
    auto started = fx.use("web", id_of(client));
    // Give the watcher time to open its pidfd on the client.
    REQUIRE(testing::wait_until([&] { return fx.state("web") == SHAREDSERVER_ACTIVE; }, 1000));
    std::this_thread::sleep_for(100ms);
    auto killed_at = std::chrono::steady_clock::now();
    client.kill();
    client.reap();
    bool in_grace = testing::wait_until([&] { return !file_exists(fx.files("web").clients()); }, 2000);
    int64_t took = testing::elapsed_ms(killed_at);
    REQUIRE(in_grace);
    INFO("grace began ", took, " ms after the client died");
    CHECK(took <= 50 * testing::time_scale);
    CHECK(fx.state("web") == SHAREDSERVER_GRACE);
    CHECK(fx.record("web").grace_deadline_ms > unix_now_ms());
    CHECK(process_alive(started.server));
    // The event follows the state it describes (DESIGN §4): wait for it.
    CHECK(testing::wait_until([&] { return contains(fx.event_kinds("web"), "client-died"); }, 2000));
}

TEST_CASE("the server is stopped with SIGTERM when the grace period expires, and every file but the logs goes") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    auto started = fx.use("web", me(), {"sleep", "1000"}, 300);
    ServerRecord r = fx.record("web");
    auto detached_at = std::chrono::steady_clock::now();
    REQUIRE(fx.life().unuse("web", ::getpid()).has_value());
    REQUIRE(testing::wait_until([&] { return !process_alive(started.server); }, 3000));
    int64_t took = testing::elapsed_ms(detached_at);
    INFO("stopped ", took, " ms after the last detach");
    CHECK(took >= 290);
    CHECK(took <= 1000 * testing::time_scale);
    REQUIRE(testing::wait_until([&] { return !process_alive(r.watcher); }, 3000));
    CHECK(fx.state("web") == SHAREDSERVER_STOPPED);
    // The log is made by the first output: `sleep` says nothing.
    auto files = testing::list_dir(fx.dir());
    CHECK(files == std::vector<std::string>{"web.events.jsonl"});
    auto exit = last_exit(fx.files("web"));
    REQUIRE(exit.has_value());
    CHECK(exit->exit_code == -1);
    CHECK(exit->signal == SIGTERM);
    CHECK_FALSE(exit->unexpected);
}

TEST_CASE("a server that exits on its own is recorded as an unexpected exit with its code") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    auto started = fx.use("web", me(), {"sh", "-c", "sleep 0.3; exit 3"});
    ServerRecord r = fx.record("web");
    REQUIRE(testing::wait_until([&] { return !process_alive(started.server) && !process_alive(r.watcher); }, 3000));
    REQUIRE(testing::wait_until([&] { return !file_exists(fx.files("web").server()); }, 1000));
    CHECK_FALSE(file_exists(fx.files("web").clients()));
    CHECK(fx.state("web") == SHAREDSERVER_STOPPED);
    auto exit = last_exit(fx.files("web"));
    REQUIRE(exit.has_value());
    CHECK(exit->exit_code == 3);
    CHECK(exit->signal == 0);
    CHECK(exit->unexpected);
}

TEST_CASE("a command that does not exist fails synchronously and leaves no record or lock") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    UseRequest request;
    request.spec = spec_of({"sharedserver-no-such-command"}, 1000);
    request.client = me();
    auto outcome = fx.life().use("web", request);
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().code == SHAREDSERVER_ESPAWN);
    CHECK(outcome.error().path == "sharedserver-no-such-command");
    CHECK(outcome.error().message == "cannot start \"web\": sharedserver-no-such-command: command not found in PATH; "
                                     "give its full path or fix PATH");
    CHECK_FALSE(file_exists(fx.files("web").server()));
    CHECK_FALSE(file_exists(fx.files("web").clients()));
    CHECK_FALSE(file_exists(fx.files("web").lock()));
}

TEST_CASE("a command path that is not executable fails with the exec error") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    UseRequest request;
    request.spec = spec_of({"/dev/null"}, 1000);
    request.client = me();
    auto outcome = fx.life().use("web", request);
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().code == SHAREDSERVER_ESPAWN);
    CHECK(outcome.error().message.starts_with("cannot start \"web\": /dev/null: "));
    CHECK_FALSE(file_exists(fx.files("web").server()));
}

TEST_CASE("attaching without a command to a stopped name is not-running and leaves no files") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    UseRequest request;
    request.client = me();
    auto outcome = fx.life().use("web", request);
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().code == SHAREDSERVER_ENOTRUNNING);
    CHECK(outcome.error().message ==
          "server \"web\" is not running; start it with `sharedserver use web -- <command>`");
    CHECK(testing::list_dir(fx.dir()).empty());
}

TEST_CASE("an invalid name is refused before any file is touched") {
    Fixture fx;
    UseRequest request;
    request.spec = spec_of({"sleep", "1"}, 0);
    request.client = me();
    auto outcome = fx.life().use("../escape", request);
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().code == SHAREDSERVER_EINVALID);
    CHECK(testing::list_dir(fx.dir()).empty());
}

TEST_CASE("a bad environment entry is refused naming it") {
    Fixture fx;
    UseRequest request;
    request.spec = spec_of({"sleep", "1"}, 0, {"NOEQUALS"});
    request.client = me();
    auto outcome = fx.life().use("web", request);
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().code == SHAREDSERVER_EINVALID);
    CHECK(outcome.error().message ==
          "env: invalid environment entry \"NOEQUALS\": expected KEY=VALUE");
    CHECK(testing::list_dir(fx.dir()).empty());
}

TEST_CASE("unuse of a pid that is not attached is not-a-client and lists who is") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    fx.use("web", me());
    auto result = fx.life().unuse("web", 999'999);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_ENOTCLIENT);
    CHECK(result.error().message == "pid 999999 is not attached to \"web\" (attached: " + std::to_string(::getpid()) +
                                        "); pass the pid that ran `use` with --pid");
    CHECK(fx.state("web") == SHAREDSERVER_ACTIVE);
}

TEST_CASE("unuse of a stopped name is not-running") {
    Fixture fx;
    auto result = fx.life().unuse("web", ::getpid());
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_ENOTRUNNING);
}

TEST_CASE("start of a running name is already-running") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    auto started = fx.use("web", me());
    auto again = fx.life().start("web", spec_of({"sleep", "1000"}, 1000));
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().code == SHAREDSERVER_EALREADY);
    CHECK(again.error().message == "server \"web\" is already running (pid " + std::to_string(started.server.pid) +
                                       "); use `sharedserver use web` to attach");
}

TEST_CASE("an admin start begins in the grace period") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    auto started = fx.life().start("web", spec_of({"sleep", "1000"}, 60'000));
    REQUIRE(started.has_value());
    fx.track("web");
    CHECK(process_alive(started->server));
    CHECK(fx.state("web") == SHAREDSERVER_GRACE);
    CHECK(fx.record("web").grace_deadline_ms > unix_now_ms());
}

TEST_CASE("stop terminates the server's whole group and removes its records") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    // The server forks a grandchild in its group: stop must not leave it behind.
    auto started = fx.use("web", me(), {"sh", "-c", "sleep 1000 & wait"});
    ServerRecord r = fx.record("web");
    REQUIRE(testing::wait_until([&] { return testing::list_dir("/proc/" + std::to_string(r.server.pid) + "/task").size() >= 1; }, 1000));
    auto stopped = fx.life().stop("web", false, 2000);
    if (!stopped) FAIL_CHECK(stopped.error().message);
    CHECK_FALSE(process_alive(started.server));
    auto table = list_processes().value();
    CHECK_FALSE(std::any_of(table.begin(), table.end(), [&](const ProcessEntry &e) { return e.group == r.pgid && !e.zombie; }));
    CHECK_FALSE(file_exists(fx.files("web").server()));
    CHECK_FALSE(file_exists(fx.files("web").clients()));
    CHECK(testing::wait_until([&] { return !process_alive(r.watcher); }, 2000));
    // Only now: the watcher, seeing its server gone, takes the lock (creating
    // the file again) before it finds the record removed and removes the file.
    CHECK_FALSE(file_exists(fx.files("web").lock()));
    CHECK(fx.state("web") == SHAREDSERVER_STOPPED);
}

TEST_CASE("stop without force of a server that ignores SIGTERM times out and keeps it running") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    auto started = fx.use("web", me(), {"sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"});
    std::this_thread::sleep_for(200ms);  // let the shell install its trap
    auto stopped = fx.life().stop("web", false, 200);
    REQUIRE_FALSE(stopped.has_value());
    CHECK(stopped.error().code == SHAREDSERVER_ETIMEOUT);
    CHECK(stopped.error().message == "server \"web\" (pid " + std::to_string(started.server.pid) +
                                         ") did not exit within 200ms of SIGTERM; use --force to SIGKILL it");
    CHECK(process_alive(started.server));
    CHECK(fx.state("web") == SHAREDSERVER_ACTIVE);
    auto forced = fx.life().stop("web", true, 200);
    CHECK(forced.has_value());
    CHECK_FALSE(process_alive(started.server));
}

TEST_CASE("stop of a stopped name is not-running") {
    Fixture fx;
    auto stopped = fx.life().stop("web", false, 100);
    REQUIRE_FALSE(stopped.has_value());
    CHECK(stopped.error().code == SHAREDSERVER_ENOTRUNNING);
}

TEST_CASE("kill removes the server, its watcher and every record") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    auto started = fx.use("web", me());
    ServerRecord r = fx.record("web");
    REQUIRE(fx.life().kill("web").has_value());
    CHECK(testing::wait_until([&] { return !process_alive(started.server) && !process_alive(r.watcher); }, 2000));
    CHECK_FALSE(file_exists(fx.files("web").server()));
    CHECK_FALSE(file_exists(fx.files("web").clients()));
    CHECK_FALSE(file_exists(fx.files("web").lock()));
    auto again = fx.life().kill("web");
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().code == SHAREDSERVER_ENOTRUNNING);
}

TEST_CASE("restart starts a new server process and keeps the clients") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    Child other;
    auto started = fx.use("web", me());
    fx.use("web", id_of(other));
    auto restarted = fx.life().restart("web");
    REQUIRE(restarted.has_value());
    fx.track("web");
    CHECK_FALSE(process_alive(started.server));
    CHECK(process_alive(*restarted));
    CHECK(restarted->pid != started.server.pid);
    auto clients = load_clients(fx.files("web"));
    REQUIRE(clients.has_value());
    CHECK(clients->size() == 2);
    CHECK(fx.state("web") == SHAREDSERVER_ACTIVE);
    CHECK(contains(fx.event_kinds("web"), "restarted"));
}

TEST_CASE("arguments with spaces and quotes and the added environment reach the server intact") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    TempDir out;
    std::string file = out / "argv";
    UseRequest request;
    request.spec = spec_of({"sh", "-c", "printf '[%s]\\n' \"$@\" \"$GREETING\" > \"$OUT\"; exec sleep 1000", "sh",
                            "a b", "q\"uote", "it's", "$HOME", ""},
                           60'000, {"GREETING=hello world", "OUT=" + file}, out.path());
    request.client = me();
    auto outcome = fx.life().use("web", request);
    REQUIRE(outcome.has_value());
    fx.track("web");
    REQUIRE(testing::wait_until([&] { return testing::read_text(file).size() > 0; }, 2000));
    std::this_thread::sleep_for(20ms);
    CHECK(testing::read_text(file) == "[a b]\n[q\"uote]\n[it's]\n[$HOME]\n[]\n[hello world]\n");
    CHECK(fx.record("web").spec.working_dir == out.path());
}

TEST_CASE("no descriptor of the client leaks into the server or the watcher") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    // A descriptor without O_CLOEXEC, as a careless host would have.
    int leaky = ::open("/dev/null", O_RDONLY);
    REQUIRE(leaky >= 0);
    auto started = fx.use("web", me());
    ::close(leaky);
    ServerRecord r = fx.record("web");
    // Polled: the server (sleep) briefly opens locale files while it starts;
    // an inherited descriptor would stay open for good.
    const std::vector<std::string> standard{"0", "1", "2"};
    bool only_standard = testing::wait_until([&] { return open_fds(r.server.pid) == standard; }, 1000);
    std::string seen;
    for (const auto &fd : open_fds(r.server.pid)) seen += fd + " ";
    INFO("server descriptors: ", seen);
    CHECK(only_standard);
    // The watcher has descriptors of its own (pidfds, inotify, timers) that
    // may reuse the number; only a /dev/null beyond 0-2 would be the leak.
    for (const auto &fd : open_fds(r.watcher.pid)) {
        if (fd == "0" || fd == "1" || fd == "2") continue;
        char link[256] = {};
        ssize_t len = ::readlink(("/proc/" + std::to_string(r.watcher.pid) + "/fd/" + fd).c_str(), link, sizeof link - 1);
        CHECK(std::string(link, len > 0 ? static_cast<std::size_t>(len) : 0) != "/dev/null");
    }
    // stdout and stderr: the log pump's pipe, which the watcher holds too.
    auto link_of = [](pid_t pid, int fd) {
        char target[256] = {};
        ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd)).c_str(), target,
                               sizeof target - 1);
        return std::string(target, n > 0 ? static_cast<std::size_t>(n) : 0);
    };
    CHECK(link_of(r.server.pid, 1).starts_with("pipe:"));
    CHECK(link_of(r.server.pid, 2) == link_of(r.server.pid, 1));
    // The watcher takes it as its stdout once it has reported to us.
    CHECK(testing::wait_until([&] { return link_of(r.watcher.pid, 1) == link_of(r.server.pid, 1); }, 1000));
}

TEST_CASE("concurrent first use from eight threads starts exactly one server and attaches everyone") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    std::vector<std::unique_ptr<Child>> clients;
    for (int i = 0; i < 8; ++i) clients.push_back(std::make_unique<Child>());
    std::vector<Result<UseOutcome>> outcomes(8, std::unexpected(Error{}));
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&, i] {
            while (!go) std::this_thread::yield();
            UseRequest request;
            request.spec = spec_of({"sleep", "1000"}, 60'000);
            request.client = id_of(*clients[static_cast<std::size_t>(i)]);
            outcomes[static_cast<std::size_t>(i)] = fx.life().use("web", request);
        });
    go = true;
    for (auto &t : threads) t.join();
    fx.track("web");
    int started = 0;
    std::size_t max_refcount = 0;
    for (auto &o : outcomes) {
        REQUIRE(o.has_value());
        started += o->outcome == SHAREDSERVER_STARTED;
        CHECK(o->server == outcomes[0]->server);
        max_refcount = std::max(max_refcount, o->refcount);
    }
    CHECK(started == 1);
    CHECK(max_refcount == 8);
    auto loaded = load_clients(fx.files("web"));
    REQUIRE(loaded.has_value());
    CHECK(loaded->size() == 8);
}

TEST_CASE("the record of a server that is gone reads as stopped and the next use replaces it") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    Child dead;
    ProcessId gone = id_of(dead);
    dead.kill();
    dead.reap();
    ServerRecord stale;
    stale.name = "web";
    stale.server = gone;
    stale.pgid = gone.pid;
    stale.boot_id = boot_id();
    stale.spec.argv = {"sleep", "1000"};
    REQUIRE(save_server_record(fx.files("web"), stale).has_value());
    CHECK(fx.state("web") == SHAREDSERVER_STOPPED);
    auto outcome = fx.use("web", me());
    CHECK(outcome.outcome == SHAREDSERVER_STARTED);
    CHECK(contains(fx.event_kinds("web"), "repaired"));
}

TEST_CASE("a corrupt record makes use fail with corrupt, and doctor repairs it") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    testing::write_text(fx.files("web").server(), "{not json");
    UseRequest request;
    request.spec = spec_of({"sleep", "1000"}, 60'000);
    request.client = me();
    auto outcome = fx.life().use("web", request);
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().code == SHAREDSERVER_ECORRUPT);
    CHECK(outcome.error().path == fx.files("web").server());
    auto report = fx.life().doctor("");
    REQUIRE(report.has_value());
    REQUIRE(report->size() == 1);
    CHECK((*report)[0].starts_with("web: removed a corrupt record ("));
    CHECK_FALSE(file_exists(fx.files("web").server()));
    CHECK(fx.use("web", me()).outcome == SHAREDSERVER_STARTED);
}

TEST_CASE("a server whose watcher was killed gets a new watcher from the next use") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    auto started = fx.use("web", me());
    ServerRecord r = fx.record("web");
    ::kill(r.watcher.pid, SIGKILL);
    REQUIRE(testing::wait_until([&] { return !process_alive(r.watcher); }, 2000));
    CHECK(process_alive(started.server));
    auto again = fx.use("web", me());
    CHECK(again.server == started.server);
    ServerRecord adopted = fx.record("web");
    CHECK(adopted.watcher.pid != r.watcher.pid);
    CHECK(process_alive(adopted.watcher));
    CHECK(contains(fx.event_kinds("web"), "adopted"));
}

TEST_CASE("doctor on a healthy state directory reports nothing") {
    Fixture fx;
    if (!fx.has_watcher()) return;
    fx.use("web", me());
    auto report = fx.life().doctor("");
    REQUIRE(report.has_value());
    CHECK(report->empty());
}

TEST_CASE("names_in_state_dir lists each valid name once, sorted") {
    Fixture fx;
    testing::write_text(fx.dir() + "/b.server.json", "");
    testing::write_text(fx.dir() + "/b.clients.json", "");
    testing::write_text(fx.dir() + "/a.lock", "");
    testing::write_text(fx.dir() + "/c.log", "");
    testing::write_text(fx.dir() + "/.hidden.server.json", "");
    CHECK(names_in_state_dir(fx.dir()) == std::vector<std::string>{"a", "b"});
}

}
