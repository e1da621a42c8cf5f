#include "duration.hpp"

#include <limits>

#include "names.hpp"

namespace sharedserver {

namespace {

struct Unit {
    std::string_view suffix;
    int64_t ms;
};

// Longest suffix first so "ms" is not read as "m" followed by garbage.
constexpr Unit units[] = {{"ms", 1}, {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}};

}  // namespace

Result<int64_t> parse_duration(std::string_view text, std::string_view what) {
    auto invalid = [&] {
        return fail(SHAREDSERVER_EINVALID,
                    "invalid " + std::string(what) + " " + quote(text) +
                        ": expected a number followed by ms, s, m, h or d (e.g. 500ms, 90s, 30m, 2h30m)");
    };
    if (text.empty()) return invalid();
    int64_t total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] < '0' || text[i] > '9') return invalid();
        int64_t number = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            if (number > std::numeric_limits<int64_t>::max() / 10 / 86'400'000) return invalid();
            number = number * 10 + (text[i] - '0');
            ++i;
        }
        const Unit *unit = nullptr;
        for (const Unit &u : units)
            if (text.substr(i, u.suffix.size()) == u.suffix) {
                unit = &u;
                break;
            }
        if (!unit) return invalid();
        i += unit->suffix.size();
        if (number > max_duration_ms / unit->ms) return invalid();
        total += number * unit->ms;
        if (total < 0 || total > max_duration_ms) return invalid();
    }
    return total;
}

std::string format_duration(int64_t ms) {
    if (ms <= 0) return "0s";
    if (ms > max_duration_ms) ms = max_duration_ms;  // else the text would not parse back
    std::string out;
    for (const Unit &u : {units[1], units[2], units[3], units[4], units[0]}) {
        if (ms >= u.ms) {
            out += std::to_string(ms / u.ms) + std::string(u.suffix);
            ms %= u.ms;
        }
    }
    return out;
}

}  // namespace sharedserver
