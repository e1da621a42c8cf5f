// The core's error type: a C error code plus a one-line message that names the
// bad input and what to do. Every fallible core function returns Result<T>.
#pragma once

#include <expected>
#include <string>
#include <utility>

#include "sharedserver/sharedserver.h"

namespace sharedserver {

struct Error {
    int code = SHAREDSERVER_ERROR;
    std::string message;
    int sys_errno = 0;   // the errno behind an I/O or spawn failure
    std::string path;    // the file or command the failure is about
    std::string key;     // the definition key a bad input came in ("ready.port"), else ""
};

template <class T>
using Result = std::expected<T, Error>;

using Status = Result<void>;

inline std::unexpected<Error> fail(int code, std::string message, int sys_errno = 0,
                                   std::string path = {}) {
    return std::unexpected(Error{code, std::move(message), sys_errno, std::move(path), {}});
}

// "cannot open /x: Permission denied", keeping errno and path for bindings.
std::unexpected<Error> fail_errno(int code, const std::string &what, const std::string &path,
                                  int err);

}  // namespace sharedserver
