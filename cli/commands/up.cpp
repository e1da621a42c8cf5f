// `sharedserver up [--profile P]`: attach the client to every server of the
// profile and every server no profile names, starting what does not run.
#include <unistd.h>

#include "../option_values.hpp"
#include "../profile_report.hpp"
#include "../project_file.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string profile, pid, cwd;
bool as_json = false;
CLI::App *self = nullptr;

void setup(CLI::App &app) {
    self = &app;
    app.add_option("--profile", profile, "The profile whose servers come up, beside those no profile names");
    app.add_option("--pid", pid, "The client's pid (default: the calling process, i.e. this command's parent)");
    app.add_option("--cwd", cwd, "Where to look for the config (default: here)");
    app.add_flag("--json", as_json, "Print the report as JSON");
}

int run(const Invocation &invocation) {
    auto project = find_project(invocation.config, cwd, false);
    if (!project) {
        // An agent's session hook runs in every directory; most have no config.
        warn("no sharedserver.json, .sharedserver.json or .sharedserver/servers.json here or above, nor "
             "~/.config/sharedserver/servers.json: nothing to bring up");
        return 0;
    }
    sharedserver::Context ctx;
    int64_t client = self->count("--pid") ? pid_option(pid) : static_cast<int64_t>(::getppid());
    static const char *const counted[] = {"started", "attached", "skipped", "failed", nullptr};
    return print_profile_report(sharedserver::up(ctx, *project, profile, client), as_json, counted);
}

}  // namespace

const Command up{"", "up", "Attach to every server of a profile (and those of no profile), starting them as needed", false,
                 setup, run};

}  // namespace cli::commands
