#include "profiles.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "names.hpp"
#include "up_claims.hpp"

namespace sharedserver {

using nlohmann::json;

ProfileSelection select_profile(const Project &project, const std::string &profile) {
    ProfileSelection out;
    std::set<std::string> named, chosen;
    for (const auto &[_, names] : project.profiles) named.insert(names.begin(), names.end());
    for (const auto &server : project.servers)
        if (!named.contains(server.name)) chosen.insert(server.name);
    if (!profile.empty()) {
        auto members = project.profiles.find(profile);
        if (members == project.profiles.end() && !project.profiles.empty())
            out.warnings.push_back("unknown profile " + quote(profile) + " in " + project.path +
                                   ": only the servers no profile names come up");
        if (members != project.profiles.end())
            for (const auto &name : members->second) {
                if (project.find(name)) chosen.insert(name);
                else out.warnings.push_back("profile " + quote(profile) + " lists " + quote(name) + ", which " +
                                            project.path + " does not define; skipped");
            }
    }
    for (const auto &name : chosen) out.servers.push_back(project.find(name));
    return out;
}

std::string skip_reason(const Definition &def) {
    if (def.skip_if_env.empty()) return {};
    const char *value = std::getenv(def.skip_if_env.c_str());
    return value && *value ? "$" + def.skip_if_env + " is set: another host runs it" : std::string();
}

bool comes_up_without_a_profile(const Project &project, const std::string &name) {
    const ProjectServer *server = project.find(name);
    if (!server || !skip_reason(server->definition).empty()) return false;
    for (const auto &[_, names] : project.profiles)
        if (std::find(names.begin(), names.end(), name) != names.end()) return false;
    return true;
}

std::size_t ProfileReport::count(const std::string &outcome) const {
    return std::count_if(servers.begin(), servers.end(), [&](const ServerOutcome &s) { return s.outcome == outcome; });
}

json ProfileReport::to_json() const {
    json list = json::array();
    for (const auto &s : servers) {
        json entry = {{"name", s.name}, {"outcome", s.outcome}};
        if (!s.reason.empty()) entry["reason"] = s.reason;
        if (s.pid > 0) entry["pid"] = s.pid;
        list.push_back(std::move(entry));
    }
    json out = {{"profile", profile}, {"servers", list}, {"warnings", warnings}};
    if (!config.empty()) out["config"] = config;
    for (const char *outcome : {"started", "attached", "released", "skipped", "failed"}) out[outcome] = count(outcome);
    return out;
}

namespace {

ServerOutcome up_one(Lifecycle &lifecycle, const ProjectServer &server, const ClientOptions &client) {
    const Definition &def = server.definition;
    ServerOutcome out{server.name, "", "", 0};
    if (std::string skipped = skip_reason(def); !skipped.empty()) {
        out.outcome = "skipped";
        out.reason = std::move(skipped);
        return out;
    }
    ClientOptions each = client;
    if (!def.metadata.empty()) each.metadata = def.metadata;
    // A lazy entry only attaches: the server is one another host starts.
    bool attach_only = def.lazy || def.spec.argv.empty();
    auto used = use_server(lifecycle, server.name, attach_only ? nullptr : &def, each);
    if (!used) {
        bool not_running = used.error().code == SHAREDSERVER_ENOTRUNNING;
        out.outcome = attach_only && not_running ? "skipped" : "failed";
        out.reason = attach_only && not_running ? "lazy: it only attaches, and it is not running" : used.error().message;
        return out;
    }
    out.outcome = used->outcome == SHAREDSERVER_STARTED ? "started" : "attached";
    out.pid = used->server.pid;
    return out;
}

}  // namespace

Result<ProfileReport> profile_up(Lifecycle &lifecycle, const Project &project, const std::string &profile,
                                 const ClientOptions &client) {
    auto id = identify_client(client.client_pid);
    if (!id) return std::unexpected(id.error());
    ClientOptions named = client;
    named.client_pid = id->pid;
    ProfileSelection selection = select_profile(project, profile);
    ProfileReport report{profile, project.path, {}, project.warnings};
    report.warnings.insert(report.warnings.end(), selection.warnings.begin(), selection.warnings.end());
    std::vector<std::string> taken;
    for (const ProjectServer *server : selection.servers) {
        report.servers.push_back(up_one(lifecycle, *server, named));
        if (report.servers.back().pid > 0) taken.push_back(server->name);
    }
    if (auto recorded = record_up_claims(lifecycle.state_dir(), *id, profile, taken); !recorded)
        report.warnings.push_back("cannot record what up took (" + recorded.error().message +
                                  "): down will not release it; it is released when pid " + std::to_string(id->pid) + " ends");
    return report;
}

Result<ProfileReport> profile_down(Lifecycle &lifecycle, const std::string &profile, const ClientOptions &client) {
    ProfileReport report{profile, "", {}, {}};
    auto id = identify_client(client.client_pid);
    if (!id) {
        if (client.client_pid <= 0) return std::unexpected(id.error());
        // Its references ended with it: the watchers dropped them.
        report.warnings.push_back("pid " + std::to_string(client.client_pid) + " is not running: nothing left to release");
        return report;
    }
    auto claims = take_down_claims(lifecycle.state_dir(), *id, profile);
    if (!claims) return std::unexpected(claims.error());
    for (const auto &name : claims->release) {
        ServerOutcome out{name, "released", "", 0};
        if (auto left = lifecycle.unuse(name, id->pid); !left) {
            bool gone = left.error().code == SHAREDSERVER_ENOTCLIENT || left.error().code == SHAREDSERVER_ENOTRUNNING;
            out.outcome = gone ? "skipped" : "failed";
            out.reason = gone ? "no longer attached (stopped or detached since up)" : left.error().message;
        }
        report.servers.push_back(std::move(out));
    }
    for (const auto &[name, holder] : claims->kept)
        report.servers.push_back({name, "skipped", "still held by profile " + quote(holder) + " of the same client", 0});
    std::sort(report.servers.begin(), report.servers.end(), [](const auto &a, const auto &b) { return a.name < b.name; });
    return report;
}

}  // namespace sharedserver
