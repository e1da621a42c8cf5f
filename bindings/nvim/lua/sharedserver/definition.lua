-- One server's table as given to setup()/register(): checked and converted to
-- the fields of the library's use options.

local U = require("sharedserver.util")

local D = {}

local OPTION_TYPES = {
  name = "string",
  command = "string",
  args = "list of strings",
  env = "table of strings",
  log_file = "string",
  lazy = "boolean",
  working_dir = "string",
  idle_timeout = "duration string",
  on_start = "function",
  on_ready = "function",
  on_exit = "function",
  ready = "table",
  port = '"auto" or a port number',
  restart = '"no", "on-failure" or "always"',
  max_restarts = "non-negative integer",
  restart_window = "duration string",
  on_mismatch = '"warn", "error" or "restart"',
  log_max_size = "non-negative integer (bytes)",
}
local MISMATCH_MODES = { warn = "WARN", error = "ERROR", restart = "RESTART" }

-- The keys of the `ready` option: one probe, plus its timing.
local PROBE_KEYS = { port = "PORT", socket = "SOCKET", http = "HTTP", cmd = "COMMAND", log = "LOG" }
local READY_KEYS = { port = true, socket = true, http = true, cmd = true, log = true, timeout = true, interval = true }
local RESTART_POLICIES = { no = "NO", ["on-failure"] = "ON_FAILURE", always = "ALWAYS" }

local function is_list_of_strings(v)
  if type(v) ~= "table" then
    return false
  end
  local n = 0
  for _ in pairs(v) do
    n = n + 1
  end
  if n ~= #v then
    return false
  end
  for _, a in ipairs(v) do
    if type(a) ~= "string" and type(a) ~= "number" then
      return false
    end
  end
  return true
end

local function is_env_table(v)
  if type(v) ~= "table" then
    return false
  end
  for k, val in pairs(v) do
    if type(k) ~= "string" or k == "" or k:find("=", 1, true) then
      return false
    end
    if type(val) ~= "string" and type(val) ~= "number" then
      return false
    end
  end
  return true
end

