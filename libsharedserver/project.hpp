// Project files: one place where a project (or the user) defines its
// servers, with the same option names as the Neovim plugin, so the editor,
// the shell, agent hooks and the test suite all run the same definition.
// Two formats are one document: our sharedserver.json and upstream's
// config ({"servers", "profiles"}, camelCase keys), read by one table.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "definition.hpp"
#include "error.hpp"

namespace sharedserver {

inline constexpr const char *project_file_name = "sharedserver.json";

// The names looked for at each level of the walk up, in this order: ours,
// then upstream's two.
inline constexpr const char *project_file_names[] = {"sharedserver.json", ".sharedserver.json",
                                                     ".sharedserver/servers.json"};

struct ProjectServer {
    std::string name;
    // working_dir and log_file resolved against the file's directory, which
    // is also the working dir when none is given.
    Definition definition;
};

struct Project {
    std::string path;
    std::vector<ProjectServer> servers;  // sorted by name
    // Profile -> the server names it lists, as the file gives them.
    std::map<std::string, std::vector<std::string>> profiles;
    // One line each: keys the loader does not know, ignored (a typo, or a
    // file written for a newer version). They name the file and the key.
    std::vector<std::string> warnings;

    const ProjectServer *find(const std::string &name) const;
};

// `explicit_path` (from --config), else $SHAREDSERVER_CONFIG, else walking
// up from `start_dir` the first of project_file_names at each level, else
// the user's file: $XDG_CONFIG_HOME/sharedserver/servers.json, then
// ~/.config/sharedserver/servers.json. First existing file wins, nothing is
// merged. nullopt: none.
Result<std::optional<std::string>> find_project_file(const std::string &explicit_path, const std::string &start_dir);

// Errors name the file, the server and the key:
// sharedserver.json: servers.redis.idle_timeout: "5x" is not a duration
Result<Project> load_project(const std::string &path);
Result<Project> parse_project(const std::string &text, const std::string &path);

// ${NAME} (NAME [A-Za-z_][A-Za-z0-9_]*) replaced by the variable's value in
// every string value of the document (not in keys); an undefined variable,
// `$NAME` and anything malformed stay as written.
// {"path", "servers": {name: definition_to_json}, "profiles", "warnings"}
nlohmann::json project_to_json(const Project &project);

std::string expand_variables(const std::string &text);
void expand_variables_in(nlohmann::json &doc);

}  // namespace sharedserver
