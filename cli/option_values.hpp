// Values of the options that are not part of a definition (the library
// reads those: spec_options.cpp): durations, numbers and pids. Each
// either returns the value or throws an EINVALID sharedserver::Error whose
// one line starts with the option's name.
#pragma once

#include <cstdint>
#include <string>

namespace cli {

// "30m" -> 1800000, with the library's message on a bad one.
int64_t duration_option(const std::string &option, const std::string &text);

// A whole number within [min, max]; `expected` says what one looks like.
int64_t number_option(const std::string &option, const std::string &text, int64_t min, int64_t max,
                      const std::string &expected);

// A client's pid: a positive number (0 and negatives mean something else to the library).
int64_t pid_option(const std::string &text);

}  // namespace cli
