// Reads a server record straight into ServerRecord as the JSON is scanned:
// every `use`, `list` and watcher wake-up reads records, and building a
// document tree first took half of what reading one cost.
#pragma once

#include <string>

#include "error.hpp"
#include "records.hpp"

namespace sharedserver {

// Why the text is not a server record ("not a JSON object", "pid is not
// an integer", ...), or "" with `record` filled. Unknown keys are skipped:
// a newer writer may add some.
std::string read_server_record(ServerRecord &record, const std::string &text);

}  // namespace sharedserver
