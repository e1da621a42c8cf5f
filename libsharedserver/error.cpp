#include "error.hpp"

#include <cstring>

#include "names.hpp"

namespace sharedserver {

std::unexpected<Error> fail_errno(int code, const std::string &what, const std::string &path,
                                  int err) {
    std::string message = what;
    if (!path.empty()) message += (message.empty() ? "" : " ") + escape_controls(path);
    message += ": ";
    message += std::strerror(err);
    return fail(code, std::move(message), err, path);
}

}  // namespace sharedserver
