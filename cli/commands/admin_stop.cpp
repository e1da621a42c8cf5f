// `sharedserver admin stop <name>`: stop a server for every client.
#include <iostream>

#include "../option_values.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name, timeout;
bool force = false;

void setup(CLI::App &app) {
    app.add_option("name", name, "Server name")->required();
    app.add_flag("--force", force, "SIGKILL the process group if SIGTERM has not stopped it within the timeout");
    app.add_option("--timeout", timeout, "How long to wait after SIGTERM (default 5s)");
}

int run(const Invocation &) {
    sharedserver::Context ctx;
    ctx.stop(name, force, timeout.empty() ? -1 : duration_option("--timeout", timeout));
    std::cout << "stopped " << name << "\n";
    return 0;
}

}  // namespace

const Command admin_stop{"admin", "stop", "Stop a server for every client", false, setup, run};

}  // namespace cli::commands
