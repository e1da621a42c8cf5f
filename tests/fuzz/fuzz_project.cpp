// libFuzzer target: the project-file loader (sharedserver.json, parse_project).
// Whatever the bytes, loading gives a project or EINVALID with a one-line
// message that starts with the file's name and holds no raw control
// characters (keys and names come from the file). A loaded project:
//  - has valid, distinct server names, each found by Project::find;
//  - has a non-empty command (or is lazy), KEY=VALUE env entries, an absolute working dir
//    (resolved against the file's directory), no or an absolute log file,
//    and every number within what the C ABI accepts;
//  - written back as a project file, loads to the same definitions;
//  - goes through normalize_spec (what `use` does with it, including the
//    readiness probe checks: URL parsing, the log regex) without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "definition.hpp"
#include "duration.hpp"
#include "lifecycle.hpp"
#include "names.hpp"
#include "project.hpp"

using namespace sharedserver;
using nlohmann::json;

namespace {

const std::string file_path = "/fuzz/project/sharedserver.json";

bool has_controls(const std::string &text) {
    for (unsigned char c : text)
        if (c < 0x20 || c == 0x7f) return true;
    return false;
}

bool is_duration(int64_t ms) { return ms >= -1; }  // -1: not given

void check_server(const ProjectServer &server) {
    if (!validate_name(server.name)) std::abort();
    const ServerSpec &spec = server.definition.spec;
    // Only a lazy entry (one that attaches to a server another host runs) has no command.
    if (spec.argv.empty() ? !server.definition.lazy : spec.argv.front().empty()) std::abort();
    for (const auto &entry : spec.env) {
        auto eq = entry.find('=');
        if (eq == std::string::npos || eq == 0) std::abort();
    }
    if (spec.working_dir.empty() || spec.working_dir.front() != '/') std::abort();
    if (!spec.log_file.empty() && spec.log_file.front() != '/') std::abort();
    if (!is_duration(spec.grace_period_ms)) std::abort();
    if (spec.port != 0 && spec.port != SHAREDSERVER_PORT_AUTO && (spec.port < 1 || spec.port > 65535)) std::abort();
    if (spec.ready.kind < SHAREDSERVER_PROBE_NONE || spec.ready.kind > SHAREDSERVER_PROBE_LOG) std::abort();
    if (!is_duration(spec.ready.timeout_ms) || !is_duration(spec.ready.interval_ms)) std::abort();
    if (spec.restart.mode < SHAREDSERVER_RESTART_NO || spec.restart.mode > SHAREDSERVER_RESTART_ALWAYS) std::abort();
    if (spec.restart.max_restarts < -1 || spec.restart.max_restarts > 1000) std::abort();
    if (!is_duration(spec.restart.window_ms)) std::abort();
}

// The inverse of the loader: a file that defines exactly these servers,
// written by the core's own definition_to_json.
std::string write_back(const Project &project) {
    json servers = json::object();
    for (const auto &server : project.servers) {
        json def = definition_to_json(server.definition);
        def["working_dir"] = server.definition.spec.working_dir;
        servers[server.name] = def;
    }
    json profiles = json::object();
    for (const auto &[profile, names] : project.profiles) profiles[profile] = names;
    return json{{"$schema", "./schema/sharedserver.schema.json"}, {"servers", servers}, {"profiles", profiles}}.dump(2);
}

bool same(const ProjectServer &a, const ProjectServer &b) {
    return a.name == b.name && a.definition.lazy == b.definition.lazy && a.definition.on_mismatch == b.definition.on_mismatch &&
           a.definition.metadata == b.definition.metadata && a.definition.skip_if_env == b.definition.skip_if_env &&
           a.definition.scope == b.definition.scope &&
           with_defaults(a.definition.spec) == with_defaults(b.definition.spec);
}

void check_normalized(const ProjectServer &server) {
    ServerFiles files{"/nonexistent-state-dir", server.name};
    auto normalized = normalize_spec(server.definition.spec, files);
    if (!normalized) {
        if (normalized.error().code != SHAREDSERVER_EINVALID || has_controls(normalized.error().message)) std::abort();
        return;
    }
    const ServerSpec &spec = *normalized;
    if (spec.argv != server.definition.spec.argv || spec.env != server.definition.spec.env) std::abort();
    if (spec.working_dir.empty() || spec.working_dir.front() != '/') std::abort();
    if (spec.log_file.empty() || spec.log_file.front() != '/') std::abort();
    if (spec.grace_period_ms < 0 || spec.restart.max_restarts < 0 || spec.restart.window_ms < 0) std::abort();
    if (spec.ready.kind != SHAREDSERVER_PROBE_NONE && (spec.ready.timeout_ms <= 0 || spec.ready.interval_ms <= 0))
        std::abort();
    if (!describe_mismatch(spec, spec).empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    auto project = parse_project(text, file_path);
    if (!project) {
        const Error &e = project.error();
        if (e.code != SHAREDSERVER_EINVALID) std::abort();
        if (e.message.rfind(std::string(project_file_name) + ": ", 0) != 0) std::abort();
        if (has_controls(e.message)) std::abort();
        return 0;
    }
    if (project->path != file_path) std::abort();
    std::set<std::string> names;
    for (const auto &server : project->servers) {
        check_server(server);
        if (!names.insert(server.name).second) std::abort();
        if (project->find(server.name) != &server) std::abort();
    }
    if (project->find("") != nullptr) std::abort();
    // Unknown keys: one line each, naming the file.
    for (const auto &warning : project->warnings)
        if (warning.rfind(std::string(project_file_name) + ": ", 0) != 0 || has_controls(warning)) std::abort();

    auto again = parse_project(write_back(*project), file_path);
    if (!again || again->servers.size() != project->servers.size() || again->profiles != project->profiles) std::abort();
    for (std::size_t i = 0; i < project->servers.size(); ++i)
        if (!same(project->servers[i], again->servers[i])) std::abort();

    for (const auto &server : project->servers) check_normalized(server);
    return 0;
}
