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
    app.add_option("--pid", pid, "The client's pid (default: the calling process; see README, Using it from a shell)");
}

// The caller is the shell or script that ran `use`: our parent, unless
// that shell exec'd us as its last command (`bash -c 'sharedserver use x --
// ...; sharedserver unuse x'`): then we ARE that shell, and our own pid is
// the client. Trying our own pid first also keeps an attached parent (the
// outer shell) from losing its reference to an exec'd child's unuse.
std::size_t detach_caller(sharedserver::Context &ctx) {
    try {
        return ctx.unuse(name, ::getpid());
    } catch (const sharedserver::Error &e) {
        if (e.code() != SHAREDSERVER_ENOTCLIENT) throw;
    }
    return ctx.unuse(name, ::getppid());
}

int run(const Invocation &) {
    sharedserver::Context ctx;
    std::size_t left = self->count("--pid") ? ctx.unuse(name, pid_option(pid)) : detach_caller(ctx);
    print_detached(ctx, name, left);
    return 0;
}

}  // namespace

const Command unuse{"", "unuse", "Detach from a server; the last detach starts its grace period", false, setup, run};

}  // namespace cli::commands
