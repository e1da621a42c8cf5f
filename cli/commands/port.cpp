// `sharedserver port <name>`: the server's port, for scripts.
#include <iostream>

#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name;

void setup(CLI::App &app) { app.add_option("name", name, "Server name")->required(); }

int run(const Invocation &) {
    sharedserver::Context ctx;
    auto i = ctx.info(name);
    if (i.state == sharedserver::State::stopped)
        return fail("server \"" + name + "\" is not running; start it with `sharedserver use " + name +
                    " --port auto -- <command>`");
    if (i.port == 0)
        return fail("server \"" + name + "\" has no port; give it one with --port auto or --port N when it starts");
    std::cout << i.port << "\n";
    return 0;
}

}  // namespace

const Command port{"", "port", "Print the server's port, for scripts: redis-cli -p \"$(sharedserver port redis)\"", false,
                   setup, run};

}  // namespace cli::commands
