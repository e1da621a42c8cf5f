// The config edit verbs (`config register/unregister`, `config profile
// add/remove`): JSON operations on the file as written, so a rewrite keeps
// every key and entry it does not model (in their order). Each edit holds
// flock on the file's directory (the file itself is replaced atomically).
#pragma once

#include <string>
#include <vector>

#include "error.hpp"

namespace sharedserver {

// The file an edit writes: the config discovery finds, else the user's
// ($XDG_CONFIG_HOME/sharedserver/servers.json, else ~/.config/...).
Result<std::string> config_file_to_edit(const std::string &explicit_path, const std::string &start_dir);

// Adds (or, for the same scope, replaces) servers.<name>, stamped with
// "_scope": scope, and adds it to each profile. A name another scope (or a
// hand-written entry) defines is refused, unless if_absent: then it is kept
// and only the profiles change. The entry is checked by the definition table
// first. Returns "registered", "replaced" or "kept".
Result<std::string> config_register(const std::string &path, const std::string &scope, const std::string &name,
                                    const std::string &entry_json, const std::vector<std::string> &profiles,
                                    bool if_absent);

// Removes scope's entry `name` (every entry of scope when name is empty)
// and the names from every profile (dropping profiles left empty). Returns
// the names removed.
Result<std::vector<std::string>> config_unregister(const std::string &path, const std::string &scope,
                                                   const std::string &name);

// Adds the names to the profile (created when missing), or removes them
// (the profile dropped when left empty).
Status config_profile_edit(const std::string &path, const std::string &profile, const std::vector<std::string> &names,
                           bool add);

}  // namespace sharedserver
