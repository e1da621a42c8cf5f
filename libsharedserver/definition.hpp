// A server definition: the one document every client gives (a project file's
// "servers" entry, the C ABI's JSON text, the CLI's flags, Lua tables, Python
// keyword arguments), read by one table of keys with one set of names,
// defaults, limits and error texts. Adding an option is one entry here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "records.hpp"

namespace sharedserver {

struct Project;

struct Definition {
    // Unset numbers are -1 and unset strings empty: normalize_spec (at use
    // time, when the name is known) fills them in.
    ServerSpec spec = unset_spec();
    bool lazy = false;
    int on_mismatch = SHAREDSERVER_MISMATCH_WARN;
    // false: the working dir is the caller's, not a wish to compare with a
    // running server's.
    bool working_dir_given = false;
    // What `up` brings besides the server: the client's metadata, and the
    // variable whose non-empty value means another host runs this server.
    std::string metadata;
    std::string skip_if_env;
    // Who registered the entry (`config register --scope`): kept, not used to run.
    std::string scope;
    // The project file it came from, where its depends_on names are looked
    // up first (a snapshot whose own definitions have none); null otherwise.
    std::shared_ptr<const Project> project;

    static ServerSpec unset_spec();
    bool operator==(const Definition &) const = default;
};

// One key of the table, as sharedserver_definition_keys() lists it.
struct DefinitionKeyInfo {
    std::string key;
    std::string type;          // "string", "duration", "size", "port", ...
    std::string default_text;  // "" when there is none
    std::string doc;
    std::string alias_of;      // "" unless this key is another name for alias_of
};

const std::vector<DefinitionKeyInfo> &definition_keys();
// A JSON array of {key, type, default, doc[, alias_of]}.
std::string definition_keys_json();

// Errors are SHAREDSERVER_EINVALID; the message starts with the key path
// ("ready.port: ...") and Error::key holds it. base_dir resolves a relative
// working_dir and log_file ("" : the current directory).
// unknown_keys non-null: a key the table does not know is appended there
// (a file written for a newer version still loads) instead of failing.
Result<Definition> parse_definition(const nlohmann::json &doc, const std::string &base_dir,
                                    std::vector<std::string> *unknown_keys = nullptr);
Result<Definition> parse_definition_text(const std::string &text, const std::string &base_dir);

// The checks every definition passes whoever built it (the JSON reader, the
// old use options): env entries, port, probe, restart policy, sizes, UTF-8.
// Messages start with the key they are about (limits of a named server's
// definition name the server and the part instead); Error::key is set.
Status validate_definition(const ServerSpec &spec, const std::string &name = {});

// The liveness probe's checks (part of validate_definition): a kind that
// can be repeated, its target, an interval no shorter than 100ms.
Status validate_liveness(const LivenessProbe &liveness, bool has_port);

// Defaults that do not depend on the server's name or the caller's
// directory (grace period, probe timeouts, restart limits, log size).
ServerSpec with_defaults(ServerSpec spec);

// The definition as JSON with its defaults filled in; parse_definition reads
// it back to the same definition.
nlohmann::json definition_to_json(const Definition &def);

// Parses "10M", "512K", "1G", "4096", "4096B" into bytes.
Result<int64_t> parse_size(const std::string &text);

}  // namespace sharedserver
