// The options that say what to run and how, shared by `use` and `admin
// start`: registered on a command, then laid over a project definition.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <sharedserver/sharedserver.hpp>

namespace cli {

struct SpecArgs {
    std::string grace_period;
    std::string pid;
    std::string metadata;
    std::vector<std::string> env;
    std::string log_file;
    std::string working_dir;
    std::string ready_port, ready_socket, ready_http, ready_cmd, ready_log;
    std::string ready_timeout, ready_interval;
    bool no_wait = false;
    std::string port;
    std::string restart = "no";
    std::string max_restarts;
    std::string restart_window;
    std::string on_mismatch = "warn";
    std::string log_max_size;
};

// pid_help: the --pid option's help line.
void add_spec_options(CLI::App &cmd, SpecArgs &args, const char *pid_help);

// What to run for `name`: the command after `--`, else the project's
// definition, else nothing (attach only); then every option given on the
// command line over it. An option counts when it was given at all, so
// `--grace-period ""` is an error rather than the default. --pid is left to
// the command.
sharedserver::UseOptions spec_options(const CLI::App &cmd, const SpecArgs &args, const std::string &name,
                                      const std::vector<std::string> &command, const std::string &config);

}  // namespace cli
