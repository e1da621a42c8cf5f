// `sharedserver admin doctor [name]`: repair what crashes left behind, then
// say what is still wrong with the state directory or the watcher, by the
// library's rules (the same as :checkhealth's).
#include <iostream>

#include <nlohmann/json.hpp>

#include "../hints.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

std::string name;

void setup(CLI::App &app) { app.add_option("name", name, "Server name (default: every server)"); }

// A repair is the doctor's answer; what it cannot repair is reported, and
// the exit status stays 0 so that scripts repairing records are not failed
// by, say, a low disk they cannot fix here.
int run(const Invocation &) {
    sharedserver::Context ctx;
    std::string report = ctx.doctor(name);
    std::cout << (report.empty() ? std::string("nothing to repair\n") : report);
    auto health = nlohmann::json::parse(ctx.health(), nullptr, false);
    if (health.is_object() && health["problems"].is_array())
        for (const auto &problem : health["problems"])
            if (problem.is_string()) std::cout << "problem: " << cli_record_problem(problem.get<std::string>()) << '\n';
    return 0;
}

}  // namespace

const Command admin_doctor{"admin", "doctor", "Remove stale records and adopt servers whose watcher died", false, setup, run};

}  // namespace cli::commands
