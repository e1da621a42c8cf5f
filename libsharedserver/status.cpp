#include "status.hpp"

#include <dirent.h>

#include <algorithm>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <nlohmann/json.hpp>

#include "duration.hpp"
#include "files.hpp"
#include "json_writer.hpp"
#include "names.hpp"
#include "ports.hpp"
#include "probe.hpp"

namespace sharedserver {

using nlohmann::json;

namespace {

constexpr const char *server_suffix = ".server.json";

int state_of(const ServerRecord &record, bool has_clients) {
    if (record.stopping) return SHAREDSERVER_STOPPING;
    if (record.restarting || record.ready_at_ms == 0) return SHAREDSERVER_STARTING;
    return has_clients ? SHAREDSERVER_ACTIVE : SHAREDSERVER_GRACE;
}

// Keys in alphabetical order: the order the output has always had.
void write_info(JsonWriter &out, const ServerInfo &info) {
    bool running = info.state != SHAREDSERVER_STOPPED && info.state != SHAREDSERVER_CORRUPT;
    auto number_or_null = [&](bool present, int64_t value) -> JsonWriter & {
        return present ? out.value(value) : out.null();
    };
    auto text_or_null = [&](bool present, std::string_view text) -> JsonWriter & {
        return present ? out.value(text) : out.null();
    };
    out.begin_object();
    out.key("clients").begin_array();
    for (const auto &c : info.clients) {
        out.begin_object();
        out.key("attached_at").value(int64_t{c.attached_at_ms / 1000});
        out.key("metadata").value(std::string_view(c.metadata));
        out.key("pid").value(int64_t{c.pid});
        out.end_object();
    }
    out.end_array();
    out.key("command").strings(info.spec.argv);
    out.key("depends_on").strings(info.spec.depends_on);
    out.key("env").strings(info.spec.env);
    out.key("error");
    text_or_null(!info.error.empty(), info.error);
    out.key("grace_deadline");
    number_or_null(info.state == SHAREDSERVER_GRACE, info.grace_deadline_ms / 1000);
    out.key("grace_period");
    text_or_null(running, running ? format_duration(info.spec.grace_period_ms) : std::string());
    out.key("grace_period_ms");
    number_or_null(running, info.spec.grace_period_ms);
    const bool live = running && info.spec.liveness.probe.kind != SHAREDSERVER_PROBE_NONE;
    out.key("liveness");
    if (live) {
        const LivenessProbe &l = spec_for_port(info.spec, info.port).liveness;
        out.begin_object();
        out.key("failures").value(int64_t{l.failures});
        out.key("failures_in_a_row").value(int64_t{info.liveness_failures});
        out.key("interval").value(format_duration(l.probe.interval_ms));
        out.key("last_failure_at");
        number_or_null(info.liveness_failed_at_ms > 0, info.liveness_failed_at_ms / 1000);
        out.key("probe").value(describe_probe(l.probe));
        out.key("timeout").value(format_duration(l.probe.timeout_ms));
        out.end_object();
    } else {
        out.null();
    }
    out.key("log_file");
    text_or_null(running, info.spec.log_file);
    out.key("log_max_size");
    number_or_null(running, info.spec.log_max_size);
    out.key("name").value(std::string_view(info.name));
    out.key("needed_by").strings(info.needed_by);
    out.key("pid");
    number_or_null(running, info.pid);
    out.key("port");
    number_or_null(info.port > 0, info.port);
    out.key("ready");
    text_or_null(running, running ? describe_probe(spec_for_port(info.spec, info.port).ready) : std::string());
    out.key("ready_at");
    number_or_null(info.ready_at_ms > 0, info.ready_at_ms / 1000);
    out.key("refcount").value(static_cast<int64_t>(info.clients.size()));
    out.key("restart");
    text_or_null(running, restart_policy_name(info.spec.restart.mode));
    out.key("restarts").value(static_cast<int64_t>(info.restarts));
    out.key("started_at");
    number_or_null(running, info.started_at_ms / 1000);
    out.key("state").value(state_name(info.state));
    out.key("watcher_pid");
    number_or_null(running, info.watcher_pid);
    out.key("working_dir");
    text_or_null(running, info.spec.working_dir);
    out.end_object();
}

// The record of `files`, read without the lock. The liveness of what it
// names is read after it, so a restart can act in between: a record read
// just before the restart marked it `restarting` names a server that the
// restart has killed since, and one read just before the next record was
// swapped in names a watcher that has exited since. Either way the name
// would flash "stopped" mid-restart (seen in the threads suite under TSan).
// So a record that reads as dead is read again, and a changed one believed.
// nullopt: no record, or one whose server is gone (the name is stopped).
Result<std::optional<ServerRecord>> load_live_record_for_status(const ServerFiles &files) {
    auto record = load_server_record(files);
    for (int reread = 0; record && *record; ++reread) {
        if (record_alive(**record)) return record;
        if (reread == 3) break;
        auto again = load_server_record(files);
        if (!again || !*again || **again == **record) break;
        record = std::move(again);
    }
    if (!record) return record;
    return std::optional<ServerRecord>{};
}

}  // namespace

const char *restart_policy_name(int mode) {
    switch (mode) {
        case SHAREDSERVER_RESTART_ON_FAILURE: return "on-failure";
        case SHAREDSERVER_RESTART_ALWAYS: return "always";
        default: return "no";
    }
}

const char *state_name(int state) {
    switch (state) {
        case SHAREDSERVER_STARTING: return "starting";
        case SHAREDSERVER_ACTIVE: return "active";
        case SHAREDSERVER_GRACE: return "grace";
        case SHAREDSERVER_STOPPING: return "stopping";
        case SHAREDSERVER_CORRUPT: return "corrupt";
        default: return "stopped";
    }
}

namespace {

// A dependent's watcher attaches with the metadata "needed by <name>"
// (dependencies.cpp); metadata is free text, so the dependent's record must
// confirm it: that watcher, and this name among its depends_on.
std::vector<std::string> dependents_among(const ServerFiles &files, const ClientMap &clients) {
    static constexpr std::string_view mark = "needed by ";
    std::vector<std::string> out;
    for (const auto &[pid, client] : clients) {
        if (!client.metadata.starts_with(mark)) continue;
        std::string dependent = client.metadata.substr(mark.size());
        if (!validate_name(dependent)) continue;
        auto record = load_server_record({files.dir, dependent});
        if (!record || !*record || (*record)->watcher.pid != pid) continue;
        const auto &needs = (*record)->spec.depends_on;
        if (std::find(needs.begin(), needs.end(), files.name) != needs.end()) out.push_back(dependent);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

Result<ServerInfo> read_server_info(const ServerFiles &files) {
    if (auto valid = validate_name(files.name); !valid) return std::unexpected(valid.error());
    ServerInfo info;
    info.name = files.name;
    auto record = load_live_record_for_status(files);
    if (!record) return std::unexpected(record.error());
    if (!*record) return info;
    auto clients = load_clients(files);
    if (!clients) return std::unexpected(clients.error());
    const ServerRecord &r = **record;
    for (const auto &[pid, c] : *clients) info.clients.push_back({pid, c.attached_at_ms, c.metadata});
    info.state = state_of(r, !clients->empty());
    info.pid = r.server.pid;
    info.watcher_pid = r.watcher.pid;
    info.spec = r.spec;
    info.grace_deadline_ms = info.state == SHAREDSERVER_GRACE ? r.grace_deadline_ms : 0;
    info.started_at_ms = r.started_at_ms;
    info.port = r.port;
    info.ready_at_ms = r.ready_at_ms;
    info.restarts = r.restarts_boot_ms.size();
    info.liveness_failures = r.liveness_failures;
    info.liveness_failed_at_ms = r.liveness_failed_at_ms;
    info.needed_by = dependents_among(files, *clients);
    return info;
}

Result<int> read_server_state(const ServerFiles &files) {
    if (auto valid = validate_name(files.name); !valid) return std::unexpected(valid.error());
    auto record = load_live_record_for_status(files);
    if (!record) return std::unexpected(record.error());
    if (!*record) return SHAREDSERVER_STOPPED;
    return state_of(**record, file_exists(files.clients()));
}

std::vector<ServerInfo> list_servers(const std::string &state_dir) {
    std::vector<std::string> names;
    if (DIR *d = ::opendir(state_dir.c_str())) {
        const std::string_view suffix = server_suffix;
        while (dirent *entry = ::readdir(d)) {
            std::string_view file = entry->d_name;
            if (file.size() <= suffix.size() || !file.ends_with(suffix)) continue;
            std::string_view name = file.substr(0, file.size() - suffix.size());
            if (validate_name(name)) names.emplace_back(name);  // we never write another name
        }
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    // Reading a record is parsing JSON and reading /proc: independent per
    // name, and CPU-bound past a few hundred servers, so a long list is read
    // by one thread per core (about half the time on two).
    std::vector<std::optional<ServerInfo>> read(names.size());
    auto read_from = [&](std::size_t first, std::size_t step) {
        for (std::size_t i = first; i < names.size(); i += step) {
            auto info = read_server_info({state_dir, names[i]});
            if (!info) {
                ServerInfo unreadable;
                unreadable.name = names[i];
                unreadable.state = SHAREDSERVER_CORRUPT;
                unreadable.error = info.error().message;
                read[i] = std::move(unreadable);
            } else if (info->state != SHAREDSERVER_STOPPED) {
                read[i] = std::move(*info);
            }
        }
    };
    constexpr std::size_t names_per_thread = 128;
    std::size_t threads = std::min<std::size_t>({std::max(1U, std::thread::hardware_concurrency()), 8,
                                                 names.size() / names_per_thread + 1});
    std::vector<std::thread> helpers;
    for (std::size_t t = 1; t < threads; ++t) {
        try {
            helpers.emplace_back(read_from, t, threads);
        } catch (const std::system_error &) {  // no thread to spare: this one reads its share
            read_from(t, threads);
        }
    }
    read_from(0, threads);
    for (auto &helper : helpers) helper.join();
    std::vector<ServerInfo> out;
    for (auto &info : read)
        if (info) out.push_back(std::move(*info));
    return out;
}

std::string info_to_json(const ServerInfo &info) {
    std::string text;
    JsonWriter out(text);
    write_info(out, info);
    return text;
}

std::string infos_to_json(const std::vector<ServerInfo> &infos) {
    std::string text;
    text.reserve(infos.size() * 640);
    JsonWriter out(text);
    out.begin_array();
    for (const auto &info : infos) write_info(out, info);
    out.end_array();
    return text;
}

}  // namespace sharedserver
