// `sharedserver down [--profile P]`: release what `up` took for the client
// and profile, whatever the config says now.
#include <unistd.h>

#include "../option_values.hpp"
#include "../profile_report.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string profile, pid, cwd;
bool as_json = false;
CLI::App *self = nullptr;

void setup(CLI::App &app) {
    self = &app;
    app.add_option("--profile", profile, "The profile `up` brought up");
    app.add_option("--pid", pid, "The client's pid, as given to `up` (default: the calling process)");
    // Accepted so a hook can pass `up`'s options unchanged: down reads what
    // up recorded, not the config.
    app.add_option("--cwd", cwd, "Ignored: down releases what up recorded, whatever the config says now");
    app.add_flag("--json", as_json, "Print the report as JSON");
}

int run(const Invocation &) {
    sharedserver::Context ctx;
    int64_t client = self->count("--pid") ? pid_option(pid) : static_cast<int64_t>(::getppid());
    static const char *const counted[] = {"released", "skipped", "failed", nullptr};
    return print_profile_report(sharedserver::down(ctx, profile, client), as_json, counted);
}

}  // namespace

const Command down{"", "down", "Release what `up` took for this client and profile", false, setup, run};

}  // namespace cli::commands
