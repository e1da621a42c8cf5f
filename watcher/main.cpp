// sharedserver-watcher: the private executable that supervises one server,
// and in its log-pump mode writes one server's log. Spawned by the library
// and by itself only; its arguments are not a user interface.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../libsharedserver/log_pump.hpp"
#include "../libsharedserver/watcher.hpp"

namespace {

int run_log_pump(int argc, char **argv) {
    sharedserver::LogPumpOptions options;
    for (int i = 2; i < argc; ++i) {
        std::string key = argv[i];
        if (key == "--no-follow") options.no_follow = true;
        else if (key == "--log" && i + 1 < argc) options.log_file = argv[++i];
        else if (key == "--max-size" && i + 1 < argc) options.max_size = std::strtoll(argv[++i], nullptr, 10);
    }
    if (options.log_file.empty()) {
        std::fprintf(stderr, "sharedserver-watcher %s: --log is required\n", sharedserver::log_pump_mode);
        return 2;
    }
    return sharedserver::run_log_pump(options);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc >= 2 && std::strcmp(argv[1], sharedserver::log_pump_mode) == 0) return run_log_pump(argc, argv);
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
