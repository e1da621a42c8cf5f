// A sharedserver CLI under test, driven only through its command line, with a
// state directory of its own: ours (--cli) or another one (--against, e.g.
// the upstream Rust tool 0.6.8). Both keep `<name>.server.json` (with `pid`
// and `watcher_pid`) and `<name>.clients.json` in $SHAREDSERVER_LOCKDIR,
// which is how the benchmark finds the processes a `use` started.
#pragma once

#include "child_processes.hpp"

#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace bench {

class CliTool {
public:
    // Makes `<root>/<label>/` (scratch files) and `<root>/<label>/state` (its state dir).
    CliTool(const std::string &label, const std::string &exe, const std::string &root);

    const std::string &label() const { return label_; }
    const std::string &exe() const { return exe_; }
    const std::string &state_dir() const { return state_; }

    // `exe args...` with this tool's state dir, timed; stdout to `out`.
    Timed run(const std::vector<std::string> &args, const std::string &out = "/dev/null") const;
    // The same, but a Failure naming the command and its stderr unless it exits 0.
    Timed run_ok(const std::vector<std::string> &args, const std::string &out = "/dev/null") const;

    // `--version`, first line ("?" if it fails).
    std::string version() const;

    // `use --pid <client> --grace-period 10m <name> -- sleep 1000`: starts the
    // server or attaches `client`; then tracks what it started.
    Timed use_for(pid_t client, const std::string &name);

    // Remembers the server (its group) and the watcher `name`'s record names,
    // for the kill by pid; false when the record names no live process.
    bool remember(const std::string &name);

    pid_t watcher_of(const std::string &name) const;

    // SIGKILLs the watcher, then the server's group, that `remember` saw,
    // each only while it is still the process we saw; waits until both are gone.
    void stop(const std::string &name);

    // Whether `<name>.clients.json` lists no client: missing (ours, in
    // grace) or with an empty client map (upstream keeps the file at refcount 0).
    bool lists_no_client(const std::string &name) const;

    std::string scratch(const std::string &file) const { return home_ + "/" + file; }

private:
    struct Started {
        Tracked server, watcher;
    };
    std::string label_, exe_, home_, state_;
    std::map<std::string, Started> started_;
};

}  // namespace bench
