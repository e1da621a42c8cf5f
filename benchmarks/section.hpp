// A section's private state directory with a C API context on it, and the
// servers it starts there.
#pragma once

#include <sharedserver/sharedserver.h>

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace bench {

// The command of every benchmark server: it only has to stay alive.
extern const std::vector<const char *> sleep_argv;

sharedserver_use_options use_options(const std::vector<const char *> *argv, int64_t grace_ms, int64_t client);

// A private state dir, a context on it, and $SHAREDSERVER_LOCKDIR for the CLI.
// Every process it remembers is killed by pid when the section ends.
struct Section {
    std::string dir;
    sharedserver_context *ctx = nullptr;
    std::vector<std::string> names;

    Section(const std::string &root, const std::string &name);
    ~Section() { finish(); }
    Section(const Section &) = delete;
    Section &operator=(const Section &) = delete;

    // The server's pid (its group) and its watcher's, for the kill by pid.
    void remember(const std::string &name);

    // Starts `name` (sleep 1000, 10-minute grace) for a client process that
    // only holds it, so that every use of the section is a plain attach
    // (refcount 1 -> 2) and every unuse a plain detach. Returns the holder.
    pid_t hold(const std::string &name);

    void finish();

    std::string path(const std::string &file) const { return dir + "/" + file; }
};

pid_t watcher_of(sharedserver_context *ctx, const std::string &name);

// SIGKILL what `use` started (server group and watcher) and wait until both are gone.
void kill_and_wait(Section &s, const std::string &name, pid_t server, pid_t watcher);

}  // namespace bench
