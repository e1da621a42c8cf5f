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
