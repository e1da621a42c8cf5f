// What a definition may hold so that every record naming it can be written,
// read back by every reader, and launched as given. A record is JSON text of
// at most max_record_size (files.hpp): a definition past these limits once
// gave a record that its own writer wrote and every reader (the watcher
// included) refused, so `use` printed `started` for a server that was
// stopped at once. Strings must be UTF-8, or JSON would carry replacement
// characters instead of the bytes asked for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "error.hpp"
#include "records.hpp"

namespace sharedserver {

// The command, env, working dir, log file and readiness target together, as
// stored (JSON-escaped). Well below max_record_size, and below half of the
// event log's cap, which keeps the "started" event that names the command.
inline constexpr std::size_t max_definition_size = 64 * 1024;
// A client's metadata, per client (the clients record holds every client).
inline constexpr std::size_t max_metadata_size = 1024;
// The record keeps the time of each restart within the window.
inline constexpr int max_restarts_limit = 1000;

// Checks a normalized definition of server `name`; the error names the part
// at fault and the limit.
Status check_spec_limits(const ServerSpec &spec, const std::string &name);

Status check_metadata(const std::string &metadata);

// The byte offset of the first byte that is not part of valid UTF-8 (no
// overlong forms, surrogates or code points past U+10FFFF); npos if none.
std::size_t invalid_utf8_at(const std::string &text);

}  // namespace sharedserver
