// `sharedserver admin incref <name> --pid PID`: attach any pid to a running server.
#include <iostream>

#include "../option_values.hpp"
#include "../output.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name, pid, metadata;

void setup(CLI::App &app) {
    app.add_option("name", name, "Server name")->required();
    app.add_option("--pid", pid, "The client's pid")->required();
    app.add_option("--metadata", metadata, "Free text stored with the client");
}

int run(const Invocation &) {
    sharedserver::Context ctx;
    sharedserver::UseOptions options;
    options.client_pid = pid_option(pid);
    options.metadata = metadata;
    auto result = ctx.use(name, options);
    std::cout << "attached pid " << options.client_pid << " to " << name << " (" << clients_phrase(result.refcount) << ")\n";
    return 0;
}

}  // namespace

const Command admin_incref{"admin", "incref", "Attach a pid to a running server", false, setup, run};

}  // namespace cli::commands
