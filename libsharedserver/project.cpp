#include "project.hpp"

#include <climits>
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

// The file's name as errors and warnings give it: upstream's
// .sharedserver/servers.json keeps its directory, or it would read as the
// user's global servers.json.
std::string file_label(const std::string &path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return path;
    std::string name = path.substr(slash + 1);
    if (name == "servers.json" && slash > 0) {
        auto parent = path.rfind('/', slash - 1);
        std::string dir = path.substr(parent == std::string::npos ? 0 : parent + 1, slash - (parent == std::string::npos ? 0 : parent + 1));
        if (dir == ".sharedserver") return dir + "/" + name;
    }
    return name;
}

bool is_name_start(char c) { return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

// One server of the file, read by the definition table; every error names
// the file and the server before the key.
Result<ProjectServer> read_server(const std::string &file, const std::string &dir, const std::string &name,
                                  const json &def, std::vector<std::string> &warnings) {
    const std::string where = escape_controls(file + ": servers." + name);
    auto bad = [&](const Error &e) {
        std::string message = e.key.empty() ? where + ": " + e.message : where + "." + e.message;
        return std::unexpected(Error{SHAREDSERVER_EINVALID, std::move(message), 0, file, e.key});
    };
    if (auto valid = validate_name(name); !valid) return bad(valid.error());
    if (!def.is_object()) return bad(Error{SHAREDSERVER_EINVALID, "expected an object with at least \"command\"", 0, {}, {}});
    std::vector<std::string> unknown;
    auto definition = parse_definition(def, dir, &unknown);
    if (!definition) return bad(definition.error());
    // A lazy entry only attaches: the server is one another host provides.
    if (!def.contains("command") && !definition->lazy)
        return bad(Error{SHAREDSERVER_EINVALID, "command: missing: give the program to run (or \"lazy\": true to only attach)", 0,
                         {}, "command"});
    for (const auto &key : unknown)
        warnings.push_back(where + "." + escape_controls(key) + ": unknown option, ignored");
    ProjectServer server{name, std::move(*definition)};
    if (!server.definition.working_dir_given) server.definition.spec.working_dir = dir;
    return server;
}

Status read_profiles(const std::string &label, const json &doc, Project &project) {
    auto bad = [&](const std::string &what) { return fail(SHAREDSERVER_EINVALID, label + ": profiles" + what, 0, project.path); };
    if (!doc.is_object()) return bad(": expected an object of lists of server names, e.g. {\"claude\": [\"db\"]}");
    for (auto &[profile, names] : doc.items()) {
        const std::string where = "." + escape_controls(profile);
        if (!names.is_array()) return bad(where + ": expected a list of server names, got " + std::string(names.type_name()));
        std::vector<std::string> list;
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (!names[i].is_string())
                return bad(where + "[" + std::to_string(i) + "]: expected a server name, got " + std::string(names[i].type_name()));
            list.push_back(names[i].get<std::string>());
        }
        project.profiles[profile] = std::move(list);
    }
    return {};
}

}  // namespace

std::string expand_variables(const std::string &text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == '$' && i + 2 < text.size() && text[i + 1] == '{' && is_name_start(text[i + 2])) {
            std::size_t end = i + 3;
            while (end < text.size() && is_name_char(text[end])) ++end;
            if (end < text.size() && text[end] == '}') {
                std::string var = text.substr(i + 2, end - i - 2);
                if (const char *value = std::getenv(var.c_str())) {
                    out += value;
                    i = end + 1;
                    continue;
                }
            }
        }
        out += text[i++];
    }
    return out;
}

void expand_variables_in(json &doc) {
    if (doc.is_string()) {
        doc = expand_variables(doc.get<std::string>());
    } else if (doc.is_structured()) {
        for (auto &item : doc) expand_variables_in(item);
    }
}

json project_to_json(const Project &project) {
    json servers = json::object();
    for (const auto &server : project.servers) servers[server.name] = definition_to_json(server.definition);
    json profiles = json::object();
    for (const auto &[profile, names] : project.profiles) profiles[profile] = names;
    return {{"path", project.path}, {"servers", servers}, {"profiles", profiles}, {"warnings", project.warnings}};
}

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
        for (const char *name : project_file_names) {
            std::string candidate = (dir == "/" ? "" : dir) + "/" + name;
            if (file_exists(candidate)) return std::optional<std::string>{candidate};
        }
        if (dir == "/" || dir.empty()) break;
        dir = directory_of(dir);
    }
    std::vector<std::string> user_dirs;
    if (const char *xdg = std::getenv("XDG_CONFIG_HOME"); xdg && xdg[0] == '/') user_dirs.push_back(xdg);
    if (const char *home = std::getenv("HOME"); home && home[0] == '/') user_dirs.push_back(std::string(home) + "/.config");
    for (const auto &config_dir : user_dirs) {
        std::string candidate = config_dir + "/sharedserver/servers.json";
        if (file_exists(candidate)) return std::optional<std::string>{candidate};
    }
    return std::optional<std::string>{};
}

Result<Project> parse_project(const std::string &text, const std::string &path) {
    const std::string label = escape_controls(file_label(path));
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded())
        return fail(SHAREDSERVER_EINVALID, label + ": not valid JSON; check it with `python3 -m json.tool " + escape_controls(path) + "`", 0, path);
    if (!doc.is_object() || !doc.contains("servers") || !doc["servers"].is_object())
        return fail(SHAREDSERVER_EINVALID, label + ": expected an object with \"servers\": { \"<name>\": { \"command\": ... } }", 0, path);
    expand_variables_in(doc);
    Project project;
    project.path = path;
    for (auto &[key, value] : doc.items())
        if (key != "servers" && key != "profiles" && key != "$schema")
            project.warnings.push_back(label + ": " + escape_controls(key) + ": unknown key, ignored (expected servers, profiles)");
    if (auto profiles = doc.find("profiles"); profiles != doc.end())
        if (auto read = read_profiles(label, *profiles, project); !read) return std::unexpected(read.error());
    std::string dir = directory_of(path);
    for (auto &[name, def] : doc["servers"].items()) {
        auto server = read_server(label, dir, name, def, project.warnings);
        if (!server) return std::unexpected(server.error());
        project.servers.push_back(std::move(*server));
    }
    auto snapshot = std::make_shared<const Project>(project);
    for (auto &server : project.servers) server.definition.project = snapshot;
    return project;
}

Result<Project> load_project(const std::string &path) {
    // A user's config is often a link into their dotfiles; read what it names.
    char resolved[PATH_MAX];
    std::string target = ::realpath(path.c_str(), resolved) ? std::string(resolved) : path;
    auto text = read_small_file(target);
    if (!text) return std::unexpected(text.error());
    if (!*text) return fail(SHAREDSERVER_EINVALID, "project file " + quote(path) + " does not exist", ENOENT, path);
    return parse_project(**text, path);
}

}  // namespace sharedserver
