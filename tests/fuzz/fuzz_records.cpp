// libFuzzer target: the record parsers (<name>.server.json, <name>.clients.json).
// Whatever the bytes, parsing returns a record or ECORRUPT (never throws,
// never crashes); a record that parses survives a write/read round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "records.hpp"

using namespace sharedserver;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    auto record = parse_server_record(text, "fuzz.server.json");
    // What the text says, read independently: a parsed record must carry
    // exactly these numbers (no wrap-around of a pid beyond pid_t's range).
    const nlohmann::json raw = nlohmann::json::parse(text, nullptr, false);
    if (record) {
        if (record->server.pid <= 0) std::abort();
        const auto &pid = raw.at("pid");
        if (!pid.is_number_integer() || pid.get<int64_t>() != record->server.pid) std::abort();
        auto again = parse_server_record(to_json(*record), "fuzz.server.json");
        if (!again) std::abort();
        if (again->server != record->server || again->pgid != record->pgid || again->watcher != record->watcher ||
            again->spec.argv != record->spec.argv || again->spec.env != record->spec.env ||
            again->spec.grace_period_ms != record->spec.grace_period_ms || again->stopping != record->stopping ||
            again->boot_id != record->boot_id)
            std::abort();
    } else if (record.error().code != SHAREDSERVER_ECORRUPT) {
        std::abort();
    }
    auto clients = parse_clients(text, "fuzz.clients.json");
    if (clients) {
        for (const auto &[pid, entry] : *clients)
            if (pid <= 0) std::abort();
        // A key beyond pid_t's range is refused, never wrapped: "4294967297" is not pid 1.
        for (const auto &[key, value] : raw.at("clients").items()) {
            long long number = std::strtoll(key.c_str(), nullptr, 10);
            if (number != static_cast<pid_t>(number)) std::abort();
        }
        auto again = parse_clients(to_json(*clients), "fuzz.clients.json");
        if (!again || again->size() != clients->size()) std::abort();
        for (const auto &[pid, entry] : *clients) {
            auto it = again->find(pid);
            if (it == again->end() || it->second.start != entry.start || it->second.metadata != entry.metadata)
                std::abort();
        }
    } else if (clients.error().code != SHAREDSERVER_ECORRUPT) {
        std::abort();
    }
    return 0;
}
