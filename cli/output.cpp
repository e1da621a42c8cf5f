#include "output.hpp"
#include "hints.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace cli {

namespace {

constexpr const char *green = "\x1b[32m";
constexpr const char *yellow = "\x1b[33m";
constexpr const char *red = "\x1b[31m";
constexpr const char *dim = "\x1b[2m";
constexpr const char *bold = "\x1b[1m";

int64_t now_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// Display width: UTF-8 continuation bytes and ANSI escapes take no column.
std::size_t display_width(const std::string &text) {
    std::size_t width = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == 0x1b) {
            while (i < text.size() && text[i] != 'm') ++i;
            continue;
        }
        if ((c & 0xC0) != 0x80) ++width;
    }
    return width;
}

// Control characters never reach the terminal raw: they could move the
// cursor or hide text. They are shown as \xNN.
std::string visible(const std::string &text) {
    std::string out;
    for (unsigned char c : text) {
        if (c < 0x20 || c == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string shell_quote(const std::string &raw) {
    std::string arg = visible(raw);
    if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%_-+=:,./") == std::string::npos)
        return arg;
    std::string out = "'";
    for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

}  // namespace

bool colour_enabled() {
    static const bool enabled = [] {
        const char *no_colour = std::getenv("NO_COLOR");
        if (no_colour && *no_colour) return false;
        return ::isatty(STDOUT_FILENO) == 1;
    }();
    return enabled;
}

std::string paint(const std::string &text, const char *ansi) {
    if (!colour_enabled()) return text;
    return std::string(ansi) + text + "\x1b[0m";
}

std::string human_span(int64_t ms) {
    if (ms < 0) ms = 0;
    int64_t s = ms / 1000;
    int64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
    char buf[64];
    if (d > 0) std::snprintf(buf, sizeof buf, "%lldd %lldh", (long long)d, (long long)h);
    else if (h > 0) std::snprintf(buf, sizeof buf, "%lldh %lldm", (long long)h, (long long)m);
    else if (m > 0) std::snprintf(buf, sizeof buf, "%lldm %llds", (long long)m, (long long)sec);
    else std::snprintf(buf, sizeof buf, "%llds", (long long)sec);
    return buf;
}

std::string local_time(int64_t unix_ms) {
    time_t t = static_cast<time_t>(unix_ms / 1000);
    tm local{};
    ::localtime_r(&t, &local);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local);
    return buf;
}

std::string state_label(sharedserver::State state) {
    using sharedserver::State;
    switch (state) {
        case State::active: return paint("● active", green);
        case State::grace: return paint("⏳ grace", yellow);
        case State::starting: return paint("◐ starting", yellow);
        case State::stopping: return paint("◑ stopping", yellow);
        case State::corrupt: return paint("✗ corrupt", red);
        default: return paint("○ stopped", dim);
    }
}

std::string table(const std::vector<std::vector<std::string>> &rows) {
    std::vector<std::size_t> widths;
    for (const auto &row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (widths.size() <= i) widths.push_back(0);
            widths[i] = std::max(widths[i], display_width(row[i]));
        }
    std::string out;
    for (const auto &row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(widths[i] - display_width(row[i]) + 2, ' ');
        }
        out += line + "\n";
    }
    return out;
}

std::string join_command(const std::vector<std::string> &argv) {
    std::string out;
    for (const auto &arg : argv) out += (out.empty() ? "" : " ") + shell_quote(arg);
    return out;
}

namespace {

// What the server was started with: a record keeps its definition, where
// {port} stands for the port it was given at launch.
std::string with_port(std::string text, int port) {
    static const std::string placeholder = "{port}";
    if (port <= 0) return text;
    for (auto at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at))
        text.replace(at, placeholder.size(), std::to_string(port));
    return text;
}

std::string names_or_dash(const std::vector<std::string> &names) {
    std::string out;
    for (const auto &name : names) out += (out.empty() ? "" : ",") + name;
    return out.empty() ? "-" : out;
}

std::string launched_command(const sharedserver::Info &info) {
    std::vector<std::string> argv;
    for (const auto &arg : info.command) argv.push_back(with_port(arg, info.port));
    return join_command(argv);
}

}  // namespace

std::string port_phrase(int port) { return port > 0 ? ", port " + std::to_string(port) : std::string(); }

std::string clients_phrase(std::size_t n) { return std::to_string(n) + (n == 1 ? " client" : " clients"); }

bool progress_enabled() { return ::isatty(STDERR_FILENO) == 1; }

