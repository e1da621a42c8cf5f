// `list` over many servers: in-process and through the CLI, at 200 servers
// (issue 2's size) and at all of them; an attach next to them, and whether
// it wakes an unrelated watcher.
#include "child_processes.hpp"
#include "failure.hpp"
#include "files.hpp"
#include "proc_sampling.hpp"
#include "results.hpp"
#include "section.hpp"
#include "sections.hpp"
#include "timing.hpp"

#include <algorithm>
#include <cstdio>
#include <csignal>
#include <sstream>

namespace bench {
namespace {

std::string list_name(int i) {
    char name[32];
    std::snprintf(name, sizeof name, "list-%04d", i);
    return name;
}

// list over the `count` servers running now: in-process, and the CLI as a process.
void measure_list(const Options &o, Section &s, int count) {
    std::string label = std::to_string(count) + " servers";
    std::string suffix;  // "list_api" is the issue-2 row; other sizes get "_<count>"
    if (count != 200) suffix.append("_").append(std::to_string(count));
    std::vector<double> api_ms;
    for (int i = 0; i < o.list_runs + 3; ++i) {
        sharedserver_list *list = nullptr;
        auto t0 = Clock::now();
        int rc = sharedserver_list_get(&list, s.ctx);
        std::size_t n = rc == 0 ? sharedserver_list_count(list) : 0;
        sharedserver_list_free(list);
        double ms = since_us(t0) / 1000.0;
        check(rc, "list_get");
        if (n != static_cast<std::size_t>(count))
            throw Failure("list_get saw " + std::to_string(n) + " servers, expected " + std::to_string(count));
        if (i >= 3) api_ms.push_back(ms);
    }
    add_row("list_api" + suffix, "list, C API (list_get + free), " + label, "ms", api_ms, 50.0);
    std::string out = s.dir + "/list-out.txt";
    auto time_cli = [&](const std::vector<std::string> &args, int runs) {
        std::vector<double> v;
        for (int i = 0; i < runs + 2; ++i) {
            double ms = time_ok(args, nullptr, out);
            if (i >= 2) v.push_back(ms);
        }
        return v;
    };
    add_row("list_cli" + suffix, "list, CLI (`sharedserver list`), " + label, "ms",
            time_cli({o.cli, "list"}, o.list_cli_runs), 50.0);
    add_row("list_cli_json" + suffix, "list, CLI (`sharedserver list --json`), " + label, "ms",
            time_cli({o.cli, "list", "--json"}, o.list_cli_runs), 50.0);
    // Sanity: the CLI saw every server.
    json listed = json::parse(read_file(out), nullptr, false);
    if (!listed.is_array() || listed.size() != static_cast<std::size_t>(count))
        add_error("`sharedserver list --json` did not list " + std::to_string(count) + " servers");
}

// Attach next to many servers: every watcher watches the whole state
// directory, so count how often an unrelated idle watcher wakes up.
void attach_among(const Options &o, Section &s, pid_t other) {
    int64_t before = other ? context_switches(other) : -1;
    auto mine = use_options(nullptr, -1, 0);
    std::vector<double> attach_us;
    const int ops = 200;
    for (int i = 0; i < ops; ++i) {
        auto t0 = Clock::now();
        int rc = sharedserver_use(nullptr, s.ctx, "list-0000", &mine);
        attach_us.push_back(since_us(t0));
        check(rc, "use list-0000");
        check(sharedserver_unuse(nullptr, s.ctx, "list-0000", 0), "unuse list-0000");
    }
    int64_t after = other && start_stamp(other) ? context_switches(other) : -1;
    add_row("list_dir_attach", "attach, C API, next to " + std::to_string(o.servers) + " servers (rescue)", "us",
            attach_us, std::nullopt);
    if (before >= 0 && after >= 0)
        add_row("unrelated_wakeups", "wakeups of an unrelated watcher per use+unuse", "count",
                {static_cast<double>(after - before) / ops}, 0.0, {{"ops", ops}, {"context_switches", after - before}});
}

// Every server and watcher should still be there; if not, say why (the event
// log of the first server whose watcher is gone).
void check_all_alive(const Options &o, Section &s, const std::vector<pid_t> &watchers) {
    int servers_alive = 0, watchers_alive = 0;
    for (const auto &t : tracked()) (t.group ? servers_alive : watchers_alive) += is_same(t) ? 1 : 0;
    std::fprintf(stderr, "  alive before the kill: %d servers, %d watchers (tracked %zu)\n", servers_alive,
                 watchers_alive, tracked().size());
    if (servers_alive == o.servers && watchers_alive == o.servers) return;
    std::string why;
    for (int i = 0; i < o.servers && why.empty(); ++i) {
        pid_t w = watchers[static_cast<std::size_t>(i)];
        if (::kill(w, 0) == 0 && start_stamp(w)) continue;
        std::string name = list_name(i);
        sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
        if (sharedserver_events(&buf, s.ctx, name.c_str()) == 0 && buf.ptr) {
            std::istringstream lines(buf.ptr);
            for (std::string line; std::getline(lines, line);)
                if (line.find("watcher") != std::string::npos && line.find("fail") != std::string::npos)
                    why = name + ": " + line;
        }
        sharedserver_buf_dispose(&buf);
    }
    add_error("list: only " + std::to_string(servers_alive) + " servers and " + std::to_string(watchers_alive) +
              " watchers of " + std::to_string(o.servers) +
              " were alive before the kill (fs.inotify.max_user_instances = " +
              trim(read_file("/proc/sys/fs/inotify/max_user_instances")) + ")" + (why.empty() ? "" : "; " + why));
}

}  // namespace

void bench_list(const Options &o, const std::string &root) {
    std::fprintf(stderr, "[list] %d servers started with admin start (C API), then list\n", o.servers);
    Section s(root, "list");
    auto opts = use_options(&sleep_argv, 600'000, 0);
    std::vector<double> start_ms;
    std::vector<pid_t> watchers;
    for (int i = 0; i < o.servers; ++i) {
        std::string name = list_name(i);
        int64_t pid = 0;
        auto t0 = Clock::now();
        check(sharedserver_start(&pid, s.ctx, name.c_str(), &opts), "start " + name);
        start_ms.push_back(since_us(t0) / 1000.0);
        s.remember(name);
        watchers.push_back(watcher_of(s.ctx, name));
        if (i + 1 == 200 && o.servers > 200) {  // the issue-2 size on the way
            sleep_ms(300);
            measure_list(o, s, 200);
        }
    }
    sleep_ms(300);
    auto first = std::vector<double>(start_ms.begin(), start_ms.begin() + std::min<std::size_t>(10, start_ms.size()));
    auto last = std::vector<double>(start_ms.end() - std::min<std::size_t>(10, start_ms.size()), start_ms.end());
    add_row("admin_start", "admin start, C API (spawn; per server)", "ms", start_ms, std::nullopt,
            {{"first10_median_ms", stats(first).median}, {"last10_median_ms", stats(last).median}});
    measure_list(o, s, o.servers);
    attach_among(o, s, watchers.size() > 1 ? watchers[1] : 0);
    check_all_alive(o, s, watchers);

    // Stop all of them by pid: watchers, then the server process groups.
    auto t0 = Clock::now();
    int killed = kill_tracked();
    double ms = since_us(t0) / 1000.0;
    std::fprintf(stderr, "  killed %d processes of %d servers by pid in %.1f ms\n", killed, o.servers, ms);
}

}  // namespace bench
