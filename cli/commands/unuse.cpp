// `sharedserver unuse <name>`: detach the caller; the last detach starts
// the grace period.
#include <iostream>
#include <unistd.h>

#include "../option_values.hpp"
#include "../output.hpp"
#include "commands.hpp"

namespace cli::commands {

void print_detached(sharedserver::Context &ctx, const std::string &name, std::size_t left) {
    if (left > 0) {
        std::cout << "detached from " << name << " (" << clients_phrase(left) << " left)\n";
        return;
    }
    auto now = ctx.info(name);
    std::cout << "detached from " << name << "; no client left, it stops in "
              << sharedserver::format_duration(now.grace_period_ms) << " unless one attaches\n";
}

namespace {

std::string name, pid;
CLI::App *self = nullptr;

void setup(CLI::App &app) {
    self = &app;
    app.add_option("name", name, "Server name")->required();
    app.add_option("--pid", pid, "The client's pid (default: the calling process)");
}

int run(const Invocation &) {
    sharedserver::Context ctx;
    int64_t client = self->count("--pid") ? pid_option(pid) : static_cast<int64_t>(::getppid());
    print_detached(ctx, name, ctx.unuse(name, client));
    return 0;
}

}  // namespace

const Command unuse{"", "unuse", "Detach from a server; the last detach starts its grace period", false, setup, run};

}  // namespace cli::commands
