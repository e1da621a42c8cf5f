#include "events.hpp"

#include <limits>

#include <sstream>
#include <vector>

#include "clock.hpp"
#include "files.hpp"

namespace sharedserver {

using nlohmann::json;

namespace {

void trim_to_newest_half(const std::string &path) {
    auto text = read_small_file(path, 4 * max_event_log_size);
    if (!text || !*text || (*text)->size() <= max_event_log_size) return;
    const std::string &all = **text;
    std::size_t cut = all.find('\n', all.size() - max_event_log_size / 2);
    if (cut == std::string::npos) return;
    (void)write_file_atomically(path, all.substr(cut + 1));
}

std::vector<json> parse_lines(const std::string &text) {
    std::vector<json> events;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        json event = json::parse(line, nullptr, false);
        if (!event.is_discarded() && event.is_object()) events.push_back(std::move(event));
    }
    return events;
}

}  // namespace

namespace {

void append_event(const ServerFiles &files, const std::string &kind, json fields, bool create) {
    json event = {{"at", unix_now_ms()}, {"event", kind}};
    if (fields.is_object())
        for (auto &[key, value] : fields.items()) event[key] = value;
    const std::string path = files.events();
    // A log that trimming could not bring under the cap (larger than we ever
    // read) is not made larger still.
    auto size = append_line(path, event.dump(-1, ' ', false, json::error_handler_t::replace), 4 * max_event_log_size,
                            create);
    if (size && *size > max_event_log_size) trim_to_newest_half(path);
}

}  // namespace

void record_event(const ServerFiles &files, const std::string &kind, json fields) {
    append_event(files, kind, std::move(fields), true);
}

void record_event_if_logged(const ServerFiles &files, const std::string &kind, json fields) {
    append_event(files, kind, std::move(fields), false);
}

Result<std::string> read_events(const ServerFiles &files) {
    auto text = read_small_file(files.events(), 4 * max_event_log_size);
    if (!text) return std::unexpected(text.error());
    return text->value_or("");
}

std::string event_text(const json &event, const char *field) {
    auto it = event.find(field);
    return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t event_int(const json &event, const char *field, int64_t otherwise) {
    auto it = event.find(field);
    return it != event.end() && it->is_number_integer() ? it->get<int64_t>() : otherwise;
}

pid_t event_pid(const json &event, const char *field) {
    int64_t pid = event_int(event, field, 0);
    return pid > 0 && pid <= std::numeric_limits<pid_t>::max() ? static_cast<pid_t>(pid) : 0;
}

std::optional<ExitRecord> last_exit(const ServerFiles &files) {
    auto text = read_events(files);
    if (!text) return std::nullopt;
    auto events = parse_lines(*text);
    std::optional<ExitRecord> found;
    for (const json &e : events) {
        if (event_text(e, "event") != "exited") continue;
        ExitRecord r;
        // An adopted server's exit code is unknowable: recorded as null.
        r.exit_code = static_cast<int>(event_int(e, "code", -1));
        r.signal = static_cast<int>(event_int(e, "signal", 0));
        r.at_ms = event_int(e, "at");
        r.unexpected = e.contains("unexpected") && e["unexpected"].is_boolean() && e["unexpected"].get<bool>();
        found = r;
    }
    return found;
}

bool server_was_recorded(const ServerFiles &files, pid_t pid) {
    auto text = read_events(files);
    if (!text) return false;
    for (const json &e : parse_lines(*text)) {
        std::string kind = event_text(e, "event");
        if ((kind == "started" || kind == "restarted" || kind == "adopted") && event_pid(e) == pid) return true;
    }
    return false;
}

std::optional<std::string> last_log_file(const ServerFiles &files) {
    auto text = read_events(files);
    if (!text) return std::nullopt;
    std::optional<std::string> found;
    for (const json &e : parse_lines(*text))
        if (event_text(e, "event") == "started" && e.contains("log_file")) found = event_text(e, "log_file");
    return found;
}

}  // namespace sharedserver
