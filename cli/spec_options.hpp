// The options that say what to run and how, shared by `use` and `admin
// start`: one table maps each flag to the definition key it sets, so the
// library reads, checks and reports them as it reads a project file.
#pragma once

#include <array>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "definition.hpp"

namespace cli {

// What the command line gave, filled by CLI11.
struct SpecArgs {
    static constexpr std::size_t flag_count = 20;
    std::array<std::string, flag_count> text;
    std::array<CLI::Option *, flag_count> option{};
    std::vector<std::string> env;
    bool no_wait = false;
};

// pid_help: the --pid option's help line.
void add_spec_options(CLI::App &cmd, SpecArgs &args, const char *pid_help);

// What to run for `name`: the command after `--`, else the project's
// definition, else nothing (attach only), with every flag given laid over
// it. A flag counts when it was given at all, so `--grace-period ""` is an
// error rather than the default. Errors name the flag, not the key.
Definition spec_definition(const SpecArgs &args, const std::string &name, const std::vector<std::string> &command,
                           const std::string &config);

// The client's options: --pid (0 when not given), --metadata, --no-wait.
Client spec_client(const SpecArgs &args);

}  // namespace cli
