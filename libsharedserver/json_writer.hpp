// A JSON writer that appends to a string as it goes: `list --json` of a
// thousand servers built a document tree per server only to print it, a
// third of the command's instructions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sharedserver {

class JsonWriter {
public:
    explicit JsonWriter(std::string &out) : out_(out) {}

    JsonWriter &begin_object();
    JsonWriter &end_object();
    JsonWriter &begin_array();
    JsonWriter &end_array();
    // Keys are written as given: callers name them with literals.
    JsonWriter &key(std::string_view name);
    JsonWriter &value(std::string_view text);  // invalid UTF-8 becomes U+FFFD
    JsonWriter &value(const char *text) { return value(std::string_view(text)); }
    JsonWriter &value(int64_t number);
    JsonWriter &value(uint64_t number);
    JsonWriter &value(bool flag);
    JsonWriter &null();
    JsonWriter &strings(const std::vector<std::string> &texts);

private:
    void separate();
    template <class Integer>
    JsonWriter &digits(Integer number);

    std::string &out_;
    bool first_ = true;  // nothing written yet in the innermost object or array
};

}  // namespace sharedserver
