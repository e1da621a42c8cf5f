#include "project.hpp"

#include <cstdlib>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "definition.hpp"
#include "files.hpp"
#include "names.hpp"

namespace sharedserver {

using nlohmann::json;

namespace {

std::string directory_of(const std::string &path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string current_directory() {
    char buf[PATH_MAX];
    return ::getcwd(buf, sizeof buf) ? std::string(buf) : std::string("/");
}

std::string absolute_from(const std::string &base, const std::string &path) {
    if (path.empty() || path.front() == '/') return path;
    return base + "/" + path;
}


std::string file_label(const std::string &path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// One server of the file, read by the definition table; every error names
// the file and the server before the key.
Result<ProjectServer> read_server(const std::string &file, const std::string &dir, const std::string &name,
                                  const json &def) {
    const std::string where = escape_controls(file + ": servers." + name);
    auto bad = [&](const Error &e) {
        std::string message = e.key.empty() ? where + ": " + e.message : where + "." + e.message;
        return std::unexpected(Error{SHAREDSERVER_EINVALID, std::move(message), 0, file, e.key});
    };
    if (auto valid = validate_name(name); !valid) return bad(valid.error());
    if (!def.is_object()) return bad(Error{SHAREDSERVER_EINVALID, "expected an object with at least \"command\"", 0, {}, {}});
    if (!def.contains("command"))
        return bad(Error{SHAREDSERVER_EINVALID, "command: missing: give the program to run", 0, {}, "command"});
    auto definition = parse_definition(def, dir);
    if (!definition) return bad(definition.error());
    ProjectServer server{name, std::move(*definition)};
    if (!server.definition.working_dir_given) server.definition.spec.working_dir = dir;
    return server;
}

}  // namespace

const ProjectServer *Project::find(const std::string &name) const {
    for (const auto &server : servers)
        if (server.name == name) return &server;
    return nullptr;
}

Result<std::optional<std::string>> find_project_file(const std::string &explicit_path, const std::string &start_dir) {
    std::string given = explicit_path;
    if (given.empty())
        if (const char *env = std::getenv("SHAREDSERVER_CONFIG"); env && *env) given = env;
    if (!given.empty()) {
        std::string path = absolute_from(current_directory(), given);
        if (!file_exists(path))
            return fail(SHAREDSERVER_EINVALID, "project file " + quote(given) + " does not exist", ENOENT, path);
        return std::optional<std::string>{path};
    }
    std::string dir = start_dir.empty() ? current_directory() : absolute_from(current_directory(), start_dir);
    while (true) {
        std::string candidate = (dir == "/" ? "" : dir) + "/" + project_file_name;
        if (file_exists(candidate)) return std::optional<std::string>{candidate};
        if (dir == "/" || dir.empty()) return std::optional<std::string>{};
        dir = directory_of(dir);
    }
}

Result<Project> parse_project(const std::string &text, const std::string &path) {
    const std::string label = escape_controls(file_label(path));
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded())
        return fail(SHAREDSERVER_EINVALID, label + ": not valid JSON; check it with `python3 -m json.tool " + escape_controls(path) + "`", 0, path);
    if (!doc.is_object() || !doc.contains("servers") || !doc["servers"].is_object())
        return fail(SHAREDSERVER_EINVALID, label + ": expected an object with \"servers\": { \"<name>\": { \"command\": ... } }", 0, path);
    for (auto &[key, value] : doc.items())
        if (key != "servers" && key != "$schema")
            return fail(SHAREDSERVER_EINVALID, label + ": " + escape_controls(key) + ": unknown key (expected servers)", 0, path);
    Project project;
    project.path = path;
    std::string dir = directory_of(path);
    for (auto &[name, def] : doc["servers"].items()) {
        auto server = read_server(label, dir, name, def);
        if (!server) return std::unexpected(server.error());
        project.servers.push_back(std::move(*server));
    }
    auto snapshot = std::make_shared<const Project>(project);
    for (auto &server : project.servers) server.definition.project = snapshot;
    return project;
}

Result<Project> load_project(const std::string &path) {
    auto text = read_small_file(path);
    if (!text) return std::unexpected(text.error());
    if (!*text) return fail(SHAREDSERVER_EINVALID, "project file " + quote(path) + " does not exist", ENOENT, path);
    return parse_project(**text, path);
}

}  // namespace sharedserver
