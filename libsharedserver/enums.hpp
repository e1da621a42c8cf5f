// The one table of the C ABI's enums: each value with the word users see and
// give ("on-failure", "not-running"). The definition reader, the messages
// and every binding (through sharedserver_enum_*) take names from here.
#pragma once

#include <span>
#include <string>

#include "error.hpp"

namespace sharedserver {

struct EnumEntry {
    int value;
    const char *name;
};

// Empty for an unknown kind (sharedserver_enum_kind).
std::span<const EnumEntry> enum_entries(int kind);

// "" when `value` has no name.
const char *enum_name(int kind, int value);

// SHAREDSERVER_EINVALID listing the names when `name` is none of them.
Result<int> enum_parse(int kind, const std::string &name);

// "\"no\", \"on-failure\" or \"always\"".
std::string enum_choices(int kind);

}  // namespace sharedserver
