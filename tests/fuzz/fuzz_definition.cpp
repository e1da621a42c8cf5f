// libFuzzer target: the definition reader (sharedserver_definition_parse's
// core). Whatever the bytes, reading gives a definition or EINVALID with a
// one-line message that starts with the key it names (Error::key) and holds
// no raw control characters. A definition read:
//  - passes validate_definition again (there is one validation);
//  - written back by definition_to_json, reads to the same definition with
//    its defaults filled in.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "definition.hpp"

using namespace sharedserver;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    auto def = parse_definition_text(text, "/base");
    if (!def) {
        const Error &e = def.error();
        if (e.code != SHAREDSERVER_EINVALID || e.key.empty()) std::abort();
        if (e.message.compare(0, e.key.size() + 2, e.key + ": ") != 0) std::abort();
        for (unsigned char c : e.message)
            if (c < 0x20 || c == 0x7f) std::abort();
        return 0;
    }
    if (!validate_definition(def->spec)) std::abort();
    auto again = parse_definition(definition_to_json(*def), "/base");
    if (!again) std::abort();
    if (again->spec != with_defaults(def->spec) || again->lazy != def->lazy || again->on_mismatch != def->on_mismatch)
        std::abort();
    return 0;
}
