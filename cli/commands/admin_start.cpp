// `sharedserver admin start <name> [--pid PID] -- <command>`: start a server
// that is not running, with no client attached (it begins in its grace
// period) or with PID as its first client.
#include <iostream>

#include "../output.hpp"
#include "../spec_options.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name;
SpecArgs spec;

void setup(CLI::App &app) {
    app.add_option("name", name, "Server name")->required();
    add_spec_options(app, spec, "Attach this pid as the server's first client (default: none)");
    app.footer("Usage: sharedserver admin start [OPTIONS] <name> -- <command> [args...]");
}

// Started and attached in one step, so a short grace period cannot end the
// server between the two.
int start_attached(sharedserver::Context &ctx, const Definition &definition, const Client &client) {
    if (ctx.check(name) != sharedserver::State::stopped)
        return fail("server \"" + name + "\" is already running (pid " + std::to_string(ctx.info(name).pid) +
                    "); attach pid " + std::to_string(client.pid) + " with `sharedserver admin incref " + name +
                    " --pid " + std::to_string(client.pid) + "`");
    auto result = use_definition(ctx, name, definition, client);
    if (result.outcome != sharedserver::Outcome::started)
        return fail("server \"" + name + "\" was started by another client meanwhile; attached pid " +
                    std::to_string(client.pid) + " to it (pid " + std::to_string(result.pid) + ", " +
                    clients_phrase(result.refcount) + ")");
    std::cout << "started " << name << " (pid " << result.pid << port_phrase(result.port) << ") with pid " << client.pid
              << " as its client\n";
    return 0;
}

int run(const Invocation &invocation) {
    sharedserver::Context ctx;
    Definition definition = spec_definition(spec, name, invocation.command, invocation.config);
    if (!definition.json().contains("command"))
        return fail("admin start needs the server's command after `--` (sharedserver admin start " + name +
                        " -- <command> [args...]) or a definition in sharedserver.json",
                    exit_usage);
    Client client = spec_client(spec);
    if (client.pid != 0) return start_attached(ctx, definition, client);
    int64_t server = start_definition(ctx, name, definition, client);
    std::cout << "started " << name << " (pid " << server << ") with no client; it stops in "
              << sharedserver::format_duration(ctx.info(name).grace_period_ms) << " unless one attaches\n";
    return 0;
}

}  // namespace

const Command admin_start{"admin", "start", "Start a server with no client attached (it begins in its grace period)", true,
                          setup, run};

}  // namespace cli::commands
