// `sharedserver info <name>`: one server, for people or as JSON.
#include <iostream>

#include "../output.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name;
bool json = false;

void setup(CLI::App &app) {
    app.add_option("name", name, "Server name")->required();
    app.add_flag("--json", json, "Print a JSON object");
}

int run(const Invocation &) {
    sharedserver::Context ctx;
    auto i = ctx.info(name);
    if (json) std::cout << i.json << "\n";
    else print_info(i);
    return 0;
}

}  // namespace

const Command info{"", "info", "Show one server", false, setup, run};

}  // namespace cli::commands