void Spinner::update(int64_t elapsed_ms, const std::string &newest_log_line) {
    static const char *frames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "%.1fs", static_cast<double>(elapsed_ms) / 1000.0);
    std::string line = newest_log_line.substr(0, 60);
    std::cerr << "\r\x1b[2K" << frames[frame_++ % 10] << " starting " << name_ << "… " << elapsed
              << (line.empty() ? "" : "  " + line) << std::flush;
    drawn_ = true;
}

void Spinner::finish() {
    if (drawn_) std::cerr << "\r\x1b[2K" << std::flush;
    drawn_ = false;
}

void print_list(const std::vector<sharedserver::Info> &running, const std::vector<std::string> &defined,
                const std::string &defined_in) {
    std::vector<sharedserver::Info> servers = running;
    for (const auto &name : defined)
        if (std::none_of(servers.begin(), servers.end(), [&](const auto &s) { return s.name == name; })) {
            sharedserver::Info stopped;
            stopped.name = name;
            servers.push_back(stopped);
        }
    std::sort(servers.begin(), servers.end(), [](const auto &a, const auto &b) { return a.name < b.name; });
    if (servers.empty()) {
        std::cout << "no servers are running\n";
        return;
    }
    auto in_project = [&](const std::string &name) {
        return std::find(defined.begin(), defined.end(), name) != defined.end();
    };
    // The PORT column appears only when some server has a port.
    bool ports = std::any_of(servers.begin(), servers.end(), [](const auto &s) { return s.port > 0; });
    std::vector<std::string> header = {"NAME", "STATE", "PID", "REFS", "UPTIME", "GRACE", "COMMAND"};
    if (ports) header.insert(header.begin() + 3, "PORT");
    // So do NEEDS and NEEDED BY, when some server has dependencies.
    bool edges = std::any_of(servers.begin(), servers.end(),
                             [](const auto &s) { return !s.depends_on.empty() || !s.needed_by.empty(); });
    if (edges) header.insert(header.end() - 1, {"NEEDS", "NEEDED BY"});
    std::vector<std::vector<std::string>> rows(1);
    for (const auto &h : header) rows[0].push_back(paint(h, bold));
    int64_t now = now_ms();
    for (const auto &s : servers) {
        // A record that cannot be read: its row says why instead of a command.
        bool stopped = s.state == sharedserver::State::stopped || s.state == sharedserver::State::corrupt;
        std::string grace = stopped ? "-"
                            : s.state == sharedserver::State::grace
                                ? human_span(s.grace_deadline_ms - now) + " left"
                                : sharedserver::format_duration(s.grace_period_ms);
        std::string name = s.name + (in_project(s.name) ? " *" : "");
        std::vector<std::string> row = {name,
                                        state_label(s.state),
                                        stopped ? "-" : std::to_string(s.pid),
                                        stopped ? "-" : std::to_string(s.refcount()),
                                        stopped ? "-" : human_span(now - s.started_at_ms),
                                        grace,
                                        s.error.empty() ? launched_command(s) : visible(cli_record_problem(s.error))};
        if (ports) row.insert(row.begin() + 3, s.port > 0 ? std::to_string(s.port) : "-");
        if (edges) row.insert(row.end() - 1, {names_or_dash(s.depends_on), names_or_dash(s.needed_by)});
        rows.push_back(std::move(row));
    }
    std::cout << table(rows);
    if (!defined.empty()) std::cout << "* defined in " << defined_in << "\n";
}

