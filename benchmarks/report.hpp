// The printed results: the table of rows (with the change against a previous
// run), the side-by-side table of --against, the machine and its noise.
#pragma once

#include "results.hpp"

namespace bench {

// `previous` is an earlier --json result, or null.
void print_report(const json &previous);

}  // namespace bench
