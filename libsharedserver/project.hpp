// Project files: one place (sharedserver.json) where a project defines its
// servers, with the same option names as the Neovim plugin, so the editor,
// the shell and the test suite all run the same definition.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "definition.hpp"
#include "error.hpp"

namespace sharedserver {

inline constexpr const char *project_file_name = "sharedserver.json";

struct ProjectServer {
    std::string name;
    // working_dir and log_file resolved against the file's directory, which
    // is also the working dir when none is given.
    Definition definition;
};

struct Project {
    std::string path;
    std::vector<ProjectServer> servers;

    const ProjectServer *find(const std::string &name) const;
};

// `explicit_path` (from --config), else $SHAREDSERVER_CONFIG, else the first
// sharedserver.json found walking up from `start_dir`. nullopt: none.
Result<std::optional<std::string>> find_project_file(const std::string &explicit_path, const std::string &start_dir);

// Errors name the file, the server and the key:
// sharedserver.json: servers.redis.idle_timeout: "5x" is not a duration
Result<Project> load_project(const std::string &path);
Result<Project> parse_project(const std::string &text, const std::string &path);

}  // namespace sharedserver
