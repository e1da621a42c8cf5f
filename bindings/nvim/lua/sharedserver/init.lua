-- sharedserver for Neovim: named servers shared by every Neovim instance,
-- reference counted, kept for a grace period after the last one leaves.
-- All lifecycle work is done in-process by libsharedserver (sharedserver.ffi).

local uv = vim.uv or vim.loop
local levels = vim.log.levels

local M = {}

-- Neovim's own pid is the client pid of every reference this instance holds.
local PID = vim.fn.getpid()

M._servers = {} -- name -> validated configuration
M._order = {} -- registration order of M._servers
M._problems = {} -- name -> why its configuration was skipped
M._held = {} -- name -> server pid, while this instance holds a reference
M._ready = {} -- name -> the server pid whose readiness this instance has seen
M._entered = false -- VimEnter has run (or setup came after it)

local NOTIFY_DEFAULTS = {
  on_start = true, -- this instance started a server
  on_attach = false, -- attached to a server that already ran
  on_stop = false, -- released a reference, or stopped a server
  on_error = true, -- a call failed or a configuration was refused
  on_exit = true, -- an attached server exited unexpectedly
}

M._config = {
  commands = true,
  notify = vim.deepcopy(NOTIFY_DEFAULTS),
  lib_path = nil,
  project = true, -- true: a sharedserver.json found from the cwd; false: none; a path
}
M._project = nil -- { path, names, servers } of the project file read at VimEnter

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

local SETUP_OPTIONS = { servers = true, commands = true, notify = true, lib_path = true, project = true }

local ffi_mod -- sharedserver.ffi once the library loaded
local lib_error -- why it did not
local ctx -- the context of this Neovim process
local ctx_error
local watch -- fs_event on the state directory

---------------------------------------------------------------------------
-- Small helpers
---------------------------------------------------------------------------

-- Library messages already begin with "sharedserver: "; ours add context.
local function bare(msg)
  return (tostring(msg or "unknown error"):gsub("^sharedserver: ", ""))
end

local function notify(kind, msg, level)
  if M._config.notify[kind] then
    vim.notify(msg, level or levels.INFO)
  end
end

local function now_ms()
  if uv.gettimeofday then
    local s, us = uv.gettimeofday()
    if s then
      return s * 1000 + math.floor(us / 1000)
    end
  end
  return os.time() * 1000
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = k
  end
  table.sort(keys)
  return keys
end

local function call_user(name, what, fn, ...)
  local ok, err = pcall(fn, ...)
  if not ok then
    notify("on_error", ("sharedserver: %s callback of '%s' failed: %s"):format(what, name, tostring(err)), levels.ERROR)
  end
end

-- Shared with sharedserver.control.
local I = {
  pid = PID,
  since = {}, -- name -> unix ms when this instance attached (or saw a restart)
  awaiting = {}, -- name -> { pid, since, timer }: gone, exit not yet recorded
  bare = bare,
  notify = notify,
  now_ms = now_ms,
  sorted_keys = sorted_keys,
  call_user = call_user,
}
M._i = I

local control

---------------------------------------------------------------------------
-- Library and context
---------------------------------------------------------------------------

-- The ffi module with the library loaded, or nil (the failure is reported once).
local function library()
  if ffi_mod then
    return ffi_mod
  end
  if lib_error then
    return nil, lib_error
  end
  local f = require("sharedserver.ffi")
  local ok, err = f.load(M._config.lib_path)
  if not ok then
    lib_error = err
    notify("on_error", err, levels.ERROR)
    return nil, err
  end
  ffi_mod = f
  return f
end

local function start_watch()
  if watch or not uv.new_fs_event then
    return
  end
  local w = uv.new_fs_event()
  if not w then
    return
  end
  -- Learn of readiness, restarts and exits from the state directory instead
  -- of polling: the watcher rewrites <name>.server.json when the probe passes
  -- (ready_at) and when it restarts the server (new pid), removes it when the
  -- server is gone, and appends every exit to <name>.events.jsonl.
  local ok = w:start(ctx:state_dir(), {}, function(err, filename)
    if err or next(M._held) == nil and next(I.awaiting) == nil then
      return
    end
    local name = filename and filename:match("^(.+)%.server%.json$")
    if name and M._held[name] or not filename then
      vim.schedule(function()
        control().on_dir_event(name)
      end)
      return
    end
    name = filename:match("^(.+)%.events%.jsonl$")
    if name and I.awaiting[name] then
      vim.schedule(function()
        control().on_events_appended(name)
      end)
    end
  end)
  if ok then
    watch = w
  else
    w:close()
  end
