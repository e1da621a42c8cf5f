// Starting a server: the client posix_spawn()s sharedserver-watcher (never a
// fork of a possibly multi-threaded host), the watcher detaches and launches
// the server, then reports the server's identity or the exact exec failure.
// The watcher does not start supervising until the client has written the
// records and closed the handshake: a client killed mid-transaction leaves
// no server without a record.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "error.hpp"
#include "process.hpp"
#include "records.hpp"

namespace sharedserver {

// The executable to spawn, in the order of DESIGN §6. "" when none exists.
std::string find_watcher_executable();

// The watcher executable of one context, looked up the first time a server
// is spawned or adopted: a `use` that attaches never needs it, and the
// lookup (the real path of the library and of each candidate) was 20 of
// the system calls of every attach. A lookup that found nothing is tried
// again next time (the watcher may be built or installed since). Safe to
// share between threads.
class WatcherExecutable {
public:
    explicit WatcherExecutable(std::string path = {}) : lookup_(std::make_unique<Lookup>()) {
        lookup_->path = std::move(path);
    }
    // Once found, the path never changes: the reference stays valid.
    const std::string &path() const {
        std::lock_guard<std::mutex> hold(lookup_->mutex);
        if (lookup_->path.empty()) lookup_->path = find_watcher_executable();
        return lookup_->path;
    }

private:
    struct Lookup {
        std::mutex mutex;
        std::string path;
    };
    std::unique_ptr<Lookup> lookup_;  // behind a pointer: a context is moved, a mutex cannot be
};

// The words a client ends the handshake with (one line, then it closes).
inline constexpr const char *handshake_claimed = "claimed";
inline constexpr const char *handshake_abandoned = "abandoned";

// The client's end of the channel to a watcher it started, after the report.
// The watcher waits on it before it supervises anything.
class Handshake {
public:
    Handshake() = default;
    explicit Handshake(int fd) : fd_(fd) {}
    Handshake(Handshake &&other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    Handshake &operator=(Handshake &&other) noexcept;
    ~Handshake() { close(); }

    // The records name the server: the watcher starts supervising it (once
    // it has the lock, and seen them).
    void claim();
    // They never will: the watcher stops the server it launched and exits,
    // touching no record and not the lock, which the caller holds.
    void abandon();
    // No word, as when the client dies: the watcher waits for the lock and
    // supervises the server if the records name it, else stops it.
    void close();

private:
    void say(const char *word);
    int fd_ = -1;
};

struct SpawnedServer {
    ProcessId server;
    ProcessId watcher;
    bool watcher_wakes_on_signal = false;  // see ServerRecord
    std::string instance;                  // see ServerRecord
    Handshake handshake;
};

// Launch `spec` under a new watcher for `name`.
Result<SpawnedServer> spawn_server(const std::string &watcher_path, const ServerFiles &files,
                                   const ServerSpec &spec);

// Start a new watcher for a live server whose watcher died; `instance` is
// the token of the server's launch, by which the new watcher knows its
// processes.
Result<SpawnedServer> adopt_server(const std::string &watcher_path, const ServerFiles &files,
                                   const ProcessId &server, const std::string &instance);

}  // namespace sharedserver
