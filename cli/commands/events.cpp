// `sharedserver events [-f] [--json] [--since D] [name...]`: the servers'
// state changes as their event logs record them, for status bars and
// scripts. Built on the library's change watch: a follower sleeps in poll
// on its fd and makes no system call until something changes.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "../option_values.hpp"
#include "../output.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::vector<std::string> names;
std::string since;
bool follow = false, json = false;

void setup(CLI::App &app) {
    app.add_option("name", names, "Server names (default: every name, also those first used later)");
    app.add_flag("-f,--follow", follow, "Keep printing new changes until interrupted (Ctrl-C) or the reader goes away");
    app.add_flag("--json", json, "One JSON object per line: the event as recorded, with name and state");
    app.add_option("--since", since, "Only changes of this last duration (e.g. 10m; 0s: none recorded before now)")
        ->type_name("DURATION");
}

int64_t unix_now_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

std::string render(const sharedserver::Change &change) {
    if (!json) return change_line(change) + "\n";
    auto event = nlohmann::json::parse(change.json, nullptr, false);
    if (!event.is_object()) event = nlohmann::json::object();
    event["name"] = change.name;
    event["state"] = sharedserver_state_name(change.state);
    return event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// False once the reader has gone (EPIPE: `events -f | head -1`); that ends
// the command as a success. Any other write failure is an error.
bool write_out(const std::string &text) {
    for (std::size_t done = 0; done < text.size();) {
        ssize_t n = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EPIPE) return false;
        if (n < 0)
            throw sharedserver::Error(SHAREDSERVER_ERROR, std::string("cannot write to stdout: ") + std::strerror(errno), 0, "");
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// Every change that is already there: the recorded ones, oldest first
// across names (the watch reads one name's log at a time). `only`: the
// names to keep, empty for every one.
bool print_pending(sharedserver::Watch &watch, bool sort, const std::vector<std::string> &only = {}) {
    std::vector<sharedserver::Change> changes;
    while (auto change = watch.next(0))
        if (only.empty() || std::find(only.begin(), only.end(), change->name) != only.end())
            changes.push_back(std::move(*change));
    if (sort)
        std::stable_sort(changes.begin(), changes.end(), [](const auto &a, const auto &b) { return a.at_ms < b.at_ms; });
    std::string text;
    for (const auto &change : changes) text += render(change);
    return text.empty() || write_out(text);
}

int run(const Invocation &) {
    int64_t since_ms = 0;  // every recorded change
    if (!since.empty()) since_ms = std::max<int64_t>(1, unix_now_ms() - duration_option("--since", since));

    // A reader that goes away is an answer, not a failure: writes fail with
    // EPIPE instead of killing us. A follower blocks SIGPIPE rather than
    // ignoring it, so that its signalfd sees one sent by `kill` too.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    if (follow) {
        for (int signal : {SIGINT, SIGTERM, SIGPIPE}) sigaddset(&stop_signals, signal);
        ::sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
    } else {
        std::signal(SIGPIPE, SIG_IGN);
    }

    sharedserver::Context ctx;
    if (!follow) {
        // A watch on a name makes its (empty) event log, to have a file to
        // watch: reading what is recorded must not leave files behind.
        for (const auto &name : names) sharedserver::validate_name(name);
        sharedserver::Watch every = ctx.watch({}, since_ms);
        (void)print_pending(every, true, names);
        return 0;
    }
    sharedserver::Watch watch = ctx.watch(names, since_ms);
    if (!print_pending(watch, true)) return 0;

    int stop_fd = ::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (stop_fd < 0) return fail(std::string("cannot wait for signals: ") + std::strerror(errno));
    // events 0 on stdout: a pipe whose reader closed polls POLLERR, so
    // `events -f | head -1` ends when head does, not at the next change.
    pollfd fds[3] = {{watch.fd(), POLLIN, 0}, {stop_fd, POLLIN, 0}, {STDOUT_FILENO, 0, 0}};
    while (true) {
        if (::poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            return fail(std::string("cannot wait for changes: ") + std::strerror(errno));
        }
        if (fds[1].revents & POLLIN) return 0;
        if (fds[2].revents & (POLLERR | POLLHUP)) return 0;
        if (fds[2].revents & POLLNVAL) fds[2].fd = -1;  // stdout closed: the next write says so
        if ((fds[0].revents & POLLIN) && !print_pending(watch, false)) return 0;
    }
}

}  // namespace

const Command events{"", "events", "Show servers' state changes: the recorded ones, and with -f new ones as they happen",
                     false, setup, run};

}  // namespace cli::commands
