// libFuzzer target: server-name validation and quoting. A name that passes is
// 1-64 characters of [A-Za-z0-9._-] not starting with '.', so it is a safe
// file-name component; quote() never lets a control character through.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "names.hpp"

using namespace sharedserver;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view name(reinterpret_cast<const char *>(data), size);
    auto valid = validate_name(name);
    if (valid) {
        if (name.empty() || name.size() > max_name_length || name.front() == '.') std::abort();
        for (char c : name) {
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
            if (!ok) std::abort();
        }
        if (name == "." || name == ".." || name.find('/') != std::string_view::npos) std::abort();
    } else {
        if (valid.error().code != SHAREDSERVER_EINVALID) std::abort();
        for (unsigned char c : valid.error().message)
            if (c < 0x20 || c == 0x7f) std::abort();  // the message escapes the name
    }
    const std::string quoted = quote(name);
    if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') std::abort();
    for (unsigned char c : quoted)
        if (c < 0x20 || c == 0x7f) std::abort();
    return 0;
}
