#include "option_values.hpp"

#include <limits>
#include <stdexcept>

#include <sharedserver/sharedserver.hpp>

namespace cli {

namespace {

[[noreturn]] void invalid(const std::string &message) { throw sharedserver::Error(SHAREDSERVER_EINVALID, message, 0, ""); }

}  // namespace

int64_t duration_option(const std::string &option, const std::string &text) {
    try {
        return sharedserver::parse_duration(text);
    } catch (const sharedserver::Error &e) {
        throw sharedserver::Error(e.code(), option + ": " + e.what(), 0, "");
    }
}

int port_option(const std::string &option, const std::string &text) {
    if (text == "auto") return SHAREDSERVER_PORT_AUTO;
    std::size_t used = 0;
    int port = 0;
    try {
        port = std::stoi(text, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used != text.size() || port < 1 || port > 65535)
        invalid(option + ": invalid port \"" + text + "\": expected auto or a number from 1 to 65535");
    return port;
}

int64_t size_option(const std::string &option, const std::string &text) {
    std::size_t used = 0;
    long long number = -1;
    try {
        number = std::stoll(text, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    std::string unit = text.substr(used);
    int64_t scale = unit.empty() || unit == "B" ? 1
                    : unit == "K"               ? 1024
                    : unit == "M"               ? 1024 * 1024
                    : unit == "G"               ? 1024LL * 1024 * 1024
                                                : -1;
    if (used == 0 || number < 0 || scale < 0 || number > (int64_t{1} << 50) / scale)
        invalid(option + ": invalid size \"" + text + "\": expected bytes or a number with K, M or G (e.g. 10M)");
    return number * scale;
}

// CLI11's own range check spelled out the largest double: a 408-character line.
int64_t number_option(const std::string &option, const std::string &text, int64_t min, int64_t max,
                      const std::string &expected) {
    std::size_t used = 0;
    long long number = 0;
    bool too_large = false;
    try {
        number = std::stoll(text, &used);
    } catch (const std::out_of_range &) {
        too_large = text.find_first_not_of("0123456789") == std::string::npos;
    } catch (const std::exception &) {
        used = 0;
    }
    too_large = too_large || (used == text.size() && number > max);
    if (too_large) invalid(option + ": \"" + text + "\" is too large: expected at most " + std::to_string(max));
    if (text.empty() || used != text.size() || number < min)
        invalid(option + ": invalid value \"" + text + "\": expected " + expected);
    return number;
}

int64_t pid_option(const std::string &text) {
    return number_option("--pid", text, 1, std::numeric_limits<int32_t>::max(), "a process id (a positive whole number)");
}

}  // namespace cli
