// One attempt of a liveness probe (DESIGN §7 Liveness), run by the watcher
// while a ready server lives, without ever blocking it: a connect, an HTTP
// request or a command is started, and the watcher polls the descriptor
// this hands it beside its own, until the attempt ends or its deadline
// passes. Client deaths, the grace period and SIGTERM are handled meanwhile.
// (The readiness probe, which runs before anyone relies on the server,
// waits for each attempt instead: probe_runner.hpp.)
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

#include "records.hpp"

namespace sharedserver {

class LivenessCheck {
public:
    // `probe`: its target with {port} substituted; `env` and `working_dir`:
    // the server's, which a command runs with and a relative socket is
    // found from.
    LivenessCheck(ReadyProbe probe, std::vector<std::string> env, std::string working_dir);
    // An attempt in flight is abandoned: its command is killed and reaped.
    ~LivenessCheck();
    LivenessCheck(const LivenessCheck &) = delete;
    LivenessCheck &operator=(const LivenessCheck &) = delete;

    enum class Outcome { pending, passed, failed };

    // Starts an attempt that must end by `deadline_ms` (CLOCK_BOOTTIME).
    Outcome begin(int64_t deadline_ms);
    // The attempt's descriptor ready, or its deadline passed: where it stands.
    Outcome advance();
    // While pending: the descriptor to poll, for `events()`; else -1.
    int fd() const { return fd_; }
    short events() const;
    int64_t deadline() const { return deadline_ms_; }
    // The probe command running now (0: none): the watcher's reaper leaves it
    // to this, which reads its status.
    pid_t command_pid() const { return command_; }
    // Why the last attempt failed.
    const std::string &why() const { return why_; }
    const ReadyProbe &probe() const { return probe_; }

private:
    enum class Stage { idle, connecting, reading, command };

    Outcome connect_to(const std::string &host, const std::string &port);
    Outcome connect_ended();
    Outcome connected();
    Outcome read_answer();
    Outcome start_command();
    Outcome command_ended(bool timed_out);
    Outcome fail(std::string why);
    void finish();

    ReadyProbe probe_;
    std::vector<std::string> env_;
    std::string working_dir_;
    Stage stage_ = Stage::idle;
    int fd_ = -1;
    pid_t command_ = 0;
    int64_t deadline_ms_ = 0;
    std::string answer_;
    std::string why_;
};

}  // namespace sharedserver
