// `sharedserver admin doctor [name]`: repair what crashes left behind.
#include <iostream>

#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name;

void setup(CLI::App &app) { app.add_option("name", name, "Server name (default: every server)"); }

int run(const Invocation &) {
    sharedserver::Context ctx;
    std::string report = ctx.doctor(name);
    std::cout << (report.empty() ? std::string("nothing to repair\n") : report);
    return 0;
}

}  // namespace

const Command admin_doctor{"admin", "doctor", "Remove stale records and adopt servers whose watcher died", false, setup, run};

}  // namespace cli::commands
