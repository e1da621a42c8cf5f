// A server's life through the C API and the CLI: start of a stopped name,
// readiness of a listening server, a client's death starting the grace
// period, and the grace period's end stopping the server.
#include "child_processes.hpp"
#include "dir_watch.hpp"
#include "failure.hpp"
#include "files.hpp"
#include "proc_sampling.hpp"
#include "results.hpp"
#include "section.hpp"
#include "sections.hpp"
#include "timing.hpp"

#include <arpa/inet.h>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

namespace bench {

void bench_start(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[start] use of a stopped name until running: C API and CLI %d runs, readiness %d runs\n",
                 o.start_runs, o.ready_runs);
    Section s(root, "start");
    pid_t holder = spawn_client();

    // C API: `use` with a command until it returns (the watcher has spawned
    // the server, the records are written, the state is active).
    std::vector<double> api_ms, cli_ms;
    for (int run = 0; run < o.start_runs + 2; ++run) {
        auto opts = use_options(&sleep_argv, 600'000, holder);
        sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
        auto t0 = Clock::now();
        int rc = sharedserver_use(&result, s.ctx, "start", &opts);
        double ms = since_us(t0) / 1000.0;
        check(rc, "use start");
        s.remember("start");
        if (result.outcome != SHAREDSERVER_STARTED) throw Failure("use start: expected a fresh start");
        if (run >= 2) api_ms.push_back(ms);
        kill_and_wait(s, "start", static_cast<pid_t>(result.pid), watcher_of(s.ctx, "start"));
    }
    add_row("start_api", "start -> running, C API (use of a stopped name)", "ms", api_ms, std::nullopt);

    // CLI: the whole `sharedserver use --pid <client> <name> -- sleep 1000` process.
    for (int run = 0; run < o.start_runs + 2; ++run) {
        Timed t = time_process({o.cli, "use", "--pid", std::to_string(holder), "--grace-period", "10m", "start-cli",
                                "--", "sleep", "1000"});
        s.remember("start-cli");
        if (t.code != 0) throw Failure("sharedserver use start-cli exited " + std::to_string(t.code));
        if (run >= 2) cli_ms.push_back(t.ms);
        sharedserver_info *info = nullptr;
        check(sharedserver_info_get(&info, s.ctx, "start-cli"), "info start-cli");
        pid_t server = static_cast<pid_t>(sharedserver_info_pid(info));
        pid_t watcher = static_cast<pid_t>(sharedserver_info_watcher_pid(info));
        sharedserver_info_free(info);
        kill_and_wait(s, "start-cli", server, watcher);
    }
    add_row("start_cli", "start -> running, CLI (`sharedserver use -- cmd`)", "ms", cli_ms, std::nullopt);

    // Readiness (issue 5): a server (this program, --bench-serve) listens on
    // its allocated port after 300 ms and notes when listen() returned: from
    // then on the probe's connect succeeds, so this is at or before the first
    // accepted connection. `use` with a port probe blocks until ready.
    std::vector<double> ready_ms, probe_cpu_ms;
    std::string exe = self_exe();
    for (int run = 0; run < o.ready_runs; ++run) {
        std::string mark = s.dir + "/accepted-" + std::to_string(run);
        std::vector<const char *> argv = {exe.c_str(), "--bench-serve", mark.c_str(), "300"};
        auto opts = use_options(&argv, 600'000, holder);
        opts.port = SHAREDSERVER_PORT_AUTO;
        opts.ready_kind = SHAREDSERVER_PROBE_PORT;
        sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
        int rc = sharedserver_use(&result, s.ctx, "ready", &opts);
        int64_t returned = mono_ns();
        check(rc, "use ready");
        s.remember("ready");
        if (result.outcome != SHAREDSERVER_STARTED || !result.ready) throw Failure("use ready: expected a ready start");
        pid_t watcher = watcher_of(s.ctx, "ready");
        int64_t watcher_cpu = cpu_ns(watcher);
        // The server notes the time right after listen(); `use` may return before it wrote it.
        wait_until([&] { return exists(mark); }, 2000);
        std::string listening = read_file(mark);
        if (listening.empty()) throw Failure("ready: the server never noted that it listens");
        ready_ms.push_back(static_cast<double>(returned - std::stoll(listening)) / 1e6);
        probe_cpu_ms.push_back(static_cast<double>(watcher_cpu) / 1e6);
        kill_and_wait(s, "ready", static_cast<pid_t>(result.pid), watcher);
    }
    add_row("ready_latency", "ready: server listening -> use returned", "ms", ready_ms, 20.0,
            {{"probe", "port, auto port, default interval (10 ms)"}, {"server_listens_after_ms", 300}});
    add_row("ready_watcher_cpu", "  watcher CPU, spawn to ready (0.3 s, port probe)", "ms", probe_cpu_ms, std::nullopt);
}

// Listens on $SHAREDSERVER_PORT after DELAY_MS, writes the CLOCK_MONOTONIC ns
// at which it began to listen to MARK, then accepts and closes until killed.
int bench_serve(int argc, char **argv) {
    const char *port = getenv("SHAREDSERVER_PORT");
    if (argc != 4 || !port) return 64;
    sleep_ms(std::stod(argv[3]));
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) return 1;
    // From here a connect succeeds (the kernel completes it before accept).
    int64_t listening = mono_ns();
    std::string mark = argv[2], tmp = mark + ".tmp";
    {
        std::ofstream out(tmp);
        out << listening;
    }
    ::rename(tmp.c_str(), mark.c_str());
    for (;;) {
        int c = ::accept(fd, nullptr, nullptr);
        if (c >= 0) ::close(c);
    }
}

void bench_death(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[death] kill -9 of the only client -> clients.json removed, %d runs\n", o.death_runs);
    Section s(root, "death");
    DirWatch deletions(s.dir, IN_DELETE);
    const std::string target = "death.clients.json";
    std::vector<double> ms;
    int timeouts = 0;
    for (int run = 0; run < o.death_runs; ++run) {
        pid_t client = spawn_client();
        auto opts = use_options(&sleep_argv, 600'000, client);
        sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
        check(sharedserver_use(&result, s.ctx, "death", &opts), "use death");
        if (run == 0) s.remember("death");
        // Wait until the watcher has a pidfd on this client: then the kill
        // below is noticed through it, not found by a later resync.
        pid_t w = watcher_of(s.ctx, "death");
        if (!wait_until([&] { return holds_pidfd(w, client); }, 2000, 0.2))
            throw Failure("the watcher never watched client " + std::to_string(client));
        sleep_ms(5);
        deletions.drain();
        auto t0 = Clock::now();
        ::kill(client, SIGKILL);
        wait_exit(client);  // reaped at once, as a shell reaps a dead editor
        bool seen = deletions.wait_for(target, [&] { return !exists(s.path(target)); }, 2000);
        double d = since_us(t0) / 1000.0;
        if (!seen) {
            ++timeouts;
            continue;
        }
        ms.push_back(d);
    }
    if (timeouts) add_error(std::to_string(timeouts) + " client deaths were not noticed within 2 s");
    add_row("death_to_grace", "client kill -9 -> grace (clients.json gone)", "ms", ms, 50.0,
            {{"not_noticed_within_2s", timeouts}});
}

void bench_grace(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[grace] grace %" PRId64 " ms: deadline -> server exit/reaped/records gone, %d runs\n", o.grace_ms,
                 o.grace_runs);
    Section s(root, "grace");
    std::vector<double> exit_ms, reaped_ms, records_ms;
    for (int run = 0; run < o.grace_runs; ++run) {
        auto opts = use_options(&sleep_argv, o.grace_ms, 0);
        sharedserver_use_result result = SHAREDSERVER_USE_RESULT_INIT;
        check(sharedserver_use(&result, s.ctx, "grace", &opts), "use grace");
        if (result.outcome != SHAREDSERVER_STARTED) throw Failure("use grace: expected a fresh start");
        s.remember("grace");
        pid_t server = static_cast<pid_t>(result.pid);
        pid_t watcher = watcher_of(s.ctx, "grace");
        int server_fd = pidfd_open(server), watcher_fd = pidfd_open(watcher);
        if (server_fd < 0 || watcher_fd < 0) throw Failure("pidfd_open of the server/watcher");
        wait_until([&] { return holds_pidfd(watcher, ::getpid()); }, 2000, 0.2);
        check(sharedserver_unuse(nullptr, s.ctx, "grace", 0), "unuse grace");
        sharedserver_info *info = nullptr;
        check(sharedserver_info_get(&info, s.ctx, "grace"), "info grace");
        int64_t deadline_us = sharedserver_info_grace_deadline(info) * 1000;
        int state = sharedserver_info_state(info);
        sharedserver_info_free(info);
        if (state != SHAREDSERVER_GRACE || deadline_us <= 0) throw Failure("grace: the server is not in grace after unuse");
        pollfd p{server_fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(o.grace_ms) + 5000) != 1) throw Failure("grace: the server did not stop");
        int64_t exited = unix_us();
        // The watcher is its parent: it is gone for good once reaped.
        while (::kill(server, 0) == 0 && unix_us() - exited < 5'000'000) std::this_thread::yield();
        int64_t reaped = unix_us();
        while (exists(s.path("grace.server.json")) && unix_us() - exited < 5'000'000) std::this_thread::yield();
        int64_t records = unix_us();
        exit_ms.push_back((exited - deadline_us) / 1000.0);
        reaped_ms.push_back((reaped - deadline_us) / 1000.0);
        records_ms.push_back((records - deadline_us) / 1000.0);
        pollfd pw{watcher_fd, POLLIN, 0};
        ::poll(&pw, 1, 5000);  // the watcher exits too before the next run
        ::close(server_fd);
        ::close(watcher_fd);
    }
    json note = {{"grace_period_ms", o.grace_ms},
                 {"note", "deadline is stored in whole milliseconds: +-1 ms resolution"}};
    add_row("grace_to_exit", "grace deadline -> server exited (pidfd)", "ms", exit_ms, std::nullopt, note);
    add_row("grace_to_gone", "grace deadline -> server pid gone (reaped)", "ms", reaped_ms, std::nullopt, note);
    add_row("grace_to_records", "grace deadline -> server.json removed", "ms", records_ms, std::nullopt, note);
}

}  // namespace bench
