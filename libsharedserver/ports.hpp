// Allocated ports: a free TCP port on 127.0.0.1 picked at first start, and
// "{port}" substituted into the command, env values and probe target.
#pragma once

#include <string>

#include "error.hpp"
#include "records.hpp"

namespace sharedserver {

// A port nobody listens on right now (the kernel's choice for bind(0)).
Result<int> allocate_free_port();

std::string substitute_port(const std::string &text, int port);

// The spec as launched: {port} replaced everywhere and SHAREDSERVER_PORT set.
ServerSpec spec_for_port(const ServerSpec &spec, int port);

}  // namespace sharedserver
