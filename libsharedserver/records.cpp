#include "records.hpp"

#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "files.hpp"
#include "json_writer.hpp"
#include "names.hpp"
#include "record_reader.hpp"

namespace sharedserver {

using nlohmann::json;

namespace {

std::unexpected<Error> corrupt(const std::string &path, const std::string &why) {
    return fail(SHAREDSERVER_ECORRUPT,
                "record " + quote(path) + " is corrupt (" + why + "); repair it with doctor",
                0, path);
}

template <class T>
T value_or(const json &object, const char *key, T fallback) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return fallback;
    // A float where an integer belongs would be converted with undefined
    // behaviour when out of range: such a record is corrupt.
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
        if (!it->is_number_integer()) throw std::invalid_argument(std::string(key) + " is not an integer");
    return it->get<T>();
}

}  // namespace

std::string to_json(const ServerRecord &r) {
    json out = {
        {"schema", r.schema},
        {"name", r.name},
        {"pid", r.server.pid},
        {"pid_start", r.server.start},
        {"pgid", r.pgid},
        {"watcher_pid", r.watcher.pid},
        {"watcher_start", r.watcher.start},
        {"watcher_wake_signal", r.watcher_wakes_on_signal},
        {"instance", r.instance},
        {"boot_id", r.boot_id},
        {"command", r.spec.argv},
        {"env", r.spec.env},
        {"working_dir", r.spec.working_dir},
        {"log_file", r.spec.log_file},
        {"grace_period_ms", r.spec.grace_period_ms},
        {"stopping", r.stopping},
        {"grace_deadline_ms", r.grace_deadline_ms},
        {"grace_deadline_boot_ms", r.grace_deadline_boot_ms},
        {"started_at_ms", r.started_at_ms},
        {"ready", {{"kind", r.spec.ready.kind}, {"target", r.spec.ready.target},
                   {"timeout_ms", r.spec.ready.timeout_ms}, {"interval_ms", r.spec.ready.interval_ms}}},
        {"port_request", r.spec.port},
        {"restart", {{"mode", r.spec.restart.mode}, {"max_restarts", r.spec.restart.max_restarts},
                     {"window_ms", r.spec.restart.window_ms}}},
        {"log_max_size", r.spec.log_max_size},
        {"depends_on", r.spec.depends_on},
        {"port", r.port},
        {"ready_at_ms", r.ready_at_ms},
        {"restarting", r.restarting},
        {"restarts_boot_ms", r.restarts_boot_ms},
        {"liveness", {{"kind", r.spec.liveness.probe.kind}, {"target", r.spec.liveness.probe.target},
                      {"timeout_ms", r.spec.liveness.probe.timeout_ms}, {"interval_ms", r.spec.liveness.probe.interval_ms},
                      {"failures", r.spec.liveness.failures}}},
        {"liveness_failures", r.liveness_failures},
        {"liveness_failed_at_ms", r.liveness_failed_at_ms},
    };
    return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Written on every attach and detach: streamed, not built as a tree. Keys
// in the order a tree printed them (sorted), pids in numeric order.
std::string to_json(const ClientMap &clients) {
    std::string text;
    text.reserve(32 + clients.size() * 80);
    JsonWriter out(text);
    out.begin_object().key("clients").begin_object();
    for (const auto &[pid, c] : clients) {
        out.key(std::to_string(pid)).begin_object();
        out.key("attached_at_ms").value(c.attached_at_ms);
        out.key("metadata").value(std::string_view(c.metadata));
        out.key("start").value(c.start);
        out.end_object();
    }
    out.end_object().key("schema").value(int64_t{record_schema_version}).end_object();
    return text;
}

Result<ServerRecord> parse_server_record(const std::string &text, const std::string &path) {
    ServerRecord r;
    if (std::string why = read_server_record(r, text); !why.empty()) return corrupt(path, why);
    return r;
}

Result<ClientMap> parse_clients(const std::string &text, const std::string &path) {
    json in = json::parse(text, nullptr, false);
    if (in.is_discarded() || !in.is_object()) return corrupt(path, "not a JSON object");
    try {
        ClientMap clients;
        for (const auto &[key, c] : in.at("clients").items()) {
            std::size_t used = 0;
            long long pid = std::stoll(key, &used);
            // Pid 1 is a client like any other (a program that is PID 1 in a
            // container): it is watched, never signalled.
            if (used != key.size() || pid <= 0 || pid > std::numeric_limits<pid_t>::max())
                return corrupt(path, "client key " + quote(key) + " is not a pid");
            clients[static_cast<pid_t>(pid)] = ClientEntry{value_or<uint64_t>(c, "start", 0),
                                                           value_or<int64_t>(c, "attached_at_ms", 0),
                                                           value_or<std::string>(c, "metadata", "")};
        }
        return clients;
    } catch (const std::exception &e) {
        return corrupt(path, e.what());
    }
}

Result<std::optional<ServerRecord>> load_server_record(const ServerFiles &files) {
    auto text = read_small_file(files.server());
    if (!text) return std::unexpected(text.error());
    if (!*text) return std::optional<ServerRecord>{};
    auto record = parse_server_record(**text, files.server());
    if (!record) return std::unexpected(record.error());
    return std::optional<ServerRecord>{std::move(*record)};
}

Result<ClientMap> load_clients(const ServerFiles &files) {
    auto text = read_small_file(files.clients());
    if (!text) return std::unexpected(text.error());
    if (!*text) return ClientMap{};
    return parse_clients(**text, files.clients());
}

namespace {

// A record larger than any reader accepts is refused here, by its writer:
// written, it would read as corrupt to everyone, the watcher included.
Status save_record(const std::string &path, const std::string &text, const char *advice) {
    if (text.size() > max_record_size)
        return fail(SHAREDSERVER_EINVALID, "cannot write record " + quote(path) + ": it would take " +
                                               std::to_string(text.size()) + " bytes, more than the " +
                                               std::to_string(max_record_size) + " a record may take; " + advice,
                    0, path);
    return write_file_atomically(path, text);
}

}  // namespace

Status save_server_record(const ServerFiles &files, const ServerRecord &record) {
    return save_record(files.server(), to_json(record), "shorten the server's definition");
}

Status save_clients(const ServerFiles &files, const ClientMap &clients) {
    if (clients.empty()) return remove_file(files.clients());
    return save_record(files.clients(), to_json(clients), "detach clients, or shorten their metadata");
}

void start_grace(ServerRecord &record, int64_t boot_deadline_ms) {
    record.grace_deadline_boot_ms = boot_deadline_ms;
    record.grace_deadline_ms = unix_time_of_boot_ms(boot_deadline_ms);
}

void start_grace(ServerRecord &record) { start_grace(record, boot_now_ms() + record.spec.grace_period_ms); }

void cancel_grace(ServerRecord &record) {
    record.grace_deadline_ms = 0;
    record.grace_deadline_boot_ms = 0;
}

int64_t grace_deadline_boot(const ServerRecord &record) {
    if (record.grace_deadline_boot_ms > 0) return record.grace_deadline_boot_ms;
    if (record.grace_deadline_ms <= 0) return 0;
    return boot_now_ms() + (record.grace_deadline_ms - unix_now_ms());
}

bool server_alive(const ServerRecord &record) {
    if (!record.boot_id.empty() && record.boot_id != boot_id()) return false;
    if (record.server.start == 0) return false;  // an identity we cannot check is not trusted
    return process_alive(record.server);
}

bool record_alive(const ServerRecord &record) {
    return server_alive(record) || (record.restarting && watcher_alive(record));
}

bool watcher_alive(const ServerRecord &record) {
    if (!record.boot_id.empty() && record.boot_id != boot_id()) return false;
    return record.watcher.pid > 0 && process_alive(record.watcher);
}

}  // namespace sharedserver
