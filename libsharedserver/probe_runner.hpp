// Running a readiness probe, in the watcher (the one process that lives as
// long as the server): one attempt at a time, between which it sleeps.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "log_probe.hpp"
#include "probe.hpp"
#include "records.hpp"

namespace sharedserver {

class ProbeRunner {
public:
    // `log_start`: where the log stood before this launch, so a log probe
    // only matches what this server wrote. `env` and `working_dir`: the
    // server's, which a readiness command runs with too, and from which a
    // relative socket path or command is found.
    ProbeRunner(ReadyProbe probe, std::string log_file, LogStart log_start, std::vector<std::string> env,
                std::string working_dir);
    ~ProbeRunner();

    enum class Result { ready, not_yet };
    // One attempt; `why` receives the latest reason it is not ready.
    Result attempt(std::string &why);

private:
    ReadyProbe probe_;
    std::string log_file_;
    std::vector<std::string> env_;
    std::string working_dir_;
    std::unique_ptr<LogProbe> log_;
};

}  // namespace sharedserver
