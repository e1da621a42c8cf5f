// The library phrases its messages for every client (Neovim, Python, C);
// here the CLI adds its own words: the flags and commands that fix the
// problem, chosen by the error's code and definition key.
#pragma once

#include <string>

#include "sharedserver/sharedserver.hpp"

// The message to print for `error`, raised for server `name` ("" when the
// command names none; the message's own `server "x"` is used then).
std::string cli_message(const sharedserver::Error &error, const std::string &name);

// A record's problem as the library reported it outside an error (a
// `corrupt` row of list, what doctor cannot repair), in the CLI's words.
std::string cli_record_problem(const std::string &message);
