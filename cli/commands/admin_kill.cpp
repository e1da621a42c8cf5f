// `sharedserver admin kill <name>`: the last resort.
#include <iostream>

#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name;

void setup(CLI::App &app) { app.add_option("name", name, "Server name")->required(); }

int run(const Invocation &) {
    sharedserver::Context ctx;
    ctx.kill(name);
    std::cout << "killed " << name << "\n";
    return 0;
}

}  // namespace

const Command admin_kill{"admin", "kill", "SIGKILL a server and its watcher and remove its records", false, setup, run};

}  // namespace cli::commands