end

-- The context of this Neovim process, or nil (reported once).
local function context()
  if ctx then
    return ctx
  end
  if ctx_error then
    return nil, ctx_error
  end
  local f, err = library()
  if not f then
    return nil, err
  end
  local c
  c, err = f.open(nil)
  if not c then
    ctx_error = err
    notify("on_error", err, levels.ERROR)
    return nil, err
  end
  ctx = c
  start_watch()
  return ctx
end

M._context = context
M._library = library

---------------------------------------------------------------------------
-- Configuration
---------------------------------------------------------------------------

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

local function expand_path(p)
  if p:find("^~") or p:find("%$") then
    p = vim.fn.expand(p)
  end
  return (vim.fn.fnamemodify(p, ":p"):gsub("(.)/$", "%1"))
end

-- The `ready` option as use-option fields ({ kind, probe, target, timeout_ms,
-- interval_ms }), or nil and what is wrong with it. `s` is the server so far.
local function validate_ready(ready, s, f)
  local probes = {}
  for key in pairs(ready) do
    if not READY_KEYS[key] then
      return nil,
        ("unknown key '%s' (known: %s)"):format(tostring(key), table.concat(sorted_keys(READY_KEYS), ", "))
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
          return nil, ("'%s': %s"):format(key, bare(err))
        end
        r[key .. "_ms"] = ms
      end
    end
  end
  return r
end

-- A checked copy of one server's configuration, or nil and the problem.
-- Before VimEnter the library is not loaded yet (loading it is most of what
-- the plugin would cost startup): names and durations, which the library
-- checks, are checked again on the first turn of the event loop.
local function validate(name, config)
  local where = ("sharedserver: server '%s'"):format(tostring(name))
  if type(name) ~= "string" then
    return nil, ("sharedserver: server names must be strings, got %s"):format(type(name))
  end
  local f = (M._entered or ffi_mod) and library() or nil
  if f then
    local ok, err = f.name_validate(name)
    if not ok then
      return nil, ("%s: %s"):format(where, bare(err))
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
          table.concat(sorted_keys(OPTION_TYPES), ", ")
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
    s.working_dir = expand_path(config.working_dir)
  end
  if config.log_file then
    s.log_file = expand_path(config.log_file)
  end
  if config.idle_timeout and f then
    local ms, err = f.duration_parse(config.idle_timeout)
    if not ms then
      return nil, ("%s: option 'idle_timeout': %s"):format(where, bare(err))
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
      return nil, ("%s: option 'restart_window': %s"):format(where, bare(err))
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
  s._raw = config
  s._checked = f ~= nil
  return s
end

local function activate(name)
  local s = M._servers[name]
  if not s then
    return
  end
  if s.lazy then
    M.attach_if_running(name)
  else
    M.start(name)
  end
end

-- A server defined by the project file: its definition is used as the
-- library read it (already checked), converted to the shape of a validated one.
local function project_server(name, spec, path)
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
    _checked = true,
  }
  if spec.port and spec.port ~= 0 then
    s.port = spec.port
    s.port_text = spec.port == -1 and "auto" or tostring(spec.port)
  end
  return s
end

