#include <doctest/doctest.h>

#include <string>

#include "names.hpp"

using namespace sharedserver;

namespace {

const std::string hint = ": use 1-64 characters of letters, digits, '.', '_' or '-', not starting with '.'";

std::string message_for(std::string_view name) {
    auto result = validate_name(name);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == SHAREDSERVER_EINVALID);
    return result.error().message;
}

}  // namespace

TEST_SUITE("names") {

TEST_CASE("names of letters, digits, dots, dashes and underscores are valid") {
    CHECK(validate_name("redis").has_value());
    CHECK(validate_name("a").has_value());
    CHECK(validate_name("Chroma_DB-2.0").has_value());
    CHECK(validate_name("x.").has_value());
    CHECK(validate_name("0").has_value());
    CHECK(validate_name("-dash-first").has_value());
}

TEST_CASE("a name of exactly 64 characters is valid and 65 is one too many") {
    CHECK(validate_name(std::string(64, 'a')).has_value());
    std::string long_name(65, 'a');
    CHECK(message_for(long_name) == "invalid server name \"" + long_name + "\": longer than 64 characters" + hint);
}

TEST_CASE("an empty name is refused with a message naming it") {
    CHECK(message_for("") == "invalid server name \"\"" + hint);
}

TEST_CASE("a name that climbs out of the state directory is refused as starting with a dot") {
    CHECK(message_for("../x") == "invalid server name \"../x\": starts with '.'" + hint);
    CHECK(message_for("..") == "invalid server name \"..\": starts with '.'" + hint);
    CHECK(message_for(".") == "invalid server name \".\": starts with '.'" + hint);
}

TEST_CASE("a hidden-file name is refused") {
    CHECK(message_for(".hidden") == "invalid server name \".hidden\": starts with '.'" + hint);
}

TEST_CASE("a name with a slash is refused") {
    CHECK(message_for("a/b") == "invalid server name \"a/b\"" + hint);
    CHECK(message_for("/etc") == "invalid server name \"/etc\"" + hint);
}

TEST_CASE("control characters are refused and escaped in the message") {
    CHECK(message_for("a\nb") == "invalid server name \"a\\x0ab\"" + hint);
    CHECK(message_for("tab\there") == "invalid server name \"tab\\x09here\"" + hint);
    CHECK(message_for("del\x7f") == "invalid server name \"del\\x7f\"" + hint);
    CHECK(message_for(std::string("nul\0x", 5)) == "invalid server name \"nul\\x00x\"" + hint);
}

TEST_CASE("spaces, quotes and non-ASCII bytes are refused") {
    CHECK(message_for("a b") == "invalid server name \"a b\"" + hint);
    CHECK(message_for("say\"hi\"") == "invalid server name \"say\\\"hi\\\"\"" + hint);
    CHECK(message_for("caf\xc3\xa9") == "invalid server name \"caf\xc3\xa9\"" + hint);
}

TEST_CASE("quote escapes quotes, backslashes and control characters only") {
    CHECK(quote("plain") == "\"plain\"");
    CHECK(quote("a\\b") == "\"a\\\\b\"");
    CHECK(quote("\x1b[0m") == "\"\\x1b[0m\"");
}

}