void print_info(const sharedserver::Info &info) {
    using sharedserver::State;
    int64_t now = now_ms();
    std::vector<std::vector<std::string>> rows = {{"name:", info.name}, {"state:", state_label(info.state)}};
    if (info.state != State::stopped) {
        rows.push_back({"pid:", std::to_string(info.pid)});
        rows.push_back({"watcher pid:", std::to_string(info.watcher_pid)});
        rows.push_back({"refcount:", std::to_string(info.refcount())});
        rows.push_back({"command:", launched_command(info)});
        for (const auto &e : info.env) rows.push_back({"env:", visible(with_port(e, info.port))});
        rows.push_back({"working dir:", visible(info.working_dir)});
        rows.push_back({"log file:", visible(info.log_file)});
        if (info.port > 0) rows.push_back({"port:", std::to_string(info.port)});
        if (info.state == State::starting) rows.push_back({"ready:", "not yet"});
        else if (info.ready_at_ms > 0 && info.ready_at_ms != info.started_at_ms)
            rows.push_back({"ready:", local_time(info.ready_at_ms)});
        if (info.restarts > 0) rows.push_back({"restarts:", std::to_string(info.restarts)});
        // The liveness probe is shown as the library describes it in the JSON.
        if (auto doc = nlohmann::json::parse(info.json, nullptr, false); doc.is_object()) {
            if (auto live = doc.find("liveness"); live != doc.end() && live->is_object()) {
                rows.push_back({"liveness:", visible(live->value("probe", "")) + " every " + live->value("interval", "") +
                                                 ", timeout " + live->value("timeout", "") + ", restart after " +
                                                 std::to_string(live->value("failures", 0)) + " failures in a row"});
                int in_a_row = live->value("failures_in_a_row", 0);
                auto last = live->find("last_failure_at");
                std::string failing = std::to_string(in_a_row) + " in a row";
                if (last != live->end() && last->is_number_integer())
                    failing += ", last at " + local_time(last->get<int64_t>() * 1000);
                rows.push_back({"liveness failures:", failing});
            }
        }
        if (!info.depends_on.empty()) rows.push_back({"depends on:", names_or_dash(info.depends_on)});
        if (!info.needed_by.empty()) rows.push_back({"needed by:", names_or_dash(info.needed_by)});
        rows.push_back({"started:", local_time(info.started_at_ms) + " (" + human_span(now - info.started_at_ms) + " ago)"});
        rows.push_back({"grace period:", sharedserver::format_duration(info.grace_period_ms)});
        if (info.state == State::grace)
            rows.push_back({"grace ends:", local_time(info.grace_deadline_ms) + " (in " +
                                               human_span(info.grace_deadline_ms - now) + ")"});
        for (const auto &c : info.clients) {
            std::string line = "pid " + std::to_string(c.pid) + ", attached " + local_time(c.attached_at_ms);
            if (!c.metadata.empty()) line += ", " + visible(c.metadata);
            rows.push_back({"client:", line});
        }
    }
    std::cout << table(rows);
}

void print_events(const std::string &jsonl) {
    std::istringstream lines(jsonl);
    std::vector<std::vector<std::string>> rows;
    for (std::string line; std::getline(lines, line);) {
        auto event = nlohmann::json::parse(line, nullptr, false);
        if (event.is_discarded() || !event.is_object()) continue;
        int64_t at = event.value("at", int64_t{0});
        char millis[8];
        std::snprintf(millis, sizeof millis, ".%03lld", (long long)(at % 1000));
        std::string details;
        for (auto &[key, value] : event.items()) {
            if (key == "at" || key == "event") continue;
            details += (details.empty() ? "" : " ") + key + "=" + visible(value.is_string() ? value.get<std::string>() : value.dump());
        }
        rows.push_back({local_time(at) + millis, event.value("event", "?"), details});
    }
    if (rows.empty()) {
        std::cout << "no events recorded\n";
        return;
    }
    std::cout << table(rows);
}

}  // namespace cli

namespace cli {

std::string change_line(const sharedserver::Change &change) {
    auto event = nlohmann::json::parse(change.json, nullptr, false);
    if (!event.is_object()) event = nlohmann::json::object();
    std::string message;
    for (const char *field : {"reason", "what", "error"}) {
        if (event.contains(field) && event[field].is_string()) {
            message = event[field].get<std::string>();
            break;
        }
    }
    if (message.empty() && event.value("event", "") == "exited") {
        if (event.contains("signal") && event["signal"].is_number_integer())
            message = "killed by signal " + std::to_string(event["signal"].get<int>());
        else if (event.contains("code") && event["code"].is_number_integer())
            message = "exit code " + std::to_string(event["code"].get<int>());
    }
    char millis[8];
    std::snprintf(millis, sizeof millis, ".%03lld", (long long)(change.at_ms % 1000));
    std::string kind = event.contains("event") && event["event"].is_string() ? event["event"].get<std::string>() : "?";
    std::string state = sharedserver_state_name(change.state);
    auto padded = [](std::string text, std::size_t width) {
        if (text.size() < width) text.append(width - text.size(), ' ');
        return text;
    };
    std::string line = local_time(change.at_ms) + millis + "  " + padded(change.name, 12) + "  " +
                       padded(visible(kind), 15) + "  " + padded(state, 8) + "  " +
                       padded(change.pid > 0 ? std::to_string(change.pid) : "-", 7);
    if (!message.empty()) line += "  " + visible(message);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line;
}

}  // namespace cli
