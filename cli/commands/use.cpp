// `sharedserver use <name> [-- <command>]`: attach the caller, starting the
// server first when it is not running.
#include <iostream>
#include <unistd.h>

#include "../output.hpp"
#include "../progress_wait.hpp"
#include "../spec_options.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name;
SpecArgs spec;

void setup(CLI::App &app) {
    app.add_option("name", name, "Server name")->required();
    add_spec_options(app, spec, "The client's pid (default: the calling process, i.e. this command's parent)");
    app.footer("Usage: sharedserver use [OPTIONS] <name> [-- <command> [args...]]");
}

int run(const Invocation &invocation) {
    sharedserver::Context ctx;
    Definition definition = spec_definition(spec, name, invocation.command, invocation.config);
    Client client = spec_client(spec);
    // `use` acts for the shell or script that ran it.
    if (client.pid == 0) client.pid = ::getppid();
    // On a terminal, show progress while waiting: attach without waiting,
    // then wait with a spinner. Off a terminal, one call.
    bool show_progress = !client.no_wait && progress_enabled();
    if (show_progress) client.no_wait = true;
    auto result = use_definition(ctx, name, definition, client);
    if (show_progress && !result.ready) wait_with_progress(ctx, name, -1);
    if (!result.mismatch.empty() && result.outcome == sharedserver::Outcome::started)
        std::cerr << "sharedserver: restarted \"" << name << "\" with the definition asked for (its " << result.mismatch << ")\n";
    else if (!result.mismatch.empty())
        warn("\"" + name + "\" runs with a different definition than asked: " + result.mismatch);
    switch (result.outcome) {
        case sharedserver::Outcome::started:
            std::cout << "started " << name << " (pid " << result.pid << port_phrase(result.port) << ")\n";
            break;
        case sharedserver::Outcome::rescued:
            std::cout << "attached to " << name << " (pid " << result.pid << port_phrase(result.port) << ", "
                      << clients_phrase(result.refcount) << "), ending its grace period\n";
            break;
        case sharedserver::Outcome::attached:
            std::cout << "attached to " << name << " (pid " << result.pid << port_phrase(result.port) << ", "
                      << clients_phrase(result.refcount) << ")\n";
            break;
    }
    return 0;
}

}  // namespace

const Command use{"", "use", "Attach to a server, starting it with the command after `--` if it is not running", true, setup, run};

}  // namespace cli::commands
