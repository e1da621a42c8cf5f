#include "profile_report.hpp"

#include <iostream>

#include <nlohmann/json.hpp>

#include "command.hpp"

namespace cli {

int print_profile_report(const std::string &report_json, bool as_json, const char *const *counted) {
    auto report = nlohmann::json::parse(report_json);
    int status = report.value("failed", 0) > 0 ? exit_failure : 0;
    if (as_json) {
        std::cout << report.dump() << "\n";
        return status;
    }
    for (const auto &line : report["warnings"]) warn(line.get<std::string>());
    for (const auto &server : report["servers"])
        if (server.value("outcome", "") == "failed")
            fail(server.value("name", "") + ": " + server.value("reason", ""));
    std::string summary;
    for (const char *const *word = counted; *word; ++word)
        if (int n = report.value(*word, 0); n > 0) summary += (summary.empty() ? "" : ", ") + std::string(*word) + " " + std::to_string(n);
    std::string profile = report.value("profile", "");
    std::cout << (profile.empty() ? std::string("no profile") : "profile '" + profile + "'") << ": "
              << (summary.empty() ? "nothing to do" : summary) << "\n";
    return status;
}

}  // namespace cli
