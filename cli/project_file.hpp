// The project file as the CLI reads it. A mistake in the file is an error in
// a file (exit 1), not a bad command line (exit 2), though the library calls
// both EINVALID: these rethrow its errors as SHAREDSERVER_ERROR.
#pragma once

#include <optional>
#include <string>

#include <sharedserver/sharedserver.hpp>

namespace cli {

// config "": $SHAREDSERVER_CONFIG, else sharedserver.json here or above.
std::optional<sharedserver::Project> find_project(const std::string &config);

}  // namespace cli
