// `sharedserver wait <name>`: block until a starting server is ready.
#include "../option_values.hpp"
#include "../progress_wait.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name, timeout;

void setup(CLI::App &app) {
    app.add_option("name", name, "Server name")->required();
    app.add_option("--timeout", timeout, "Give up after this long (default: the server's readiness timeout)");
}

int run(const Invocation &) {
    sharedserver::Context ctx;
    wait_with_progress(ctx, name, timeout.empty() ? -1 : duration_option("--timeout", timeout));
    return 0;
}

}  // namespace

const Command wait{"", "wait", "Wait until a starting server is ready (exit 1 if it fails or stops)", false, setup, run};

}  // namespace cli::commands
