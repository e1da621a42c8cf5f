// The watcher: one small single-threaded process per running server that
// owns its teardown (DESIGN §7). Its entry point, for watcher/main.cpp.
#pragma once

#include <string>

namespace sharedserver {

struct WatcherOptions {
    bool adopt = false;  // supervise a live server instead of launching one
    std::string state_dir;
    std::string name;
};

// Protocol with the spawning client: fd 0 carries one JSON request line and
// then stays open until the client has written the records; fd 1 receives
// one JSON report line. Returns the process exit code.
int run_watcher(const WatcherOptions &options);

}  // namespace sharedserver
