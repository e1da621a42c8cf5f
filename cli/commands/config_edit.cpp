// `sharedserver config register|unregister|profile`: edit the config file
// (the one found, else the user's) through the library, keeping every key
// the edit does not touch.
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.hpp"

namespace cli::commands {

namespace {

std::string cwd, name, scope, definition, action, profile;
std::vector<std::string> profiles, names;
bool if_absent = false;

std::string take(sharedserver_buf &buf) { return sharedserver::detail::take(buf); }

std::string file_to_edit(const Invocation &invocation) {
    sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
    sharedserver::detail::check(sharedserver_config_path(&buf, invocation.config.empty() ? nullptr : invocation.config.c_str(),
                                                         cwd.empty() ? nullptr : cwd.c_str()));
    return take(buf);
}

std::vector<const char *> c_strings(const std::vector<std::string> &items) {
    std::vector<const char *> out;
    for (const auto &item : items) out.push_back(item.c_str());
    return out;
}

void setup_register(CLI::App &app) {
    app.add_option("name", name, "The server's name")->required();
    app.add_option("--scope", scope, "Who registers it (a plugin, a host); unregister takes the same")->required();
    app.add_option("--json", definition, "The definition as JSON (else the command after `--`)");
    app.add_option("--profile", profiles, "Add it to this profile (repeatable)");
    app.add_flag("--if-absent", if_absent, "Keep an entry that exists (only add it to the profiles)");
    app.add_option("--cwd", cwd, "Where to look for the config (default: here)");
    app.footer("Usage: sharedserver config register <name> --scope ID [--profile P]... (--json DEF | -- <command> [args...])");
}

int run_register(const Invocation &invocation) {
    if (definition.empty() == invocation.command.empty())
        return fail("config register needs the definition: --json '{\"command\": ...}' or the command after `--`", exit_usage);
    if (definition.empty()) {
        nlohmann::json entry = {{"command", invocation.command.front()}};
        if (invocation.command.size() > 1)
            entry["args"] = std::vector<std::string>(invocation.command.begin() + 1, invocation.command.end());
        definition = entry.dump();
    }
    std::string file = file_to_edit(invocation);
    auto list = c_strings(profiles);
    sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
    sharedserver::detail::check(sharedserver_config_register(&buf, file.c_str(), scope.c_str(), name.c_str(), definition.c_str(),
                                                             list.data(), list.size(), if_absent ? 1 : 0));
    std::cout << take(buf) << " " << name << " in " << file << "\n";
    return 0;
}

void setup_unregister(CLI::App &app) {
    app.add_option("name", name, "The server (default: every server of the scope)");
    app.add_option("--scope", scope, "The scope that registered it")->required();
    app.add_option("--cwd", cwd, "Where to look for the config (default: here)");
}

int run_unregister(const Invocation &invocation) {
    std::string file = file_to_edit(invocation);
    sharedserver_buf buf = SHAREDSERVER_BUF_INIT;
    sharedserver::detail::check(
        sharedserver_config_unregister(&buf, file.c_str(), scope.c_str(), name.empty() ? nullptr : name.c_str()));
    auto removed = nlohmann::json::parse(take(buf));
    std::cout << "removed " << removed.size() << (removed.size() == 1 ? " server" : " servers") << " from " << file << "\n";
    return 0;
}

void setup_profile(CLI::App &app) {
    app.add_option("action", action, "add or remove")->required()->check(CLI::IsMember({"add", "remove"}));
    app.add_option("profile", profile, "The profile")->required();
    app.add_option("names", names, "Server names")->required();
    app.add_option("--cwd", cwd, "Where to look for the config (default: here)");
}

int run_profile(const Invocation &invocation) {
    std::string file = file_to_edit(invocation);
    auto list = c_strings(names);
    sharedserver::detail::check(sharedserver_config_profile(file.c_str(), profile.c_str(), list.data(), list.size(),
                                                            action == "add" ? 1 : 0));
    std::cout << (action == "add" ? "added to" : "removed from") << " profile '" << profile << "' in " << file << "\n";
    return 0;
}

}  // namespace

const Command config_register{"config", "register", "Add a server to the config, stamped with its --scope", true,
                              setup_register, run_register};
const Command config_unregister{"config", "unregister", "Remove what a --scope registered", false, setup_unregister,
                                run_unregister};
const Command config_profile{"config", "profile", "add|remove <profile> <name>...: edit a profile's servers", false,
                             setup_profile, run_profile};

}  // namespace cli::commands
