// One CLI command: its name, its line in --help, the options it registers
// and what it runs. main walks a table of these; a command's options are
// registered only when that command is the one being run.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace cli {

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;  // a bad command line

// What main hands every command besides its own options.
struct Invocation {
    std::string config;                // --config, "" when not given
    std::vector<std::string> command;  // the words after `--`
};

struct Command {
    const char *group;  // "" for a top-level command, else its parent ("admin")
    const char *name;
    const char *description;
    bool takes_command;  // accepts the server's command after `--`
    void (*setup)(CLI::App &app);
    int (*run)(const Invocation &invocation);
};

// Every command, in --help order.
const std::vector<const Command *> &all_commands();

// One line on stderr, prefixed "sharedserver: "; returns `code`.
int fail(const std::string &message, int code = exit_failure);
void warn(const std::string &message);

}  // namespace cli
