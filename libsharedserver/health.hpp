// Whether a state directory can be used, judged once in the core so that
// `admin doctor`, `:checkhealth` and any program show the same verdict.
#pragma once

#include <string>

namespace sharedserver {

// {"state_dir", "ok", "problems": [one line each], "watcher", "free_bytes",
//  "mode", "owner_uid", "uid", "corrupt": [names]}
std::string state_dir_health_json(const std::string &dir, const std::string &watcher_path);

}  // namespace sharedserver
