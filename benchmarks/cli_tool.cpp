#include "cli_tool.hpp"

#include "failure.hpp"
#include "files.hpp"
#include "proc_sampling.hpp"
#include "timing.hpp"

#include <nlohmann/json.hpp>

#include <csignal>

namespace bench {
namespace {

using nlohmann::json;

// A record as JSON; null while it is missing or half written (upstream
// rewrites its records in place under a lock).
json read_record(const std::string &path) {
    for (int attempt = 0; attempt < 20; ++attempt) {
        if (!exists(path)) return nullptr;
        json j = json::parse(read_file(path), nullptr, false);
        if (j.is_object()) return j;
        sleep_ms(1);
    }
    return nullptr;
}

}  // namespace

CliTool::CliTool(const std::string &label, const std::string &exe, const std::string &root)
    : label_(label), exe_(exe), home_(root + "/" + label), state_(home_ + "/state") {
    make_dir(home_);
    make_dir(state_);
}

Timed CliTool::run(const std::vector<std::string> &args, const std::string &out) const {
    std::vector<std::string> argv{exe_};
    argv.insert(argv.end(), args.begin(), args.end());
    Timed t;
    auto t0 = Clock::now();
    pid_t pid = spawn(argv, out, scratch("stderr.txt"), {"SHAREDSERVER_LOCKDIR=" + state_});
    t.code = wait_exit(pid, &t.cpu_ms);
    t.ms = since_us(t0) / 1000.0;
    return t;
}

Timed CliTool::run_ok(const std::vector<std::string> &args, const std::string &out) const {
    Timed t = run(args, out);
    if (t.code != 0) {
        std::string command = label_ + ": " + exe_;
        for (const auto &a : args) command += " " + a;
        throw Failure(command + " exited " + std::to_string(t.code) + ": " + trim(read_file(scratch("stderr.txt"))));
    }
    return t;
}

std::string CliTool::version() const {
    std::string out = scratch("version.txt");
    if (run({"--version"}, out).code != 0) return "?";
    std::string text = read_file(out);
    return trim(text.substr(0, text.find('\n')));
}

Timed CliTool::use_for(pid_t client, const std::string &name) {
    Timed t = run({"use", "--pid", std::to_string(client), "--grace-period", "10m", name, "--", "sleep", "1000"});
    bool running = remember(name);  // also after a failure: whatever it started is killed
    if (t.code != 0)
        throw Failure(label_ + ": use " + name + " exited " + std::to_string(t.code) + ": " +
                      trim(read_file(scratch("stderr.txt"))));
    if (!running)
        throw Failure(label_ + ": use " + name + " exited 0 but " + name +
                      ".server.json names no running server and watcher");
    return t;
}

bool CliTool::remember(const std::string &name) {
    json record = read_record(state_ + "/" + name + ".server.json");
    if (record.is_null()) return false;
    auto pid_of = [&](const char *key) -> pid_t {
        return record.contains(key) && record[key].is_number_integer() ? record[key].get<pid_t>() : 0;
    };
    pid_t server = pid_of("pid"), watcher = pid_of("watcher_pid");
    auto server_start = server > 0 ? start_stamp(server) : std::nullopt;
    auto watcher_start = watcher > 0 ? start_stamp(watcher) : std::nullopt;
    if (!server_start || !watcher_start) return false;
    track(watcher, false);
    track(server, true);
    started_[name] = {{server, *server_start, true}, {watcher, *watcher_start, false}};
    return true;
}

pid_t CliTool::watcher_of(const std::string &name) const {
    auto it = started_.find(name);
    if (it == started_.end()) throw Failure(label_ + ": no watcher seen for " + name);
    return it->second.watcher.pid;
}

void CliTool::stop(const std::string &name) {
    auto it = started_.find(name);
    if (it == started_.end()) return;
    const Started s = it->second;
    started_.erase(it);
    if (is_same(s.watcher)) ::kill(s.watcher.pid, SIGKILL);
    if (is_same(s.server)) ::kill(-s.server.pid, SIGKILL);
    if (!wait_until([&] { return !is_same(s.watcher) && !is_same(s.server); }, 5000, 0.5))
        throw Failure(label_ + ": " + name + ": server or watcher still alive after SIGKILL");
}

bool CliTool::lists_no_client(const std::string &name) const {
    std::string path = state_ + "/" + name + ".clients.json";
    if (!exists(path)) return true;
    json clients = read_record(path);
    if (clients.is_null()) return !exists(path);
    if (!clients.contains("clients")) return false;
    return clients["clients"].empty() && clients.value("refcount", 0) == 0;
}

}  // namespace bench
