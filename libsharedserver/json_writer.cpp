#include "json_writer.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "spec_limits.hpp"

namespace sharedserver {

namespace {

void append_escaped(std::string &out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0xf];
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
}

}  // namespace

void JsonWriter::separate() {
    if (!first_) out_ += ',';
    first_ = false;
}

JsonWriter &JsonWriter::begin_object() {
    separate();
    out_ += '{';
    first_ = true;
    return *this;
}

JsonWriter &JsonWriter::end_object() {
    out_ += '}';
    first_ = false;
    return *this;
}

JsonWriter &JsonWriter::begin_array() {
    separate();
    out_ += '[';
    first_ = true;
    return *this;
}

JsonWriter &JsonWriter::end_array() {
    out_ += ']';
    first_ = false;
    return *this;
}

JsonWriter &JsonWriter::key(std::string_view name) {
    separate();
    append_escaped(out_, name);
    out_ += ':';
    first_ = true;  // the value that follows takes no comma
    return *this;
}

JsonWriter &JsonWriter::value(std::string_view text) {
    separate();
    bool ascii = true;
    for (char ch : text) ascii = ascii && static_cast<unsigned char>(ch) < 0x80;
    if (ascii || invalid_utf8_at(std::string(text)) == std::string::npos)
        append_escaped(out_, text);
    else  // rare: let the JSON library replace what is not UTF-8
        out_ += nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return *this;
}

template <class Integer>
JsonWriter &JsonWriter::digits(Integer number) {
    separate();
    char text[24];
    auto end = std::to_chars(text, text + sizeof text, number).ptr;
    out_.append(text, end);
    return *this;
}

JsonWriter &JsonWriter::value(int64_t number) { return digits(number); }

JsonWriter &JsonWriter::value(uint64_t number) { return digits(number); }

JsonWriter &JsonWriter::value(bool flag) {
    separate();
    out_ += flag ? "true" : "false";
    return *this;
}

JsonWriter &JsonWriter::null() {
    separate();
    out_ += "null";
    return *this;
}

JsonWriter &JsonWriter::strings(const std::vector<std::string> &texts) {
    begin_array();
    for (const auto &text : texts) value(std::string_view(text));
    return end_array();
}

}  // namespace sharedserver
