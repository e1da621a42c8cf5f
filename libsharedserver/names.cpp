#include "names.hpp"

#include <cstdio>

namespace sharedserver {

namespace {

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

}  // namespace

std::string quote(std::string_view text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string escape_controls(std::string_view text) {
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

Status validate_name(std::string_view name) {
    const std::string hint = ": use 1-64 characters of letters, digits, '.', '_' or '-', not starting with '.'";
    if (name.empty()) return fail(SHAREDSERVER_EINVALID, "invalid server name \"\"" + hint);
    if (name.size() > max_name_length)
        return fail(SHAREDSERVER_EINVALID, "invalid server name " + quote(name) + ": longer than 64 characters" + hint);
    if (name.front() == '.')
        return fail(SHAREDSERVER_EINVALID, "invalid server name " + quote(name) + ": starts with '.'" + hint);
    for (char c : name)
        if (!is_name_char(c))
            return fail(SHAREDSERVER_EINVALID, "invalid server name " + quote(name) + hint);
    return {};
}

}  // namespace sharedserver
