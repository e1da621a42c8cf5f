// Starting a server: the client posix_spawn()s sharedserver-watcher (never a
// fork of a possibly multi-threaded host), the watcher detaches and launches
// the server, then reports the server's identity or the exact exec failure.
// The watcher does not start supervising until the client has written the
// records and closed the handshake: a client killed mid-transaction leaves
// no server without a record.
#pragma once

#include <string>
#include <vector>

#include "error.hpp"
#include "process.hpp"
#include "records.hpp"

namespace sharedserver {

// The executable to spawn, in the order of DESIGN §6. "" when none exists.
std::string find_watcher_executable();

// The write end of the control pipe: closing it tells the watcher that the
// records are written and it may start supervising.
class Handshake {
public:
    Handshake() = default;
    explicit Handshake(int fd) : fd_(fd) {}
    Handshake(Handshake &&other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    Handshake &operator=(Handshake &&other) noexcept;
    ~Handshake() { close(); }
    void close();

private:
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
