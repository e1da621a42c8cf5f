// How a section gives up: a Failure names what went wrong; the runner reports
// it as one ERROR line and goes on with the next section.
#pragma once

#include <sharedserver/sharedserver.h>

#include <stdexcept>
#include <string>

namespace bench {

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A C API result: negative is a Failure carrying the library's message.
inline void check(int rc, const std::string &what) {
    if (rc < 0) throw Failure(what + ": " + sharedserver_error_last() + " (code " + std::to_string(rc) + ")");
}

}  // namespace bench
