// The project file as the CLI reads it. A mistake in the file is an error in
// a file (exit 1), not a bad command line (exit 2), though the library calls
// both EINVALID: these rethrow its errors as SHAREDSERVER_ERROR.
#pragma once

#include <optional>
#include <string>

#include <sharedserver/sharedserver.hpp>

namespace cli {

// config "": $SHAREDSERVER_CONFIG, else the files looked for from start_dir
// ("" : here) up, else the user's servers.json (sharedserver_project_open).
// The keys the loader ignored are printed on stderr, one warning each,
// unless the caller shows them itself (`up`'s report carries them).
std::optional<sharedserver::Project> find_project(const std::string &config, const std::string &start_dir = {},
                                                  bool print_warnings = true);

}  // namespace cli