-- The `ready` option as use-option fields ({ kind, probe, target, timeout_ms,
-- interval_ms }), or nil and what is wrong with it. `s` is the server so far.
local function validate_ready(ready, s, f)
  local probes = {}
  for key in pairs(ready) do
    if not READY_KEYS[key] then
      return nil,
        ("unknown key '%s' (known: %s)"):format(tostring(key), table.concat(U.sorted_keys(READY_KEYS), ", "))
    end
    if PROBE_KEYS[key] then
      probes[#probes + 1] = key
    end
  end
  if #probes ~= 1 then
    table.sort(probes)
    return nil,
      ("give exactly one probe of port, socket, http, cmd or log, got %s"):format(
        #probes == 0 and "none" or table.concat(probes, ", ")
      )
  end
  local probe = probes[1]
  local value = ready[probe]
  local r = { probe = probe, kind = f and f.PROBE[PROBE_KEYS[probe]] }
  if probe == "port" then
    if value == true or value == "auto" then
      if s.port == nil then
        return nil, ("port = %s probes the server's port, but it has none: add port = \"auto\" or port = N"):format(
          vim.inspect(value)
        )
      end
      r.target = ""
      r.description = "port " .. (s.port == -1 and "auto" or tostring(s.port))
    elseif type(value) == "number" and value % 1 == 0 and value >= 1 and value <= 65535 then
      r.target = tostring(value)
    else
      return nil, ("'port' must be a port number, true or \"auto\", got %s %s"):format(type(value), vim.inspect(value))
    end
  elseif type(value) ~= "string" or value == "" then
    return nil, ("'%s' must be a non-empty string, got %s %s"):format(probe, type(value), vim.inspect(value))
  else
    r.target = value
  end
  r.description = r.description or (probe .. " " .. r.target)
  for _, key in ipairs({ "timeout", "interval" }) do
    local v = ready[key]
    if v ~= nil then
      if type(v) ~= "string" then
        return nil, ("'%s' must be a duration string such as \"30s\", got %s %s"):format(key, type(v), vim.inspect(v))
      end
      if f then
        local ms, err = f.duration_parse(v)
        if not ms then
          return nil, ("'%s': %s"):format(key, U.bare(err))
        end
        r[key .. "_ms"] = ms
      end
    end
  end
  return r
end

--- A checked copy of one server's configuration, or nil and the problem.
--- `f` is sharedserver.ffi with the library loaded, or nil before VimEnter
--- (loading it is most of what the plugin would cost startup): names and
--- durations, which the library checks, are then checked again later
--- (the copy's `checked` is false).
function D.check(name, config, f)
  local where = ("sharedserver: server '%s'"):format(tostring(name))
  if type(name) ~= "string" then
    return nil, ("sharedserver: server names must be strings, got %s"):format(type(name))
  end
  if f then
    local ok, err = f.name_validate(name)
    if not ok then
      return nil, ("%s: %s"):format(where, U.bare(err))
    end
  end
  if type(config) ~= "table" then
    return nil, ("%s: the configuration must be a table, got %s"):format(where, type(config))
  end
  for key, value in pairs(config) do
    local want = OPTION_TYPES[key]
    if not want then
      return nil,
        ("%s: unknown option '%s' (known options: %s)"):format(
          where,
          tostring(key),
          table.concat(U.sorted_keys(OPTION_TYPES), ", ")
        )
    end
    local good
    if want == "list of strings" then
      good = is_list_of_strings(value)
    elseif want == "table of strings" then
      good = is_env_table(value)
    elseif want == "duration string" then
      good = type(value) == "string"
    elseif key == "port" then
      good = value == "auto" or (type(value) == "number" and value % 1 == 0 and value >= 1 and value <= 65535)
    elseif key == "restart" then
      good = RESTART_POLICIES[value] ~= nil
    elseif key == "max_restarts" or key == "log_max_size" then
      good = type(value) == "number" and value % 1 == 0 and value >= 0
    elseif key == "on_mismatch" then
      good = MISMATCH_MODES[value] ~= nil
    else
      good = type(value) == want
    end
    if not good then
      return nil,
        ("%s: option '%s' must be %s%s, got %s %s"):format(
          where,
          key,
          want:find('^"') and "" or "a ",
          want,
          type(value),
          vim.inspect(value)
        )
    end
  end
  if config.command == nil or config.command == "" then
    return nil, ("%s: option 'command' is required (the program to run, e.g. command = \"redis-server\")"):format(where)
  end
  local s = {
    name = name,
    command = config.command,
    args = {},
    env = config.env or {},
    lazy = config.lazy or false,
    idle_timeout = config.idle_timeout,
    on_start = config.on_start,
    on_ready = config.on_ready,
    on_exit = config.on_exit,
  }
  for _, a in ipairs(config.args or {}) do
    s.args[#s.args + 1] = tostring(a)
  end
  if config.working_dir then
    s.working_dir = U.expand_path(config.working_dir)
  end
  if config.log_file then
    s.log_file = U.expand_path(config.log_file)
  end
  if config.idle_timeout and f then
    local ms, err = f.duration_parse(config.idle_timeout)
    if not ms then
      return nil, ("%s: option 'idle_timeout': %s"):format(where, U.bare(err))
    end
    s.grace_period_ms = ms
  end
  if config.port ~= nil then
    s.port = config.port == "auto" and -1 or config.port
    s.port_text = tostring(config.port)
  end
  if config.restart ~= nil then
    s.restart = config.restart
    s.restart_policy = f and f.RESTART[RESTART_POLICIES[config.restart]]
  end
  s.max_restarts = config.max_restarts
  if config.on_mismatch ~= nil then
    s.mismatch_mode = config.on_mismatch
    s.on_mismatch = f and f.MISMATCH[MISMATCH_MODES[config.on_mismatch]]
  end
  s.log_max_size = config.log_max_size
  if config.restart_window and f then
    local ms, err = f.duration_parse(config.restart_window)
    if not ms then
      return nil, ("%s: option 'restart_window': %s"):format(where, U.bare(err))
    end
    s.restart_window_ms = ms
  end
  if config.ready ~= nil then
    local ready, err = validate_ready(config.ready, s, f)
    if not ready then
      return nil, ("%s: option 'ready': %s"):format(where, err)
    end
    s.ready = ready
  end
  s.raw = config
  s.checked = f ~= nil
  return s
end

--- A server defined by the project file: its definition is used as the
--- library read it (already checked), converted to the shape of a checked one.
function D.from_project(name, spec, path)
  local argv = spec.argv or {}
  local s = {
    name = name,
    command = argv[1],
    args = { unpack(argv, 2) },
    env = spec.env or {},
    lazy = spec.lazy or false,
    working_dir = spec.working_dir,
    log_file = spec.log_file,
    grace_period_ms = spec.grace_period_ms,
    project = path,
    project_spec = spec,
    checked = true,
  }
  if spec.port and spec.port ~= 0 then
    s.port = spec.port
    s.port_text = spec.port == -1 and "auto" or tostring(spec.port)
  end
  return s
end

--- The spec for the library's use() of a checked definition; `client` holds
--- the client's fields (client_pid, metadata, no_wait).
function D.use_spec(s, client)
  local spec
  if s.project_spec then
    spec = vim.deepcopy(s.project_spec)
    spec.lazy = nil
  else
    local ready = s.ready or {}
    spec = {
      argv = { s.command, unpack(s.args) },
      env = s.env,
      working_dir = s.working_dir,
      log_file = s.log_file,
      grace_period_ms = s.grace_period_ms,
      ready_kind = ready.kind,
      ready_target = ready.target,
      ready_timeout_ms = ready.timeout_ms,
      ready_interval_ms = ready.interval_ms,
      port = s.port,
      restart_policy = s.restart_policy,
      max_restarts = s.max_restarts,
      restart_window_ms = s.restart_window_ms,
      on_mismatch = s.on_mismatch,
      log_max_size = s.log_max_size,
    }
  end
  for k, v in pairs(client) do
    spec[k] = v
  end
  return spec
end

return D
