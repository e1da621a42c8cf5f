// `sharedserver admin debug <name>`: a server's event log.
#include <iostream>

#include "../output.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name;
bool json = false;

void setup(CLI::App &app) {
    app.add_option("name", name, "Server name")->required();
    app.add_flag("--json", json, "Print the raw JSON lines");
}

int run(const Invocation &) {
    sharedserver::Context ctx;
    sharedserver::validate_name(name);
    std::string events = ctx.events(name);
    if (json) std::cout << events;
    else print_events(events);
    return 0;
}

}  // namespace

const Command admin_debug{"admin", "debug", "Show a server's event log", false, setup, run};

}  // namespace cli::commands
