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
    // only matches what this server wrote. `env`: the server's environment,
    // which a readiness command runs with too.
    ProbeRunner(ReadyProbe probe, std::string log_file, LogStart log_start, std::vector<std::string> env);
    ~ProbeRunner();

    enum class Result { ready, not_yet };
    // One attempt; `why` receives the latest reason it is not ready.
    Result attempt(std::string &why);

private:
    ReadyProbe probe_;
    std::string log_file_;
    std::vector<std::string> env_;
    std::unique_ptr<LogProbe> log_;
};

}  // namespace sharedserver