-- Register the servers of the project file (setup's `project` option).
-- Servers given to setup() keep their own definition. Runs once the library
-- is loaded (after VimEnter).
local function load_project()
  local want = M._config.project
  if want == false or M._project then
    return
  end
  local f = library()
  if not f then
    return
  end
  local path = type(want) == "string" and expand_path(want) or nil
  local p, err, code = f.project(path, uv.cwd())
  if not p then
    if code == f.E.NOTFOUND and path == nil then
      return
    end
    notify("on_error", ("sharedserver: project file: %s"):format(bare(err)), levels.ERROR)
    M._project_error = bare(err)
    return
  end
  M._project = p
  for _, name in ipairs(p.names) do
    if not M._servers[name] then
      M._servers[name] = project_server(name, p.servers[name], p.path)
      M._order[#M._order + 1] = name
    end
  end
end

local function on_vim_enter()
  if M._entered then
    return
  end
  M._entered = true
  -- Attaching waits for the first turn of the event loop: the editor is
  -- drawn and answers keys first, and startup pays nothing for the servers.
  vim.schedule(function()
    load_project()
    local order = {}
    for _, name in ipairs(M._order) do
      local s = M._servers[name]
      if s and not s._checked then
        local checked, problem = validate(name, s._raw)
        if checked then
          M._servers[name] = checked
        else
          M._servers[name] = nil
          M._problems[name] = problem
          notify("on_error", problem, levels.ERROR)
        end
      end
      if M._servers[name] then
        order[#order + 1] = name
      end
    end
    M._order = order
    for _, name in ipairs(M._order) do
      activate(name)
    end
  end)
end

local function on_vim_leave()
  if ctx then
    for _, name in ipairs(sorted_keys(M._held)) do
      ctx:unuse(name, PID)
    end
  end
  M._held = {}
  if watch then
    watch:stop()
    watch:close()
    watch = nil
  end
end

--- Register (or replace) one server. After VimEnter it is used at once.
---@return boolean registered
function M.register(name, config)
  local s, problem = validate(name, config)
  if not s then
    M._problems[tostring(name)] = problem
    notify("on_error", problem, levels.ERROR)
    return false
  end
  M._problems[name] = nil
  if not M._servers[name] then
    M._order[#M._order + 1] = name
  end
  M._servers[name] = s
  if M._entered then
    activate(name)
  end
  return true
end

local function apply_options(opts)
  for key in pairs(opts) do
    if not SETUP_OPTIONS[key] then
      notify(
        "on_error",
        ("sharedserver: unknown setup option '%s' (known options: commands, lib_path, notify, project, servers)"):format(
          tostring(key)
        ),
        levels.ERROR
      )
    end
  end
  if opts.commands ~= nil then
    M._config.commands = opts.commands ~= false
  end
  if opts.project ~= nil then
    if opts.project ~= true and opts.project ~= false and type(opts.project) ~= "string" then
      notify(
        "on_error",
        ("sharedserver: setup option 'project' must be true, false or a path, got %s"):format(vim.inspect(opts.project)),
        levels.ERROR
      )
    else
      M._config.project = opts.project
    end
  end
  if opts.lib_path ~= nil then
    M._config.lib_path = opts.lib_path
  end
  local n = opts.notify
  if n == false then
    for k in pairs(M._config.notify) do
      M._config.notify[k] = false
    end
  elseif type(n) == "table" then
    for k, v in pairs(n) do
      if NOTIFY_DEFAULTS[k] == nil then
        notify(
          "on_error",
          ("sharedserver: unknown notify option '%s' (known: %s)"):format(
            tostring(k),
            table.concat(sorted_keys(NOTIFY_DEFAULTS), ", ")
          ),
          levels.ERROR
        )
      else
        M._config.notify[k] = v and true or false
      end
    end
  end
end

--- setup(servers, opts), setup({ servers = …, commands = …, notify = …, lib_path = … })
--- or setup({ name = …, command = …, … }) for a single server.
function M.setup(servers, opts)
  servers = servers or {}
  opts = opts or {}
  if type(servers) == "table" and type(servers.servers) == "table" then
    local merged = {}
    for k, v in pairs(servers) do
      if k ~= "servers" then
        merged[k] = v
      end
    end
    for k, v in pairs(opts) do
      merged[k] = v
    end
    opts, servers = merged, servers.servers
  end
  -- setup({ project = false, commands = false, servers… }): setup options
  -- given next to server definitions (a server config is a table with a
  -- command, which no option value is).
  if type(servers) == "table" and servers.command == nil then
    for key in pairs(SETUP_OPTIONS) do
      local v = servers[key]
      if key ~= "servers" and v ~= nil and not (type(v) == "table" and v.command ~= nil) then
        if opts[key] == nil then
          opts[key] = v
        end
        servers = vim.deepcopy(servers)
        servers[key] = nil
      end
    end
  end
  apply_options(opts)

  local group = vim.api.nvim_create_augroup("sharedserver", { clear = true })
  vim.api.nvim_create_autocmd("VimEnter", { group = group, once = true, callback = on_vim_enter })
  vim.api.nvim_create_autocmd("VimLeave", { group = group, callback = on_vim_leave })
  if vim.v.vim_did_enter == 1 then
    M._entered = true
    -- setup() after startup: read the project file on the next turn.
    vim.schedule(function()
      load_project()
      for _, name in ipairs(M._order) do
        local s = M._servers[name]
        if s and s.project_spec and not M._held[name] and not s._activated then
          s._activated = true
          activate(name)
        end
      end
    end)
  end

  if servers.command ~= nil then
    local single = {}
    for k, v in pairs(servers) do
      if k ~= "name" then
        single[k] = v
      end
    end
    M.register(servers.name or "default", single)
  else
    for _, name in ipairs(sorted_keys(servers)) do
      M.register(name, servers[name])
    end
  end

  if M._config.commands then
    M._create_commands()
  end
end

---------------------------------------------------------------------------
-- Lifecycle
---------------------------------------------------------------------------

local function unknown(name)
  notify(
    "on_error",
    ("sharedserver: unknown server '%s' (registered: %s)"):format(tostring(name), table.concat(M.list(), ", ")),
    levels.ERROR
  )
end

I.unknown = unknown

local function metadata()
  return "nvim " .. tostring(uv.cwd())
end

-- The second argument of on_start.
local function start_info(name, pid, port, how, restarts)
  return { name = name, pid = pid, port = port and port > 0 and port or nil, how = how, restarts = restarts or 0 }
end
I.start_info = start_info

-- This instance now holds a reference to the server use() returned.
local function held(name, r, t)
  if M._held[name] ~= r.pid then
    M._ready[name] = nil
  end
  M._held[name] = r.pid
  I.since[name] = t
end

-- on_ready(pid), once per server process and instance.
function I.fire_ready(name, pid)
  if M._ready[name] == pid then
    return
  end
  M._ready[name] = pid
  local s = M._servers[name]
  if s and s.on_ready then
    call_user(name, "on_ready", s.on_ready, pid)
  end
end

-- After a successful use(): a ready server runs on_ready now; for one still
-- starting, the next change of its record in the state directory tells (a
-- re-check is scheduled too, for a change that came before the watch saw it).
local function after_use(name, r)
  if r.ready then
    I.fire_ready(name, r.pid)
  else
    vim.schedule(function()
      control().on_dir_event(name)
    end)
  end
end

--- Use a server: start it when none runs, else attach. Returns true on success.
function M.start(name)
  local s = M._servers[name]
  if not s then
    unknown(name)
    return false
  end
  local c, err = context()
  if not c then
    return false, err
  end
  local argv = { s.command }
  for _, a in ipairs(s.args) do
    argv[#argv + 1] = a
  end
  local r
  local t = now_ms()
  local ready = s.ready or {}
  -- no_wait: return once spawned; readiness is learnt from the state
  -- directory (see start_watch), so the editor never waits for a probe.
  local spec
  if s.project_spec then
    spec = vim.deepcopy(s.project_spec)
    spec.lazy = nil
    spec.client_pid = PID
    spec.metadata = metadata()
    spec.no_wait = true
  end
  r, err = c:use(name, spec or {
    argv = argv,
    env = s.env,
    working_dir = s.working_dir,
    log_file = s.log_file,
    grace_period_ms = s.grace_period_ms,
    client_pid = PID,
    metadata = metadata(),
    no_wait = true,
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
  })
  if not r then
    notify("on_error", ("sharedserver: cannot start '%s': %s"):format(name, bare(err)), levels.ERROR)
    return false, err
  end
  held(name, r, t)
  if r.outcome == "started" then
    local port = r.port and r.port > 0 and (", port %d"):format(r.port) or ""
    notify("on_start", ("sharedserver: started '%s' (pid %d%s)"):format(name, r.pid, port))
    if s.on_start then
      call_user(name, "on_start", s.on_start, r.pid, start_info(name, r.pid, r.port, "started", 0))
    end
  else
    notify(
      "on_attach",
      ("sharedserver: attached to '%s' (pid %d, %d clients)"):format(name, r.pid, r.refcount)
    )
  end
  -- The library compares the caller's working directory even when none was
  -- configured; a server shared across projects would warn on every attach.
  local cwd_only = r.mismatch and r.mismatch:find("^working dir is ") and not s.working_dir
  local mode = s.mismatch_mode or "warn"
  if r.mismatch and mode == "restart" then
    notify("on_start", ("sharedserver: restarted '%s' with this configuration (%s)"):format(name, r.mismatch))
  elseif r.mismatch and not cwd_only then
    notify(
      "on_error",
      ("sharedserver: '%s' already runs with a different configuration (%s); :ServerStop! %s and :ServerStart %s run yours"):format(
        name,
        r.mismatch,
        name,
        name
      ),
      levels.WARN
    )
  end
  after_use(name, r)
  return true
end

--- Attach only when the server already runs. Returns true when attached.
function M.attach_if_running(name)
  if not M._servers[name] then
    unknown(name)
    return false
  end
  local c, err = context()
  if not c then
    return false, err
  end
  local r, code
  local t = now_ms()
  r, err, code = c:use(name, { client_pid = PID, metadata = metadata(), no_wait = true })
  if not r then
    if code ~= ffi_mod.E.NOTRUNNING then
      notify("on_error", ("sharedserver: cannot attach to '%s': %s"):format(name, bare(err)), levels.ERROR)
    end
    return false, err
  end
  held(name, r, t)
  notify("on_attach", ("sharedserver: attached to '%s' (pid %d, %d clients)"):format(name, r.pid, r.refcount))
  after_use(name, r)
  return true
end

-- Stopping, restarting, status and exit handling live in sharedserver.control,
-- loaded the first time one of them is needed (not at startup).
control = function()
  return require("sharedserver.control")
end

--- Release this instance's reference (the server lives on for the others and
--- its grace period). opts.force: stop the server for every client; opts.async
--- or opts.callback(ok, err): wait for it in a worker thread.
function M.stop(name, opts)
  return control().stop(name, opts)
end

--- Release every reference this instance holds (opts.force: stop every
--- registered server that runs).
function M.stop_all(opts)
  return control().stop_all(opts)
end

--- Stop and start the server process again, keeping its clients; a server
--- that does not run is started. opts.async / opts.callback as for stop().
function M.restart(name, opts)
  return control().restart(name, opts)
end

--- The state of one server: name, state, running, attached, lazy, pid, port,
--- ready_at, restarts, refcount, clients, uptime_ms, grace_period_ms,
--- grace_remaining_ms, argv, working_dir, log_file. { error = … } for an
--- unknown name.
function M.status(name)
  return control().status(name)
end

--- name -> status for every registered server.
function M.status_all()
  return control().status_all()
end

--- The registered server names, sorted.
function M.list()
  return sorted_keys(M._servers)
end

---------------------------------------------------------------------------
-- :ServerStatus window (sharedserver.window, loaded when first shown)
---------------------------------------------------------------------------

--- The lines :ServerStatus shows (name nil: every server).
function M.status_lines(name)
  return require("sharedserver.window").lines(name)
end

--- Show the status floating window; returns its window and buffer.
function M.show_status(name)
  return require("sharedserver.window").show(name)
end

--- Open the log of `name` in a split that follows new output; returns its
--- window and buffer (nil and a message when it has no log).
function M.show_logs(name, opts)
  return require("sharedserver.logs").show(name, opts)
end

---------------------------------------------------------------------------
-- Commands
---------------------------------------------------------------------------

local function complete(arglead)
  local names = M.list()
  local seen = {}
  for _, n in ipairs(names) do
    seen[n] = true
  end
  if ctx then
    for _, info in ipairs(ctx:list() or {}) do
      if not seen[info.name] then
        names[#names + 1] = info.name
      end
    end
  end
  local out = {}
  for _, n in ipairs(names) do
    if n:sub(1, #arglead) == arglead then
      out[#out + 1] = n
    end
  end
  table.sort(out)
  return out
end

function M._create_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd("ServerStart", function(o)
    M.start(o.args)
  end, { nargs = 1, complete = complete, desc = "Start (or attach to) a shared server" })
  cmd("ServerStop", function(o)
    M.stop(o.args, { force = o.bang, async = o.bang })
  end, {
    nargs = 1,
    bang = true,
    complete = complete,
    desc = "Release this Neovim's reference to a server (!: stop it for every client)",
  })
  cmd("ServerRestart", function(o)
    M.restart(o.args, { async = true })
  end, { nargs = 1, complete = complete, desc = "Restart a shared server, keeping its clients" })
  cmd("ServerStatus", function(o)
    M.show_status(o.args ~= "" and o.args or nil)
  end, { nargs = "?", complete = complete, desc = "Show shared servers in a floating window" })
  cmd("ServerList", function()
    M.show_status(nil)
  end, { nargs = 0, desc = "List the registered shared servers" })
  cmd("ServerLogs", function(o)
    M.show_logs(o.args)
  end, { nargs = 1, complete = complete, desc = "Follow a shared server's log in a split" })
  cmd("ServerStopAll", function(o)
    M.stop_all({ force = o.bang, async = o.bang })
  end, { nargs = 0, bang = true, desc = "Release every server reference (!: stop them all)" })
end

M._pid = PID

return M
