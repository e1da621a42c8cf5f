// sharedserver-watcher: the private executable that supervises one server.
// Spawned by the library only; its arguments are not a user interface.
#include <cstdio>
#include <cstring>
#include <string>

#include "../libsharedserver/watcher.hpp"

int main(int argc, char **argv) {
    sharedserver::WatcherOptions options;
    if (argc < 2 || (std::strcmp(argv[1], "run") != 0 && std::strcmp(argv[1], "adopt") != 0)) {
        std::fprintf(stderr,
                     "sharedserver-watcher is started by libsharedserver; it is not meant to be run by hand\n");
        return 2;
    }
    options.adopt = std::strcmp(argv[1], "adopt") == 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string key = argv[i];
        if (key == "--state-dir") options.state_dir = argv[i + 1];
        else if (key == "--name") options.name = argv[i + 1];
    }
    if (options.state_dir.empty() || options.name.empty()) {
        std::fprintf(stderr, "sharedserver-watcher: --state-dir and --name are required\n");
        return 2;
    }
    return sharedserver::run_watcher(options);
}
