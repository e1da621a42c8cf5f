// Server names: the one piece of user input that becomes a file name.
#pragma once

#include <string>
#include <string_view>

#include "error.hpp"

namespace sharedserver {

inline constexpr std::size_t max_name_length = 64;

// 1–64 characters of [A-Za-z0-9._-], not starting with '.'.
Status validate_name(std::string_view name);

// The name as it appears in messages: quoted, control characters escaped.
std::string quote(std::string_view text);

// Text as it may appear on a terminal: control characters as \xNN, nothing else changed.
std::string escape_controls(std::string_view text);

}  // namespace sharedserver
