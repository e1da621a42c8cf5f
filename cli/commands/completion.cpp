// `sharedserver completion bash|zsh|fish`.
#include <iostream>

#include "../completion.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string shell;

void setup(CLI::App &app) { app.add_option("shell", shell, "bash, zsh or fish")->required(); }

int run(const Invocation &) {
    auto script = completion_script(shell);
    if (!script) return fail("unknown shell \"" + shell + "\": choose bash, zsh or fish", exit_usage);
    std::cout << *script;
    return 0;
}

}  // namespace

const Command completion{"", "completion", "Print a completion script: bash, zsh or fish", false, setup, run};

}  // namespace cli::commands
