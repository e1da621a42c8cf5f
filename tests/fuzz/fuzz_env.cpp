// libFuzzer target: --env KEY=VALUE entries and the rest of a spec's
// normalisation (normalize_spec), plus describe_mismatch. Input: lines; the
// first is argv[0], lines starting with "E" are env entries, "W" a working
// dir, "L" a log file, the rest more arguments. An accepted spec has only
// KEY=VALUE entries with a non-empty key, an absolute working dir and log file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "lifecycle.hpp"

using namespace sharedserver;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    ServerSpec spec;
    std::size_t begin = 0;
    bool first = true;
    while (begin <= text.size()) {
        std::size_t end = text.find('\n', begin);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(begin, end - begin);
        begin = end + 1;
        if (first) {
            spec.argv.push_back(line);
            first = false;
        } else if (!line.empty() && line[0] == 'E') {
            spec.env.push_back(line.substr(1));
        } else if (!line.empty() && line[0] == 'W') {
            spec.working_dir = line.substr(1);
        } else if (!line.empty() && line[0] == 'L') {
            spec.log_file = line.substr(1);
        } else {
            spec.argv.push_back(line);
        }
    }
    spec.grace_period_ms = size % 3 == 0 ? -1 : static_cast<int64_t>(size);
    ServerFiles files{"/nonexistent-state-dir", "fuzz"};
    auto normalized = normalize_spec(spec, files);
    if (normalized) {
        if (normalized->argv.empty() || normalized->argv.front().empty()) std::abort();
        for (const auto &entry : normalized->env) {
            auto eq = entry.find('=');
            if (eq == std::string::npos || eq == 0) std::abort();
        }
        if (normalized->working_dir.empty() || normalized->working_dir.front() != '/') std::abort();
        if (normalized->log_file.empty() || normalized->log_file.front() != '/') std::abort();
        if (normalized->grace_period_ms < 0) std::abort();
        if (!describe_mismatch(*normalized, *normalized).empty()) std::abort();
        (void)describe_mismatch(*normalized, spec);
    } else {
        if (normalized.error().code != SHAREDSERVER_EINVALID) std::abort();
        for (unsigned char c : normalized.error().message)
            if (c < 0x20 || c == 0x7f) std::abort();
    }
    return 0;
}
