#include "enums.hpp"

#include "names.hpp"

namespace sharedserver {

namespace {

constexpr EnumEntry errors[] = {
    {SHAREDSERVER_OK, "ok"},
    {SHAREDSERVER_ERROR, "error"},
    {SHAREDSERVER_ENOTRUNNING, "not-running"},
    {SHAREDSERVER_EALREADY, "already-running"},
    {SHAREDSERVER_EINVALID, "invalid"},
    {SHAREDSERVER_ESPAWN, "spawn"},
    {SHAREDSERVER_ETIMEOUT, "timeout"},
    {SHAREDSERVER_EBUSY, "busy"},
    {SHAREDSERVER_EPERM, "permission"},
    {SHAREDSERVER_ENOTCLIENT, "not-client"},
    {SHAREDSERVER_ECORRUPT, "corrupt"},
    {SHAREDSERVER_ENOTFOUND, "not-found"},
};

constexpr EnumEntry states[] = {
    {SHAREDSERVER_STOPPED, "stopped"}, {SHAREDSERVER_STARTING, "starting"}, {SHAREDSERVER_ACTIVE, "active"},
    {SHAREDSERVER_GRACE, "grace"},     {SHAREDSERVER_STOPPING, "stopping"}, {SHAREDSERVER_CORRUPT, "corrupt"},
};

constexpr EnumEntry probes[] = {
    {SHAREDSERVER_PROBE_NONE, "none"}, {SHAREDSERVER_PROBE_PORT, "port"},   {SHAREDSERVER_PROBE_SOCKET, "socket"},
    {SHAREDSERVER_PROBE_HTTP, "http"}, {SHAREDSERVER_PROBE_COMMAND, "cmd"}, {SHAREDSERVER_PROBE_LOG, "log"},
};

constexpr EnumEntry restart_policies[] = {
    {SHAREDSERVER_RESTART_NO, "no"},
    {SHAREDSERVER_RESTART_ON_FAILURE, "on-failure"},
    {SHAREDSERVER_RESTART_ALWAYS, "always"},
};

constexpr EnumEntry mismatch_modes[] = {
    {SHAREDSERVER_MISMATCH_WARN, "warn"},
    {SHAREDSERVER_MISMATCH_ERROR, "error"},
    {SHAREDSERVER_MISMATCH_RESTART, "restart"},
};

constexpr EnumEntry outcomes[] = {
    {SHAREDSERVER_STARTED, "started"},
    {SHAREDSERVER_ATTACHED, "attached"},
    {SHAREDSERVER_RESCUED, "rescued"},
};

constexpr EnumEntry exit_reasons[] = {
    {SHAREDSERVER_EXIT_EXITED, "exited"},
    {SHAREDSERVER_EXIT_SIGNALLED, "signalled"},
    {SHAREDSERVER_EXIT_PROBE_FAILED, "probe-failed"},
    {SHAREDSERVER_EXIT_GAVE_UP, "gave-up"},
    {SHAREDSERVER_EXIT_STOPPED, "stopped"},
    {SHAREDSERVER_EXIT_GRACE_EXPIRED, "grace-expired"},
    {SHAREDSERVER_EXIT_KILLED, "killed"},
    {SHAREDSERVER_EXIT_ORPHANED, "orphaned"},
    {SHAREDSERVER_EXIT_UNHEALTHY, "unhealthy"},
};

// The event names of the event log, as written by the lifecycle and the watcher.
constexpr EnumEntry changes[] = {
    {SHAREDSERVER_CHANGE_OTHER, "other"},
    {SHAREDSERVER_CHANGE_STARTED, "started"},
    {SHAREDSERVER_CHANGE_READY, "ready"},
    {SHAREDSERVER_CHANGE_ATTACHED, "attached"},
    {SHAREDSERVER_CHANGE_DETACHED, "detached"},
    {SHAREDSERVER_CHANGE_CLIENT_DIED, "client-died"},
    {SHAREDSERVER_CHANGE_GRACE_ENTERED, "grace-entered"},
    {SHAREDSERVER_CHANGE_GRACE_CANCELLED, "grace-cancelled"},
    {SHAREDSERVER_CHANGE_STOPPING, "stopping"},
    {SHAREDSERVER_CHANGE_EXITED, "exited"},
    {SHAREDSERVER_CHANGE_RESTARTING, "restarting"},
    {SHAREDSERVER_CHANGE_RESTARTED, "restarted"},
    {SHAREDSERVER_CHANGE_GAVE_UP, "gave-up"},
    {SHAREDSERVER_CHANGE_PROBE_FAILED, "probe-failed"},
    {SHAREDSERVER_CHANGE_ADOPTED, "adopted"},
    {SHAREDSERVER_CHANGE_REPAIRED, "repaired"},
    {SHAREDSERVER_CHANGE_KILLED, "killed"},
    {SHAREDSERVER_CHANGE_LEFT_ALONE, "left-alone"},
    {SHAREDSERVER_CHANGE_LIVENESS_FAILED, "liveness-failed"},
};

const char *kind_name(int kind) {
    switch (kind) {
        case SHAREDSERVER_ENUM_ERROR: return "error code";
        case SHAREDSERVER_ENUM_STATE: return "state";
        case SHAREDSERVER_ENUM_PROBE: return "readiness probe";
        case SHAREDSERVER_ENUM_RESTART: return "restart policy";
        case SHAREDSERVER_ENUM_MISMATCH: return "mismatch mode";
        case SHAREDSERVER_ENUM_OUTCOME: return "outcome";
        case SHAREDSERVER_ENUM_EXIT_REASON: return "exit reason";
        case SHAREDSERVER_ENUM_CHANGE: return "change kind";
        default: return "enum";
    }
}

}  // namespace

std::span<const EnumEntry> enum_entries(int kind) {
    switch (kind) {
        case SHAREDSERVER_ENUM_ERROR: return errors;
        case SHAREDSERVER_ENUM_STATE: return states;
        case SHAREDSERVER_ENUM_PROBE: return probes;
        case SHAREDSERVER_ENUM_RESTART: return restart_policies;
        case SHAREDSERVER_ENUM_MISMATCH: return mismatch_modes;
        case SHAREDSERVER_ENUM_OUTCOME: return outcomes;
        case SHAREDSERVER_ENUM_EXIT_REASON: return exit_reasons;
        case SHAREDSERVER_ENUM_CHANGE: return changes;
        default: return {};
    }
}

const char *enum_name(int kind, int value) {
    for (const auto &e : enum_entries(kind))
        if (e.value == value) return e.name;
    return "";
}

std::string enum_choices(int kind) {
    auto entries = enum_entries(kind);
    std::string out;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out += i + 1 == entries.size() ? " or " : ", ";
        out += std::string("\"") + entries[i].name + "\"";
    }
    return out;
}

Result<int> enum_parse(int kind, const std::string &name) {
    if (enum_entries(kind).empty())
        return fail(SHAREDSERVER_EINVALID, "unknown enum kind " + std::to_string(kind) + " (this library knows 1 to " +
                                               std::to_string(SHAREDSERVER_ENUM_CHANGE) + ")");
    for (const auto &e : enum_entries(kind))
        if (name == e.name) return e.value;
    return fail(SHAREDSERVER_EINVALID, quote(name) + " is not a " + kind_name(kind) + ": use " + enum_choices(kind));
}

}  // namespace sharedserver
