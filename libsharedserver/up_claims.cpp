#include "up_claims.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <map>
#include <set>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "files.hpp"
#include "name_lock.hpp"

namespace sharedserver {

using nlohmann::json;

namespace {

using Claims = std::map<std::string, std::vector<std::string>>;

std::string claims_dir(const std::string &state_dir) { return state_dir + "/.up"; }

std::string claims_file(const std::string &state_dir, const ProcessId &client) {
    return claims_dir(state_dir) + "/" + std::to_string(client.pid) + "-" + std::to_string(client.start) + ".json";
}

Result<NameLock> lock_claims(const std::string &state_dir) {
    std::string dir = claims_dir(state_dir);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return fail(SHAREDSERVER_ERROR, "cannot create " + dir + ": " + std::strerror(errno), errno, dir);
    return NameLock::acquire(dir + "/lock");
}

// The files of clients that are gone: the watcher dropped their references
// when they died, so there is nothing left for a `down` to release.
void forget_dead_clients(const std::string &state_dir) {
    std::string dir = claims_dir(state_dir);
    DIR *d = ::opendir(dir.c_str());
    if (!d) return;
    std::vector<std::string> dead;
    while (dirent *entry = ::readdir(d)) {
        std::string file = entry->d_name;
        ProcessId id;
        unsigned long long start = 0;
        int pid = 0;
        if (!file.ends_with(".json") || std::sscanf(file.c_str(), "%d-%llu.json", &pid, &start) != 2) continue;
        id.pid = pid;
        id.start = start;
        if (process_liveness(id) == Liveness::dead) dead.push_back(dir + "/" + file);
    }
    ::closedir(d);
    for (const auto &path : dead) (void)remove_file(path);
}

Result<Claims> read_claims(const std::string &path) {
    auto text = read_small_file(path);
    if (!text) return std::unexpected(text.error());
    Claims claims;
    if (!*text) return claims;
    json doc = json::parse(**text, nullptr, false);
    auto profiles = doc.is_object() ? doc.find("profiles") : doc.end();
    if (doc.is_discarded() || !doc.is_object() || profiles == doc.end() || !profiles->is_object())
        return fail(SHAREDSERVER_ECORRUPT, path + ": not a record of what `up` took; remove it", 0, path);
    for (auto &[profile, names] : profiles->items()) {
        if (!names.is_array()) continue;
        for (const auto &name : names)
            if (name.is_string()) claims[profile].push_back(name.get<std::string>());
    }
    return claims;
}

Status write_claims(const std::string &path, const Claims &claims) {
    if (claims.empty()) return remove_file(path);
    json profiles = json::object();
    for (const auto &[profile, names] : claims) profiles[profile] = names;
    return write_file_atomically(path, json{{"profiles", profiles}}.dump());
}

// Under the claims lock: the records of dead clients go first (their
// servers' watchers dropped them already), then this client's is read.
Result<Claims> read_live_claims(const std::string &state_dir, const std::string &path) {
    forget_dead_clients(state_dir);
    return read_claims(path);
}

}  // namespace

Status record_up_claims(const std::string &state_dir, const ProcessId &client, const std::string &profile,
                        const std::vector<std::string> &names) {
    auto lock = lock_claims(state_dir);
    if (!lock) return std::unexpected(lock.error());
    std::string path = claims_file(state_dir, client);
    auto claims = read_live_claims(state_dir, path);
    if (!claims) return std::unexpected(claims.error());
    std::set<std::string> merged((*claims)[profile].begin(), (*claims)[profile].end());
    merged.insert(names.begin(), names.end());
    (*claims)[profile].assign(merged.begin(), merged.end());
    if ((*claims)[profile].empty()) claims->erase(profile);
    return write_claims(path, *claims);
}

Result<DownClaims> take_down_claims(const std::string &state_dir, const ProcessId &client, const std::string &profile) {
    auto lock = lock_claims(state_dir);
    if (!lock) return std::unexpected(lock.error());
    std::string path = claims_file(state_dir, client);
    auto claims = read_live_claims(state_dir, path);
    if (!claims) return std::unexpected(claims.error());
    DownClaims out;
    auto mine = claims->find(profile);
    if (mine == claims->end()) return out;
    std::vector<std::string> names = std::move(mine->second);
    claims->erase(mine);
    for (const auto &name : names) {
        std::string holder;
        for (const auto &[other, held] : *claims)
            if (std::find(held.begin(), held.end(), name) != held.end()) holder = other;
        if (holder.empty()) out.release.push_back(name);
        else out.kept.emplace_back(name, holder);
    }
    if (auto written = write_claims(path, *claims); !written) return std::unexpected(written.error());
    return out;
}

}  // namespace sharedserver
