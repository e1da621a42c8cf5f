// What `up` took for each client, so that `down` releases exactly that: a
// config edited between the two, or another profile of the same client that
// shares a server, never changes what one `down` lets go.
// <state dir>/.up/<pid>-<start stamp>.json: {"profiles": {"<profile>": [names]}};
// .up/lock serialises the read-modify-writes (held for no transaction).
#pragma once

#include <string>
#include <vector>

#include "error.hpp"
#include "process.hpp"

namespace sharedserver {

// Adds `names` to what `profile` took for `client`.
Status record_up_claims(const std::string &state_dir, const ProcessId &client, const std::string &profile,
                        const std::vector<std::string> &names);

struct DownClaims {
    std::vector<std::string> release;  // taken by this profile only
    // Taken by this profile and still by another of the same client: kept.
    std::vector<std::pair<std::string, std::string>> kept;  // name, the other profile
};

// Forgets what `profile` took for `client` and says what to release.
Result<DownClaims> take_down_claims(const std::string &state_dir, const ProcessId &client, const std::string &profile);

}  // namespace sharedserver
