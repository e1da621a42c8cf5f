#include "strace_count.hpp"

#include "child_processes.hpp"
#include "files.hpp"
#include "timing.hpp"

#include <csignal>
#include <sstream>
#include <unistd.h>
#include <vector>

namespace bench {
namespace {

constexpr const char *strace_path = "/usr/bin/strace";

StraceResult parse_strace(const std::string &text) {
    StraceResult r;
    std::istringstream in(text);
    bool in_table = false;
    for (std::string line; std::getline(in, line);) {
        std::istringstream ls(line);
        std::vector<std::string> t;
        for (std::string w; ls >> w;) t.push_back(w);
        if (t.empty()) continue;
        if (t[0].rfind("------", 0) == 0) {
            in_table = true;
            continue;
        }
        if (!in_table || t.size() < 5) continue;
        // % time, seconds, usecs/call, calls, [errors], name
        if (t.back() == "total") {
            r.calls = std::stoll(t[3]);
        } else {
            r.detail += (r.detail.empty() ? "" : ",") + t.back() + ":" + t[3];
        }
    }
    if (r.calls < 0 && text.find("% time") != std::string::npos) r.calls = 0;
    return r;
}

}  // namespace

bool have_strace() { return ::access(strace_path, X_OK) == 0; }

std::map<std::string, StraceResult> count_syscalls(const std::map<std::string, pid_t> &targets, double seconds,
                                                   const std::string &dir) {
    std::map<std::string, pid_t> tracers;
    std::map<std::string, std::string> outputs;
    for (const auto &[k, pid] : targets) {
        outputs[k] = dir + "/strace-" + k + ".txt";
        tracers[k] = spawn({strace_path, "-f", "-c", "-o", outputs[k], "-p", std::to_string(pid)}, "/dev/null",
                           outputs[k] + ".err");
        track(tracers[k], false);
    }
    sleep_ms(seconds * 1000.0);
    for (auto &[k, pid] : tracers) ::kill(pid, SIGINT);
    for (auto &[k, pid] : tracers) wait_exit(pid);
    std::map<std::string, StraceResult> results;
    for (const auto &[k, pid] : targets) {
        StraceResult r = parse_strace(read_file(outputs[k]));
        std::string err = read_file(outputs[k] + ".err");
        // strace -c prints no table at all when it saw no system call.
        if (r.calls < 0 && err.find(" attached") != std::string::npos) r.calls = 0;
        if (r.calls < 0) r.error = trim(err);
        results[k] = r;
    }
    return results;
}

}  // namespace bench
