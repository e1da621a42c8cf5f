// `sharedserver admin start <name> [--pid PID] -- <command>`: start a server
// that is not running, with no client attached (it begins in its grace
// period) or with PID as its first client.
#include <iostream>

#include "../option_values.hpp"
#include "../output.hpp"
#include "../spec_options.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name;
SpecArgs spec;
CLI::App *self = nullptr;

void setup(CLI::App &app) {
    self = &app;
    app.add_option("name", name, "Server name")->required();
    add_spec_options(app, spec, "Attach this pid as the server's first client (default: none)");
    app.footer("Usage: sharedserver admin start [OPTIONS] <name> -- <command> [args...]");
}

// Started and attached in one step, so a short grace period cannot end the
// server between the two.
int start_attached(sharedserver::Context &ctx, sharedserver::UseOptions options) {
    options.client_pid = pid_option(spec.pid);
    if (ctx.check(name) != sharedserver::State::stopped)
        return fail("server \"" + name + "\" is already running (pid " + std::to_string(ctx.info(name).pid) +
                    "); attach pid " + std::to_string(options.client_pid) + " with `sharedserver admin incref " + name +
                    " --pid " + std::to_string(options.client_pid) + "`");
    auto result = ctx.use(name, options);
    if (result.outcome != sharedserver::Outcome::started)
        return fail("server \"" + name + "\" was started by another client meanwhile; attached pid " +
                    std::to_string(options.client_pid) + " to it (pid " + std::to_string(result.pid) + ", " +
                    clients_phrase(result.refcount) + ")");
    std::cout << "started " << name << " (pid " << result.pid << port_phrase(result.port) << ") with pid "
              << options.client_pid << " as its client\n";
    return 0;
}

int run(const Invocation &invocation) {
    sharedserver::Context ctx;
    auto options = spec_options(*self, spec, name, invocation.command, invocation.config);
    if (options.command.empty())
        return fail("admin start needs the server's command after `--` (sharedserver admin start " + name +
                        " -- <command> [args...]) or a definition in sharedserver.json",
                    exit_usage);
    if (self->count("--pid")) return start_attached(ctx, options);
    int64_t server = ctx.start(name, options);
    std::cout << "started " << name << " (pid " << server << ") with no client; it stops in "
              << sharedserver::format_duration(ctx.info(name).grace_period_ms) << " unless one attaches\n";
    return 0;
}

}  // namespace

const Command admin_start{"admin", "start", "Start a server with no client attached (it begins in its grace period)", true,
                          setup, run};

}  // namespace cli::commands
