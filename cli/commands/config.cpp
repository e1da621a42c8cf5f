// `sharedserver config list|show|validate|lookup`: what the config file the
// library finds (or --config names) defines, as the library reads it.
#include <iostream>

#include <nlohmann/json.hpp>

#include "../project_file.hpp"
#include "commands.hpp"

namespace cli::commands {

namespace {

using nlohmann::json;

std::string cwd, name;
bool as_json = false;

void add_cwd(CLI::App &app) { app.add_option("--cwd", cwd, "Where to look for the config (default: here)"); }

// The config, or a one-line error when there is none: these verbs are about it.
sharedserver::Project found(const Invocation &invocation, bool print_warnings = true) {
    auto project = find_project(invocation.config, cwd, print_warnings);
    if (!project)
        throw sharedserver::Error(SHAREDSERVER_ENOTFOUND,
                                  "no sharedserver.json, .sharedserver.json or .sharedserver/servers.json here or above, "
                                  "nor ~/.config/sharedserver/servers.json; create one or pass --config",
                                  0, "");
    return *project;
}

std::string profiles_of(const json &doc, const std::string &server) {
    std::string out;
    for (const auto &[profile, names] : doc["profiles"].items())
        for (const auto &n : names)
            if (n == server) out += (out.empty() ? "" : ",") + profile;
    return out.empty() ? "(every)" : out;
}

std::string command_of(const json &def) {
    if (!def.contains("command")) return "(attaches only)";
    std::string out;
    for (const auto &word : def["command"]) out += (out.empty() ? "" : " ") + word.get<std::string>();
    return out;
}

void setup_list(CLI::App &app) {
    add_cwd(app);
    app.add_flag("--json", as_json, "Print the whole config as the library reads it (as `config show`)");
}

int run_list(const Invocation &invocation) {
    auto project = found(invocation);
    json doc = json::parse(project.json());
    if (as_json) {
        std::cout << doc.dump() << "\n";
        return 0;
    }
    std::cout << doc["path"].get<std::string>() << "\n";
    for (const auto &[server, def] : doc["servers"].items())
        std::cout << "  " << server << "  profiles: " << profiles_of(doc, server) << (def.value("lazy", false) ? "  lazy" : "")
                  << "  " << command_of(def) << "\n";
    return 0;
}

void setup_show(CLI::App &app) {
    add_cwd(app);
    app.add_option("name", name, "One server (default: the whole config)");
}

int run_show(const Invocation &invocation) {
    json doc = json::parse(found(invocation).json());
    if (name.empty()) {
        std::cout << doc.dump(2) << "\n";
        return 0;
    }
    if (!doc["servers"].contains(name))
        return fail(doc["path"].get<std::string>() + " does not define a server \"" + name + "\"");
    std::cout << doc["servers"][name].dump(2) << "\n";
    return 0;
}

void setup_validate(CLI::App &app) { add_cwd(app); }

std::string counted(std::size_t n, const std::string &what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

// The library already refused what cannot run; a profile naming a server the
// file does not define only makes `up` warn, so it is this verb's to catch.
int run_validate(const Invocation &invocation) {
    auto project = found(invocation);
    json doc = json::parse(project.json());
    const std::string path = doc["path"].get<std::string>();
    int problems = 0;
    for (const auto &[profile, names] : doc["profiles"].items())
        for (const auto &name : names)
            if (!doc["servers"].contains(name.get<std::string>())) {
                std::cerr << "sharedserver: " << (path + ": profiles." + profile + ": \"" + name.get<std::string>() +
                     "\" is not a server this file defines; define it or remove it from the profile") << "\n";
                ++problems;
            }
    std::cout << path << ": " << counted(doc["servers"].size(), "server") << ", "
              << counted(doc["profiles"].size(), "profile")
              << (doc["warnings"].empty() ? "" : ", " + counted(doc["warnings"].size(), "ignored key"))
              << (problems ? ", " + counted(problems, "problem") : "") << "\n";
    return problems ? 1 : 0;
}

void setup_lookup(CLI::App &app) {
    add_cwd(app);
    app.add_option("name", name, "The server")->required();
}

// One line of JSON for scripts: the definition of `name`, its defaults filled in.
int run_lookup(const Invocation &invocation) {
    auto project = found(invocation, false);
    std::cout << project.definition_json(name) << "\n";
    return 0;
}

}  // namespace

const Command config_list{"config", "list", "The servers of the config file and their profiles", false, setup_list, run_list};
const Command config_show{"config", "show", "The config (or one server) as the library reads it, as JSON", false, setup_show,
                          run_show};
const Command config_validate{"config", "validate", "Load the config file: one line, or the error naming file and key",
                              false, setup_validate, run_validate};
const Command config_lookup{"config", "lookup", "The definition of one server as one line of JSON", false, setup_lookup,
                            run_lookup};

}  // namespace cli::commands
