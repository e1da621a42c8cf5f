// `sharedserver admin decref <name> --pid PID`: detach any pid.
#include "../option_values.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name, pid;

void setup(CLI::App &app) {
    app.add_option("name", name, "Server name")->required();
    app.add_option("--pid", pid, "The client's pid")->required();
}

int run(const Invocation &) {
    sharedserver::Context ctx;
    int64_t client = pid_option(pid);
    print_detached(ctx, name, ctx.unuse(name, client));
    return 0;
}

}  // namespace

const Command admin_decref{"admin", "decref", "Detach a pid from a server", false, setup, run};

}  // namespace cli::commands
