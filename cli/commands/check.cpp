// `sharedserver check <name>`: the state as an exit code, for scripts.
#include <iostream>
#include <unistd.h>

#include "../hints.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

constexpr int exit_check_error = 4;  // 0-3 are states

std::string name;

void setup(CLI::App &app) { app.add_option("name", name, "Server name")->required(); }

int run(const Invocation &) {
    try {
        sharedserver::Context ctx;
        sharedserver::State state = ctx.check(name);
        if (::isatty(STDOUT_FILENO)) std::cout << sharedserver::to_string(state) << "\n";
        switch (state) {
            case sharedserver::State::active: return 0;
            case sharedserver::State::grace: return 1;
            case sharedserver::State::stopped: return 2;
            default: return 3;
        }
    } catch (const sharedserver::Error &e) {
        return fail(cli_message(e, name), exit_check_error);
    }
}

}  // namespace

const Command check{"", "check", "Exit 0 when active, 1 in grace, 2 stopped, 3 starting or stopping (4 on error)", false,
                    setup, run};

}  // namespace cli::commands
