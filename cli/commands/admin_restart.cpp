// `sharedserver admin restart <name>`: a new process under the same clients.
#include <iostream>

#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name;

void setup(CLI::App &app) { app.add_option("name", name, "Server name")->required(); }

int run(const Invocation &) {
    sharedserver::Context ctx;
    int64_t old_pid = ctx.info(name).pid;
    int64_t new_pid = ctx.restart(name);
    std::cout << "restarted " << name << " (pid " << old_pid << " -> " << new_pid << ")\n";
    return 0;
}

}  // namespace

const Command admin_restart{"admin", "restart", "Stop a server and start its command again, keeping its clients", false,
                            setup, run};

}  // namespace cli::commands
