#include "config_edit.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "definition.hpp"
#include "files.hpp"
#include "names.hpp"
#include "project.hpp"

namespace sharedserver {

using ordered = nlohmann::ordered_json;

namespace {

std::string directory_of(const std::string &path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

Status make_directories(const std::string &dir) {
    if (dir.empty() || dir == "/" || dir == ".") return {};
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) return {};
    if (auto parent = make_directories(directory_of(dir)); !parent) return parent;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        return fail(SHAREDSERVER_ERROR, "cannot create " + dir + ": " + std::strerror(errno), errno, dir);
    return {};
}

// Reads the document under the directory's lock, lets `change` edit it, and
// writes it back (a temp file renamed over it, like every record).
template <typename T>
Result<T> edit_config(const std::string &path, const std::function<Result<T>(ordered &)> &change) {
    const std::string dir = directory_of(path);
    if (auto made = make_directories(dir); !made) return std::unexpected(made.error());
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail(SHAREDSERVER_ERROR, "cannot open " + dir + ": " + std::strerror(errno), errno, dir);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    while (::flock(fd, LOCK_EX) != 0)
        if (errno != EINTR) return fail(SHAREDSERVER_ERROR, "cannot lock " + dir + ": " + std::strerror(errno), errno, dir);
    char resolved[PATH_MAX];
    std::string target = ::realpath(path.c_str(), resolved) ? std::string(resolved) : path;
    auto text = read_small_file(target);
    if (!text) return std::unexpected(text.error());
    ordered doc = ordered::object();
    if (*text && (*text)->find_first_not_of(" \t\r\n") != std::string::npos) {
        doc = ordered::parse(**text, nullptr, false);
        if (doc.is_discarded() || !doc.is_object())
            return fail(SHAREDSERVER_EINVALID, path + ": not a JSON object; fix it before editing it", 0, path);
    }
    for (const char *key : {"servers", "profiles"}) {
        if (!doc.contains(key)) doc[key] = ordered::object();
        if (!doc[key].is_object())
            return fail(SHAREDSERVER_EINVALID, path + ": " + key + " is not an object; fix it before editing it", 0, path);
    }
    auto result = change(doc);
    if (!result) return result;
    if (auto written = write_file_atomically(target, doc.dump(2) + "\n"); !written) return std::unexpected(written.error());
    return result;
}

void add_to_profile(ordered &doc, const std::string &profile, const std::string &name) {
    ordered &list = doc["profiles"][profile];
    if (!list.is_array()) list = ordered::array();
    for (const auto &member : list)
        if (member == name) return;
    list.push_back(name);
}

void remove_from_profiles(ordered &doc, const std::vector<std::string> &names, const std::string &only_profile = {}) {
    ordered &profiles = doc["profiles"];
    std::vector<std::string> emptied;
    for (auto &[profile, list] : profiles.items()) {
        if ((!only_profile.empty() && profile != only_profile) || !list.is_array()) continue;
        ordered kept = ordered::array();
        for (const auto &member : list)
            if (!member.is_string() || std::find(names.begin(), names.end(), member.get<std::string>()) == names.end())
                kept.push_back(member);
        // Only a profile this edit emptied goes; one written empty stays.
        if (kept.empty() && !list.empty()) emptied.push_back(profile);
        list = kept;
    }
    for (const auto &profile : emptied) profiles.erase(profile);
}

std::string scope_of(const ordered &entry) {
    auto found = entry.is_object() ? entry.find("_scope") : entry.end();
    return found != entry.end() && found->is_string() ? found->get<std::string>() : std::string();
}

}  // namespace

Result<std::string> config_file_to_edit(const std::string &explicit_path, const std::string &start_dir) {
    auto found = find_project_file(explicit_path, start_dir);
    if (!found) return std::unexpected(found.error());
    if (*found) return **found;
    if (const char *xdg = std::getenv("XDG_CONFIG_HOME"); xdg && xdg[0] == '/')
        return std::string(xdg) + "/sharedserver/servers.json";
    if (const char *home = std::getenv("HOME"); home && home[0] == '/') return std::string(home) + "/.config/sharedserver/servers.json";
    return fail(SHAREDSERVER_EINVALID, "no config found and neither $XDG_CONFIG_HOME nor $HOME is set: pass --config");
}

Result<std::string> config_register(const std::string &path, const std::string &scope, const std::string &name,
                                    const std::string &entry_json, const std::vector<std::string> &profiles,
                                    bool if_absent) {
    if (scope.empty()) return fail(SHAREDSERVER_EINVALID, "register needs a --scope naming who registers the server");
    if (auto valid = validate_name(name); !valid) return std::unexpected(valid.error());
    ordered entry = ordered::parse(entry_json, nullptr, false);
    if (entry.is_discarded() || !entry.is_object())
        return fail(SHAREDSERVER_EINVALID, "the definition of " + quote(name) + " is not a JSON object");
    entry["_scope"] = scope;
    // The same checks as loading it will make, before the file changes.
    nlohmann::json plain = nlohmann::json::parse(entry.dump());
    expand_variables_in(plain);
    std::vector<std::string> unknown;
    auto checked = parse_definition(plain, directory_of(path), &unknown);
    if (!checked) return std::unexpected(Error{SHAREDSERVER_EINVALID, name + "." + checked.error().message, 0, {}, checked.error().key});
    if (!plain.contains("command") && !checked->lazy)
        return fail(SHAREDSERVER_EINVALID, name + ".command: missing: give the program to run (or \"lazy\": true to only attach)");
    return edit_config<std::string>(path, [&](ordered &doc) -> Result<std::string> {
        ordered &servers = doc["servers"];
        std::string outcome = "registered";
        if (servers.contains(name)) {
            std::string owner = scope_of(servers[name]);
            if (if_absent) {
                outcome = "kept";
            } else if (owner != scope) {
                return fail(SHAREDSERVER_EINVALID,
                            path + ": server " + quote(name) +
                                (owner.empty() ? " is written by hand (it has no _scope)" : " is registered by scope " + quote(owner)) +
                                ", not " + quote(scope) + "; leave it, or pass --if-absent to only add it to profiles");
            } else {
                outcome = "replaced";
            }
        }
        if (outcome != "kept") servers[name] = entry;
        for (const auto &profile : profiles) add_to_profile(doc, profile, name);
        return outcome;
    });
}

Result<std::vector<std::string>> config_unregister(const std::string &path, const std::string &scope, const std::string &name) {
    if (scope.empty()) return fail(SHAREDSERVER_EINVALID, "unregister needs the --scope that registered the server");
    return edit_config<std::vector<std::string>>(path, [&](ordered &doc) -> Result<std::vector<std::string>> {
        ordered &servers = doc["servers"];
        if (!name.empty()) {
            if (!servers.contains(name)) return fail(SHAREDSERVER_ENOTFOUND, path + " does not define a server " + quote(name));
            if (std::string owner = scope_of(servers[name]); owner != scope)
                return fail(SHAREDSERVER_EINVALID,
                            path + ": server " + quote(name) +
                                (owner.empty() ? " is written by hand (it has no _scope)" : " is registered by scope " + quote(owner)) +
                                ", not " + quote(scope) + "; it stays");
        }
        std::vector<std::string> removed;
        for (auto &[server, entry] : servers.items())
            if ((name.empty() || server == name) && scope_of(entry) == scope) removed.push_back(server);
        for (const auto &server : removed) servers.erase(server);
        remove_from_profiles(doc, removed);
        return removed;
    });
}

Status config_profile_edit(const std::string &path, const std::string &profile, const std::vector<std::string> &names,
                           bool add) {
    if (profile.empty()) return fail(SHAREDSERVER_EINVALID, "a profile needs a name");
    auto done = edit_config<bool>(path, [&](ordered &doc) -> Result<bool> {
        if (add)
            for (const auto &name : names) add_to_profile(doc, profile, name);
        else
            remove_from_profiles(doc, names, profile);
        return true;
    });
    if (!done) return std::unexpected(done.error());
    return {};
}

}  // namespace sharedserver
