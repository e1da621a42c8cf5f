// `sharedserver list`: every running server, and the project's stopped ones.
#include <filesystem>
#include <iostream>

#include "../output.hpp"
#include "../project_file.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

// A file in the current directory by its name, any other by its full path
// (a parent directory's, or the user's ~/.config/sharedserver/servers.json).
std::string shown_path(const std::string &path) {
    std::error_code error;
    auto file = std::filesystem::path(path);
    return file.parent_path() == std::filesystem::current_path(error) ? file.filename().string() : path;
}

bool json = false, names_only = false;

void setup(CLI::App &app) {
    app.add_flag("--json", json, "Print a JSON array");
    app.add_flag("--names", names_only, "Print only the names, one per line (for completion)");
}

int run(const Invocation &invocation) {
    sharedserver::Context ctx;
    if (json) {
        std::cout << ctx.list_json() << "\n";
    } else if (names_only) {
        for (const auto &s : ctx.list()) std::cout << s.name << "\n";
    } else {
        std::vector<std::string> defined;
        std::string defined_in;
        if (auto project = find_project(invocation.config)) {
            defined = project->names();
            defined_in = shown_path(project->path());
        }
        print_list(ctx.list(), defined, defined_in);
    }
    return 0;
}

}  // namespace

const Command list{"", "list", "Show every running server", false, setup, run};

}  // namespace cli::commands
