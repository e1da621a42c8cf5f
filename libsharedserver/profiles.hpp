// Profiles: `up` brings up every server of a profile plus every server no
// profile names (upstream's "universal" servers), for one client; `down`
// releases what `up` took for it (up_claims). Partial failure does not stop
// the rest: the report says, per server, what happened and why.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client_use.hpp"
#include "error.hpp"
#include "lifecycle.hpp"
#include "project.hpp"

namespace sharedserver {

struct ProfileSelection {
    std::vector<const ProjectServer *> servers;  // sorted by name
    std::vector<std::string> warnings;           // an unknown profile, a name no server has
};

// The profile's servers plus those no profile names; profile "": only those.
ProfileSelection select_profile(const Project &project, const std::string &profile);

// Why `up` skips the server whatever its profile ("$X is set: another host
// runs it"); "" when it does not.
std::string skip_reason(const Definition &def);

// Whether `up` without a profile brings it up: no profile names it and it is
// not skipped. What a host without a profile of its own (the Neovim plugin
// without `profile`) registers.
bool comes_up_without_a_profile(const Project &project, const std::string &name);

struct ServerOutcome {
    std::string name;
    std::string outcome;  // up: started, attached, skipped, failed; down: released, skipped, failed
    std::string reason;   // why it was skipped or failed; "" otherwise
    int64_t pid = 0;      // the server's, after up started or attached it
};

struct ProfileReport {
    std::string profile;
    std::string config;  // the file up read; "" for down
    std::vector<ServerOutcome> servers;
    std::vector<std::string> warnings;

    std::size_t count(const std::string &outcome) const;
    // {"profile", "config", "servers": [{name, outcome, reason, pid}],
    //  "warnings", "started"|"released", "attached", "skipped", "failed"}
    nlohmann::json to_json() const;
};

// Fails as a whole only when the client is not a live process or what up
// took cannot be recorded; each server's failure is in the report.
Result<ProfileReport> profile_up(Lifecycle &lifecycle, const Project &project, const std::string &profile,
                                 const ClientOptions &client);
Result<ProfileReport> profile_down(Lifecycle &lifecycle, const std::string &profile, const ClientOptions &client);

}  // namespace sharedserver
