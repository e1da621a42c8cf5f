// Presentation for the CLI: aligned tables, colour only on a terminal and
// never with NO_COLOR, and human durations and times.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <sharedserver/sharedserver.hpp>

namespace cli {

bool colour_enabled();

// Wraps text in an ANSI colour when colour is enabled.
std::string paint(const std::string &text, const char *ansi);

// "2h 15m", "45m 32s", "12s".
std::string human_span(int64_t ms);

// Local time as "2026-11-26 05:50:01".
std::string local_time(int64_t unix_ms);

std::string state_label(sharedserver::State state);

// Columns padded to their widest cell (by display width, so ● and ⏳ align).
std::string table(const std::vector<std::vector<std::string>> &rows);

std::string join_command(const std::vector<std::string> &argv);

// ", port 6379", or "" without a port.
std::string port_phrase(int port);

// "1 client", "3 clients".
std::string clients_phrase(std::size_t n);

// Progress is drawn on stderr when it is a terminal (and NO_COLOR does not
// matter: a spinner is not colour).
bool progress_enabled();

// "⠋ starting web… 1.2s  <newest log line>", redrawn in place.
class Spinner {
public:
    explicit Spinner(std::string name) : name_(std::move(name)) {}
    void update(int64_t elapsed_ms, const std::string &newest_log_line);
    void finish();

private:
    std::string name_;
    std::size_t frame_ = 0;
    bool drawn_ = false;
};

// `defined`: the servers the current project file defines; they are marked
// (and shown even when stopped).
// `defined`: the names the config file `defined_in` (as shown) defines, marked with *.
void print_list(const std::vector<sharedserver::Info> &servers, const std::vector<std::string> &defined = {},
                const std::string &defined_in = {});
void print_info(const sharedserver::Info &info);
void print_events(const std::string &jsonl);
// One line of `events`: time, name, event, state, pid and the event's
// message (its reason, what was repaired, the error, or how it exited).
std::string change_line(const sharedserver::Change &change);

}  // namespace cli
