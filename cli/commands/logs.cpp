// `sharedserver logs <name> [-n N] [-f]`: a server's output, also after it stopped.
#include <iostream>
#include <limits>

#include "../follow_log.hpp"
#include "../option_values.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name, lines = "20";
bool follow = false;

void setup(CLI::App &app) {
    app.add_option("name", name, "Server name")->required();
    app.add_option("-n,--lines", lines, "How many lines (default 20)");
    app.add_flag("-f,--follow", follow, "Keep printing new output until interrupted (Ctrl-C)");
}

int run(const Invocation &) {
    sharedserver::Context ctx;
    auto count = static_cast<std::size_t>(
        number_option("--lines", lines, 0, std::numeric_limits<int32_t>::max(), "a number of lines, 0 or more"));
    if (!follow) {
        std::cout << ctx.log_tail(name, count) << std::flush;
        return 0;
    }
    (void)ctx.log_tail(name, 0);  // fails for a name that never ran
    return follow_log(ctx.log_path(name), count);
}

}  // namespace

const Command logs{"", "logs", "Show the last lines of a server's output (also after it stopped)", false, setup, run};

}  // namespace cli::commands
