-- What the user configured: setup options, notification preferences, and
-- which servers are registered (from setup()/register() and the project file).
-- One server's table is sharedserver.definition's (and the library's) job.

local levels = vim.log.levels
local U = require("sharedserver.util")

local C = {}

local NOTIFY_DEFAULTS = {
  on_start = true, -- this instance started a server
  on_attach = false, -- attached to a server that already ran
  on_stop = false, -- released a reference, or stopped a server
  on_error = true, -- a call failed or a configuration was refused
  on_exit = true, -- an attached server exited unexpectedly
}

local SETUP_OPTIONS = { servers = true, commands = true, notify = true, lib_path = true, project = true, profile = true }

local options = {
  commands = true,
  notify = vim.deepcopy(NOTIFY_DEFAULTS),
  lib_path = nil,
  project = true, -- true: a sharedserver.json found from the cwd; false: none; a path
  profile = nil, -- a name: the config's servers come up as `sharedserver up --profile <name>`
}

local servers = {} -- name -> checked definition (sharedserver.definition)
local order = {} -- registration order of `servers`
local problems = {} -- name -> why its configuration was refused
local project -- { path, names, servers } of the project file, once read
local project_error -- why the project file was refused
local entered = false -- VimEnter has run (or setup came after it)

---------------------------------------------------------------------------
-- Notifications
---------------------------------------------------------------------------

--- vim.notify when the user wants notifications of `kind` (a notify option).
function C.notify(kind, msg, level)
  if options.notify[kind] then
    vim.notify(msg, level or levels.INFO)
  end
end

--- Call a user callback; an error in it is reported, never raised.
function C.call_user(name, what, fn, ...)
  local ok, err = pcall(fn, ...)
  if not ok then
    C.notify("on_error", ("sharedserver: %s callback of '%s' failed: %s"):format(what, name, tostring(err)), levels.ERROR)
  end
end

function C.unknown(name)
  C.notify(
    "on_error",
    ("sharedserver: unknown server '%s' (registered: %s)"):format(tostring(name), table.concat(C.names(), ", ")),
    levels.ERROR
  )
end

---------------------------------------------------------------------------
-- Setup options
---------------------------------------------------------------------------

local function apply_notify(n)
  if n == false then
    for k in pairs(options.notify) do
      options.notify[k] = false
    end
  elseif type(n) == "table" then
    for k, v in pairs(n) do
      if NOTIFY_DEFAULTS[k] == nil then
        C.notify(
          "on_error",
          ("sharedserver: unknown notify option '%s' (known: %s)"):format(
            tostring(k),
            table.concat(U.sorted_keys(NOTIFY_DEFAULTS), ", ")
          ),
          levels.ERROR
        )
      else
        options.notify[k] = v and true or false
      end
    end
  end
end

local function apply_options(opts)
  for key in pairs(opts) do
    if not SETUP_OPTIONS[key] then
      C.notify(
        "on_error",
        ("sharedserver: unknown setup option '%s' (known options: commands, lib_path, notify, profile, project, servers)"):format(
          tostring(key)
        ),
        levels.ERROR
      )
    end
  end
  if opts.commands ~= nil then
    options.commands = opts.commands ~= false
  end
  if opts.project ~= nil then
    if opts.project ~= true and opts.project ~= false and type(opts.project) ~= "string" then
      C.notify(
        "on_error",
        ("sharedserver: setup option 'project' must be true, false or a path, got %s"):format(vim.inspect(opts.project)),
        levels.ERROR
      )
    else
      options.project = opts.project
    end
  end
  if opts.lib_path ~= nil then
    options.lib_path = opts.lib_path
  end
  if opts.profile ~= nil then
    if type(opts.profile) ~= "string" or opts.profile == "" then
      C.notify(
        "on_error",
        ("sharedserver: setup option 'profile' must be a profile name, got %s"):format(vim.inspect(opts.profile)),
        levels.ERROR
      )
    else
      options.profile = opts.profile
    end
  end
  apply_notify(opts.notify)
end

--- Take setup()'s arguments in any of its three forms, apply the options and
--- return the servers to register: name -> table (or one table with a command
--- and an optional name, for the single-server form).
function C.setup(srv, opts)
  srv = srv or {}
  opts = opts or {}
  if type(srv) == "table" and type(srv.servers) == "table" then
    local merged = {}
    for k, v in pairs(srv) do
      if k ~= "servers" then
        merged[k] = v
      end
    end
    for k, v in pairs(opts) do
      merged[k] = v
    end
    opts, srv = merged, srv.servers
  end
  -- setup({ project = false, commands = false, servers… }): setup options
  -- given next to server definitions (a server config is a table with a
  -- command, which no option value is).
  if type(srv) == "table" and srv.command == nil then
    for key in pairs(SETUP_OPTIONS) do
      local v = srv[key]
      if key ~= "servers" and v ~= nil and not (type(v) == "table" and v.command ~= nil) then
        if opts[key] == nil then
          opts[key] = v
        end
        srv = vim.deepcopy(srv)
        srv[key] = nil
      end
    end
  end
  apply_options(opts)
  return srv
end

function C.commands_enabled()
  return options.commands
end

function C.lib_path()
  return options.lib_path
end

--- The `profile` setup option: a profile name, or nil.
function C.profile_option()
  return options.profile
end

--- The `project` setup option: true, false or a path.
function C.project_option()
  return options.project
end

function C.entered()
  return entered
end

function C.mark_entered()
  entered = true
end

---------------------------------------------------------------------------
-- Registered servers
---------------------------------------------------------------------------

-- The library, when parsing a definition may load it (after VimEnter, or
-- once something else loaded it).
local function library_for_checks()
  local context = require("sharedserver.context")
  if entered or context.library_loaded() then
    return (context.library())
  end
end

--- Register (or replace) one server; false and the problem when refused.
--- Before the library is loaded only the plugin's own keys are checked; the
--- definition is parsed by the library on the first turn after VimEnter.
function C.register(name, raw)
  local definition = require("sharedserver.definition")
  local s, problem = definition.check(name, raw)
  local f = s and library_for_checks()
  if f then
    s, problem = definition.parse(s, f)
  end
  if not s then
    problems[tostring(name)] = problem
    C.notify("on_error", problem, levels.ERROR)
    return false, problem
  end
  problems[name] = nil
  if not servers[name] then
    order[#order + 1] = name
  end
  servers[name] = s
  return true
end

--- The checked definition of a registered server, or nil.
function C.server(name)
  return servers[name]
end

--- The registered names, sorted.
function C.names()
  return U.sorted_keys(servers)
end

--- The registered names in registration order.
function C.order()
  return { unpack(order) }
end

--- name -> why its configuration was refused.
function C.problems()
  return vim.deepcopy(problems)
end

--- Parse, with the library, the definitions registered before it was
--- loaded; the refused ones are reported and unregistered.
function C.parse_pending()
  local f = library_for_checks()
  if not f then
    return
  end
  local definition = require("sharedserver.definition")
  local kept = {}
  for _, name in ipairs(order) do
    local s = servers[name]
    if s and not s.definition then
      local parsed, problem = definition.parse(s, f)
      if not parsed then
        servers[name] = nil
        problems[name] = problem
        C.notify("on_error", problem, levels.ERROR)
      end
    end
    if servers[name] then
      kept[#kept + 1] = name
    end
  end
  order = kept
end

---------------------------------------------------------------------------
-- The project file
---------------------------------------------------------------------------

--- Register the servers of the project file (setup's `project` option), once:
--- those `up` without a profile takes (a server a profile lists is that
--- profile's host's; one whose skipIfEnv variable is set runs elsewhere).
--- Servers given to setup() keep their own definition. Returns the names it
--- registered.
function C.load_project()
  local want = options.project
  if want == false or project then
    return {}
  end
  local context = require("sharedserver.context")
  local f = context.library()
  if not f then
    return {}
  end
  local path = type(want) == "string" and U.expand_path(want) or nil
  local p, err, code = f.project(path, (vim.uv or vim.loop).cwd())
  if not p then
    if code == f.E.NOTFOUND and path == nil then
      return {}
    end
    C.notify("on_error", ("sharedserver: project file: %s"):format(U.bare(err)), levels.ERROR)
    project_error = U.bare(err)
    return {}
  end
  project = p
  local added = {}
  local definition = require("sharedserver.definition")
  for _, name in ipairs(p.names) do
    if not servers[name] and p.universal[name] then
      servers[name] = definition.from_project(name, p.definitions[name], p.path)
      order[#order + 1] = name
      added[#added + 1] = name
    end
  end
  return added
end

--- { path, names } of the project file read, or nil and why it was refused.
function C.project()
  if project then
    return { path = project.path, names = { unpack(project.names) } }
  end
  return nil, project_error
end

return C
