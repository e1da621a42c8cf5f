// `sharedserver with <name>... -- <command>`: hold servers while one command runs.
#include "../project_file.hpp"
#include "../run_with.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::vector<std::string> names;

void setup(CLI::App &app) {
    app.add_option("names", names, "Servers to hold (started from sharedserver.json when it defines them)")->required();
}

int run(const Invocation &invocation) {
    if (invocation.command.empty())
        return fail("with needs the command to run after `--` (sharedserver with redis -- pytest)", exit_usage);
    sharedserver::Context ctx;
    for (const auto &n : names) sharedserver::validate_name(n);
    return run_with(ctx, find_project(invocation.config), names, invocation.command);
}

}  // namespace

const Command with{"", "with", "Run a command while holding servers: sharedserver with postgres redis -- pytest", true, setup,
                   run};

}  // namespace cli::commands
