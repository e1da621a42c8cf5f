// How `up` and `down` show the library's report: warnings and one line per
// failure on stderr, one summary line on stdout (or the report as JSON).
#pragma once

#include <string>

namespace cli {

// Returns the exit status: 1 when a server failed, else 0.
int print_profile_report(const std::string &report_json, bool as_json, const char *const *counted);

}  // namespace cli
