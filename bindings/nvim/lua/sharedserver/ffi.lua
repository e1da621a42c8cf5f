-- LuaJIT binding of include/sharedserver/sharedserver.h.
--
-- Needs nothing from Neovim, so plain `luajit` can use it too. Every function
-- that can fail returns nil, message, code (code is a negative
-- sharedserver_error, see M.E) on failure.

local ffi = require("ffi")

local M = {}

-- The library's names for its error codes and enums, filled in by load()
-- from its tables (sharedserver_enum_*): E.NOTRUNNING for the error
-- "not-running", PROBE.HTTP for the probe "http", and so on.
M.E = {}
M.PROBE = {}
M.RESTART = {}
M.MISMATCH = {}
M.PORT_AUTO = -1

local OUTCOMES = {} -- value -> "started", "attached", "rescued"

-- ffi.C and the cdef namespace are shared by every plugin in the process and
-- survive a reload of this module, so declare only once.
-- cdef.lua is generated from sharedserver.h. It is found beside this file,
-- not through require(): a libuv worker thread loads this file with dofile
-- into a Lua state that has no package.path of the plugin.
local here = debug.getinfo(1, "S").source:sub(2)
local CDEF = dofile((here:gsub("ffi%.lua$", "cdef.lua")))
if not pcall(ffi.typeof, "sharedserver_context") then
  ffi.cdef(CDEF)
end

-- The ABI this binding was written for: the header's, as cdef.lua holds it.
M.ABI = ffi.C.SHAREDSERVER_ABI_VERSION
-- Declared on its own: a cdef from an older copy of this plugin, loaded
-- earlier in this process, lacks it (a second declaration is an error: pcall).
pcall(ffi.cdef, "const char *sharedserver_info_error(const sharedserver_info *info);")

local C_STR_ARRAY = ffi.typeof("const char *[?]")
local INT64_1 = ffi.typeof("int64_t[1]")
local SIZE_1 = ffi.typeof("size_t[1]")
local INT_1 = ffi.typeof("int[1]")
local BUF_1 = ffi.typeof("sharedserver_buf[1]")
local CTX_P1 = ffi.typeof("sharedserver_context *[1]")
local INFO_P1 = ffi.typeof("sharedserver_info *[1]")
local LIST_P1 = ffi.typeof("sharedserver_list *[1]")
local PROJECT_P1 = ffi.typeof("sharedserver_project *[1]")

local lib -- the loaded library (ffi.load namespace), once load() succeeded
local lib_path -- the file it was loaded from

local function fail(rc)
  local msg = ffi.string(lib.sharedserver_error_last())
  if msg == "" then
    msg = "sharedserver: call failed with code " .. tostring(rc)
  end
  return nil, msg, rc
end

-- A versioned struct (options, results) filled by the library's own _init():
-- its defaults are never copied here, and its version is the header's this
-- cdef was generated from, so an older library refuses it with a clear error.
local struct_kinds = {} -- kind -> { ctype, init function, version }, per loaded library
local function new_struct(kind)
  -- Looked up once: a C namespace indexed by a built string is not compiled
  -- by the JIT, and this runs on every attach.
  local k = struct_kinds[kind]
  if not k then
    k = {
      ffi.typeof("sharedserver_" .. kind),
      lib["sharedserver_" .. kind .. "_init"],
      lib["SHAREDSERVER_" .. kind:upper() .. "_VERSION"],
    }
    struct_kinds[kind] = k
  end
  local o = k[1]()
  if k[2](o, k[3]) ~= 0 then
    error(ffi.string(lib.sharedserver_error_last()), 2)
  end
  return o
end

local function num(v)
  return tonumber(v)
end

local function take_buf(buf)
  local s = buf[0].ptr ~= nil and ffi.string(buf[0].ptr, buf[0].size) or ""
  lib.sharedserver_buf_dispose(buf)
  return s
end

---------------------------------------------------------------------------
-- Library lookup
---------------------------------------------------------------------------

local function dirname(p)
  return (p:gsub("/+[^/]*$", ""))
end

-- This file's own path, <plugin>/lua/sharedserver/ffi.lua, or nil when it
-- was not loaded from a file.
local function own_path()
  local src = debug.getinfo(1, "S").source
  if src:sub(1, 1) ~= "@" then
    return nil
  end
  return src:sub(2)
end

-- The repository root of a checkout: <root>/bindings/nvim/lua/sharedserver/ffi.lua
local function repo_root()
  local p = own_path()
  if not p then
    return nil
  end
  for _ = 1, 5 do
    p = dirname(p)
  end
  if p == "" then
    p = "."
  end
  return p
end

-- The library installed with this plugin by `meson install`, which writes
-- installation.lua beside this file (a checkout has none): the same prefix,
-- found from where the plugin is now, else the prefix it was installed to.
local function installed_library()
  local p = own_path()
  if not p then
    return nil
  end
  local here = dirname(p)
  local chunk = loadfile(here .. "/installation.lua")
  if not chunk then
    return nil
  end
  local ok, paths = pcall(chunk)
  if not ok or type(paths) ~= "table" then
    return nil
  end
  if paths.library:sub(1, 1) ~= "/" and paths.plugin_dir:sub(1, 1) ~= "/" then
    local plugin_root = dirname(dirname(here))
    local suffix = "/" .. paths.plugin_dir
    if plugin_root:sub(-#suffix) == suffix then
      return plugin_root:sub(1, -#suffix - 1) .. "/" .. paths.library
    end
  end
  return paths.library_absolute
end

local function lib_file_names()
  if ffi.os == "OSX" then
    return "libsharedserver.dylib", "libsharedserver.0.dylib"
  end
  return "libsharedserver.so", "libsharedserver.so.0"
end

local function file_exists(p)
  local f = io.open(p, "rb")
  if f then
    f:close()
    return true
  end
  return false
end

local function rebuild_hint()
  if installed_library() then
    return "install the plugin and the library together again (`meson install -C build` in the sharedserver checkout)"
  end
  local root = repo_root()
  if root then
    return "rebuild it with `meson setup build && ninja -C build` in " .. root
  end
  return "rebuild it with `meson setup build && ninja -C build` in the sharedserver checkout"
end

-- The candidates in lookup order: {path, where, must}; `must` candidates are
-- explicit choices whose failure is reported instead of falling through.
function M.candidates(explicit)
  local list = {}
  if explicit and explicit ~= "" then
    list[#list + 1] = { explicit, "lib_path option", true }
  end
  local env = os.getenv("SHAREDSERVER_LIB")
  if env and env ~= "" then
    list[#list + 1] = { env, "$SHAREDSERVER_LIB", true }
  end
  local dev, soname = lib_file_names()
  local installed = installed_library()
  local root = repo_root()
  if installed then
    list[#list + 1] = { installed, "library installed with the plugin", false }
  elseif root then
    list[#list + 1] = { root .. "/build/capi/" .. dev, "build tree", false }
  end
  list[#list + 1] = { soname, "installed soname", false }
  return list
end

local function try_load(path)
  local ok, l = pcall(ffi.load, path)
  if not ok then
    return nil, tostring(l)
  end
  local ok_abi, abi = pcall(function()
    return l.sharedserver_abi_version()
  end)
  if not ok_abi then
    return nil, path .. " is not a sharedserver library (" .. tostring(abi) .. ")"
  end
  if abi ~= M.ABI then
    return nil,
      string.format(
        "sharedserver: %s has ABI %d but this plugin needs ABI %d; %s, or point lib_path / $SHAREDSERVER_LIB at a matching build",
        path,
        abi,
        M.ABI,
        rebuild_hint()
      )
  end
  -- The same ABI may lack functions added since (an older build of the same
  -- major version): found now, with how to fix it, not as a Lua error in
  -- the middle of some later command.
  for fn in CDEF:gmatch("(sharedserver_[%w_]+)%(") do
    local found, err = pcall(function()
      return l[fn]
    end)
    if not found then
      return nil,
        string.format(
          "sharedserver: %s cannot give %s, which this plugin needs (%s); %s, or point lib_path / $SHAREDSERVER_LIB at a matching build",
          path,
          fn,
          tostring(err),
          rebuild_hint()
        )
    end
  end
  return l
end

---------------------------------------------------------------------------
-- The ABI's tables of names (sharedserver_enum_*)
---------------------------------------------------------------------------

-- name -> value and value -> name of one sharedserver_enum_kind, e.g.
-- enum("EXIT_REASON") = { exited = 1, ..., [1] = "exited", ... }.
function M.enum(kind)
  local k = lib["SHAREDSERVER_ENUM_" .. kind]
  local t = {}
  local value, name = INT_1(), ffi.new("const char *[1]")
  for i = 0, num(lib.sharedserver_enum_count(k)) - 1 do
    if lib.sharedserver_enum_at(value, name, k, i) == 0 then
      local n = ffi.string(name[0])
      t[n] = value[0]
      t[value[0]] = n
    end
  end
  return t
end

local function load_tables()
  local constants = { E = "ERROR", PROBE = "PROBE", RESTART = "RESTART", MISMATCH = "MISMATCH" }
  for field, kind in pairs(constants) do
    for k, v in pairs(M.enum(kind)) do
      if type(k) == "string" then
        M[field][(k:upper():gsub("-", ""))] = v
      end
    end
  end
  for k, v in pairs(M.enum("OUTCOME")) do
    if type(k) == "number" then
      OUTCOMES[k] = v
    end
  end
end

-- Load the library, once per process. `explicit` is the lib_path option.
-- Returns true, or nil and a message naming every place tried.
function M.load(explicit)
  if lib then
    return true
  end
  local tried = {}
  for _, c in ipairs(M.candidates(explicit)) do
    local path, where, must = c[1], c[2], c[3]
    local is_file_path = path:find("/", 1, true) ~= nil
    if is_file_path and not must and not file_exists(path) then
      tried[#tried + 1] = where .. " " .. path .. " (not built)"
    else
      local l, err = try_load(path)
      if l then
        lib, lib_path = l, path
        struct_kinds = {}
        load_tables()
        return true
      end
      if err:find("^sharedserver:") then
        return nil, err
      end
      if must then
        return nil, "sharedserver: cannot load the library from " .. where .. " " .. path .. ": " .. err
      end
      tried[#tried + 1] = where .. " " .. path .. " (" .. err .. ")"
    end
  end
  return nil, "sharedserver: library not found; tried " .. table.concat(tried, ", ") .. "; " .. rebuild_hint()
    .. ", or set lib_path / $SHAREDSERVER_LIB"
end

function M.loaded()
  return lib ~= nil
end

---------------------------------------------------------------------------
-- Library identity and helpers
---------------------------------------------------------------------------

function M.version()
  return ffi.string(lib.sharedserver_version())
end

function M.abi()
  return lib.sharedserver_abi_version()
end

-- The file the library was loaded from: what dladdr says, else the path given to ffi.load.
function M.library_path()
  local p = ffi.string(lib.sharedserver_library_path())
  if p == "" then
    return lib_path
  end
  return p
end

function M.duration_parse(text)
  local out = INT64_1()
  local rc = lib.sharedserver_duration_parse(out, text)
  if rc ~= 0 then
    return fail(rc)
  end
  return num(out[0])
end

function M.duration_format(ms)
  local buf = BUF_1()
  local rc = lib.sharedserver_duration_format(buf, ms)
  if rc ~= 0 then
    return fail(rc)
  end
  return take_buf(buf)
end

function M.name_validate(name)
  local rc = lib.sharedserver_name_validate(name)
  if rc ~= 0 then
    return fail(rc)
  end
  return true
end

function M.state_name(state)
  return ffi.string(lib.sharedserver_state_name(state))
end

---------------------------------------------------------------------------
-- Info and list → plain Lua tables
---------------------------------------------------------------------------

local function opt_string(p)
  if p == nil then
    return nil
  end
  local s = ffi.string(p)
  if s == "" then
    return nil
  end
  return s
end

-- One of the info's string lists: its count getter, then each by index.
local function info_strings(i, count, at)
  local out = {}
  for k = 0, num(count(i)) - 1 do
    out[#out + 1] = ffi.string(at(i, k))
  end
  return out
end

local function info_table(i)
  local state = lib.sharedserver_info_state(i)
  local t = {
    name = ffi.string(lib.sharedserver_info_name(i)),
    state = ffi.string(lib.sharedserver_state_name(state)),
    pid = num(lib.sharedserver_info_pid(i)),
    watcher_pid = num(lib.sharedserver_info_watcher_pid(i)),
    refcount = num(lib.sharedserver_info_refcount(i)),
    working_dir = opt_string(lib.sharedserver_info_working_dir(i)),
    log_file = opt_string(lib.sharedserver_info_log_file(i)),
    grace_period_ms = num(lib.sharedserver_info_grace_period_ms(i)),
    grace_deadline = num(lib.sharedserver_info_grace_deadline(i)),
    started_at = num(lib.sharedserver_info_started_at(i)),
    port = lib.sharedserver_info_port(i),
    ready_at = num(lib.sharedserver_info_ready_at(i)),
    restart_count = num(lib.sharedserver_info_restart_count(i)),
    error = opt_string(lib.sharedserver_info_error(i)),
    clients = {},
    argv = {},
    env = {},
  }
  for k = 0, t.refcount - 1 do
    t.clients[#t.clients + 1] = {
      pid = num(lib.sharedserver_info_client_pid(i, k)),
      attached_at = num(lib.sharedserver_info_client_attached_at(i, k)),
      metadata = opt_string(lib.sharedserver_info_client_metadata(i, k)),
    }
  end
  t.argv = info_strings(i, lib.sharedserver_info_argc, lib.sharedserver_info_argv)
  t.env = info_strings(i, lib.sharedserver_info_envc, lib.sharedserver_info_env)
  t.depends_on = info_strings(i, lib.sharedserver_info_depends_on_count, lib.sharedserver_info_depends_on)
  t.needed_by = info_strings(i, lib.sharedserver_info_needed_by_count, lib.sharedserver_info_needed_by)
  return t
end

---------------------------------------------------------------------------
-- Context
---------------------------------------------------------------------------

local Context = {}
Context.__index = Context

-- Open a context on state_dir (nil: $SHAREDSERVER_LOCKDIR, else the default).
function M.open(state_dir)
  if not lib then
    return nil, "sharedserver: the library is not loaded; call load() first"
  end
  local out = CTX_P1()
  local rc = lib.sharedserver_context_open(out, state_dir)
  if rc ~= 0 then
    return fail(rc)
  end
  local handle = ffi.gc(out[0], lib.sharedserver_context_free)
  return setmetatable({ handle = handle }, Context)
end

function Context:close()
  if self.handle ~= nil then
    local h = self.handle
    self.handle = nil
    ffi.gc(h, nil)
    lib.sharedserver_context_free(h)
  end
end

function Context:state_dir()
  return ffi.string(lib.sharedserver_context_state_dir(self.handle))
end

-- "" when the library found no watcher.
function Context:watcher_path()
  return ffi.string(lib.sharedserver_context_watcher_path(self.handle))
end

-- The state directory's and the watcher's health as JSON text:
-- { state_dir, ok, problems = { one line each }, watcher, mode, free_bytes,
--   owner_uid, uid, corrupt = { names } }.
function Context:health()
  local buf = BUF_1()
  local rc = lib.sharedserver_context_health(buf, self.handle)
  if rc ~= 0 then
    return fail(rc)
  end
  return take_buf(buf)
end

-- Fill a sharedserver_use_options from a spec table:
-- { argv = {...}, env = {"K=V", ...} or {K = "V"}, working_dir, log_file,
--   grace_period_ms, client_pid, metadata, ready_kind, ready_target,
--   ready_timeout_ms, ready_interval_ms, no_wait, port, restart_policy,
--   max_restarts, restart_window_ms } (the struct's fields, same names).
-- `anchor` keeps the Lua strings and arrays alive for the duration of the call.
local function use_options(spec, anchor)
  local o = new_struct("use_options")
  spec = spec or {}
  local argv = spec.argv
  if argv and #argv > 0 then
    local arr = C_STR_ARRAY(#argv)
    for k, a in ipairs(argv) do
      local s = tostring(a)
      anchor[#anchor + 1] = s
      arr[k - 1] = s
    end
    anchor[#anchor + 1] = arr
    o.argv = arr
    o.argc = #argv
  end
  local env = {}
  if spec.env then
    if #spec.env > 0 then
      for _, kv in ipairs(spec.env) do
        env[#env + 1] = tostring(kv)
      end
    else
      local keys = {}
      for k in pairs(spec.env) do
        keys[#keys + 1] = k
      end
      table.sort(keys)
      for _, k in ipairs(keys) do
        env[#env + 1] = k .. "=" .. tostring(spec.env[k])
      end
    end
  end
  if #env > 0 then
    local arr = C_STR_ARRAY(#env)
    for k, s in ipairs(env) do
      anchor[#anchor + 1] = s
      arr[k - 1] = s
    end
    anchor[#anchor + 1] = arr
    o.env = arr
    o.envc = #env
  end
  o.working_dir = spec.working_dir
  o.log_file = spec.log_file
  if spec.grace_period_ms then
    o.grace_period_ms = spec.grace_period_ms
  end
  if spec.client_pid then
    o.client_pid = spec.client_pid
  end
  o.metadata = spec.metadata
  for _, k in ipairs({ "ready_kind", "ready_timeout_ms", "ready_interval_ms", "port", "restart_policy",
                       "max_restarts", "restart_window_ms", "on_mismatch", "log_max_size" }) do
    if spec[k] then
      o[k] = spec[k]
    end
  end
  o.ready_target = spec.ready_target
  o.no_wait = spec.no_wait and 1 or 0
  anchor[#anchor + 1] = spec
  return o
end

-- Attach spec.client_pid (0/nil: this process) to `name`, starting the server
-- when spec.argv is given and none runs. Returns
-- { outcome = "started"|"attached"|"rescued", pid, refcount, mismatch, port,
--   ready } (ready: the readiness probe passed, or there is none).
function Context:use(name, spec)
  local anchor = {}
  local o = use_options(spec, anchor)
  local r = new_struct("use_result")
  local rc = lib.sharedserver_use(r, self.handle, name, o)
  if rc ~= 0 then
    return fail(rc)
  end
  local mismatch = ffi.string(r.mismatch)
  return {
    outcome = OUTCOMES[r.outcome] or tostring(r.outcome),
    pid = num(r.pid),
    refcount = num(r.refcount),
    mismatch = mismatch ~= "" and mismatch or nil,
    port = r.port,
    ready = r.ready ~= 0,
  }
end

-- Detach client_pid (0/nil: this process). Returns the refcount left.
function Context:unuse(name, client_pid)
  local out = SIZE_1()
  local rc = lib.sharedserver_unuse(out, self.handle, name, client_pid or 0)
  if rc ~= 0 then
    return fail(rc)
  end
  return num(out[0])
end

-- Start without a client (the server begins in its grace period). Returns the pid.
function Context:start(name, spec)
  local anchor = {}
  local o = use_options(spec, anchor)
  local out = INT64_1()
  local rc = lib.sharedserver_start(out, self.handle, name, o)
  if rc ~= 0 then
    return fail(rc)
  end
  return num(out[0])
end

-- Wait until `name` is ready (its readiness probe passed). timeout_ms nil:
-- as long as the server's own probe timeout allows.
function Context:wait(name, timeout_ms)
  local o = new_struct("wait_options")
  o.timeout_ms = timeout_ms or -1
  local rc = lib.sharedserver_wait(self.handle, name, o)
  if rc ~= 0 then
    return fail(rc)
  end
  return true
end

-- opts: { force = bool, timeout_ms = number }.
function Context:stop(name, opts)
  opts = opts or {}
  local o = new_struct("stop_options")
  o.force = opts.force and 1 or 0
  o.timeout_ms = opts.timeout_ms or -1
  local rc = lib.sharedserver_stop(self.handle, name, o)
  if rc ~= 0 then
    return fail(rc)
  end
  return true
end

-- Returns the new pid.
function Context:restart(name)
  local out = INT64_1()
  local rc = lib.sharedserver_restart(out, self.handle, name)
  if rc ~= 0 then
    return fail(rc)
  end
  return num(out[0])
end

function Context:kill(name)
  local rc = lib.sharedserver_kill(self.handle, name)
  if rc ~= 0 then
    return fail(rc)
  end
  return true
end

-- name nil: every name. Returns the repair report ("" when all was well).
function Context:doctor(name)
  local buf = BUF_1()
  local rc = lib.sharedserver_doctor(buf, self.handle, name)
  if rc ~= 0 then
    return fail(rc)
  end
  return take_buf(buf)
end

-- Returns the state name: "stopped", "starting", "active", "grace", "stopping"
-- (a record that cannot be read fails with M.E.CORRUPT).
function Context:check(name)
  local out = INT_1()
  local rc = lib.sharedserver_check(out, self.handle, name)
  if rc ~= 0 then
    return fail(rc)
  end
  return ffi.string(lib.sharedserver_state_name(out[0]))
end

-- A plain table: name, state, pid, watcher_pid, refcount, clients = {{pid,
-- attached_at, metadata}}, argv, env, working_dir, log_file, grace_period_ms,
-- grace_deadline, started_at (unix ms), port (0: none), ready_at (unix ms, 0
-- while starting), restart_count.
function Context:info(name)
  local out = INFO_P1()
  local rc = lib.sharedserver_info_get(out, self.handle, name)
  if rc ~= 0 then
    return fail(rc)
  end
  local i = ffi.gc(out[0], lib.sharedserver_info_free)
  local t = info_table(i)
  ffi.gc(i, nil)
  lib.sharedserver_info_free(i)
  return t
end

-- Every live server, sorted by name, as info tables; a name whose record
-- cannot be read has state "corrupt" and the reason in `error`.
function Context:list()
  local out = LIST_P1()
  local rc = lib.sharedserver_list_get(out, self.handle)
  if rc ~= 0 then
    return fail(rc)
  end
  local l = ffi.gc(out[0], lib.sharedserver_list_free)
  local t = {}
  for k = 0, num(lib.sharedserver_list_count(l)) - 1 do
    t[#t + 1] = info_table(lib.sharedserver_list_at(l, k))
  end
  ffi.gc(l, nil)
  lib.sharedserver_list_free(l)
  return t
end

-- The event log as JSON lines, oldest first.
function Context:events(name)
  local buf = BUF_1()
  local rc = lib.sharedserver_events(buf, self.handle, name)
  if rc ~= 0 then
    return fail(rc)
  end
  return take_buf(buf)
end

-- { exit_code (-1 when signalled), signal (0 when exited), at (unix ms), unexpected = bool }
-- or nil, msg, M.E.NOTRUNNING when no exit is recorded.
function Context:last_exit(name)
  local code, sig, at, unexpected = INT_1(), INT_1(), INT64_1(), INT_1()
  local rc = lib.sharedserver_last_exit(code, sig, at, unexpected, self.handle, name)
  if rc ~= 0 then
    return fail(rc)
  end
  return {
    exit_code = code[0],
    signal = sig[0],
    at = num(at[0]),
    unexpected = unexpected[0] ~= 0,
  }
end

---------------------------------------------------------------------------
-- Definitions (JSON text, the keys of a project file's server)
---------------------------------------------------------------------------

local DEF_P1 = ffi.typeof("sharedserver_definition *[1]")

local Definition = {}
Definition.__index = Definition

local function fail_key(rc)
  local _, msg = fail(rc)
  return nil, msg, rc, ffi.string(lib.sharedserver_error_last_key())
end

local function definition(handle)
  return setmetatable({ handle = ffi.gc(handle, lib.sharedserver_definition_free) }, Definition)
end

-- Parse a definition; relative working_dir and log_file are resolved in
-- base_dir (nil: the current directory). nil, message, code and the key the
-- message is about on failure.
function M.definition(json, base_dir)
  local out = DEF_P1()
  local rc = lib.sharedserver_definition_parse(out, json, base_dir)
  if rc ~= 0 then
    return fail_key(rc)
  end
  return definition(out[0])
end

-- The definition as JSON with its defaults filled in.
function Definition:json()
  local buf = BUF_1()
  local rc = lib.sharedserver_definition_json(buf, self.handle)
  if rc ~= 0 then
    return fail(rc)
  end
  return take_buf(buf)
end

local function client_options(client)
  local o = new_struct("client_options")
  client = client or {}
  if client.client_pid then
    o.client_pid = client.client_pid
  end
  o.metadata = client.metadata
  o.no_wait = client.no_wait and 1 or 0
  if client.wait_timeout_ms then
    o.wait_timeout_ms = client.wait_timeout_ms
  end
  return o
end

-- up (issue 17): attach the client to the servers of `profile` ("" : none)
-- and those of no profile, from the config at `path` (nil: found from
-- start_dir). down: release what up took for the client and profile.
-- Each returns the library's report as JSON text.
function Context:up(path, start_dir, profile, client)
  local out = PROJECT_P1()
  local rc = lib.sharedserver_project_open(out, path, start_dir)
  if rc ~= 0 then
    return fail(rc)
  end
  local p = ffi.gc(out[0], lib.sharedserver_project_free)
  local buf = BUF_1()
  rc = lib.sharedserver_up(buf, self.handle, p, profile or "", client_options(client))
  if rc ~= 0 then
    return fail(rc)
  end
  return take_buf(buf)
end

function Context:down(profile, client)
  local buf = BUF_1()
  local rc = lib.sharedserver_down(buf, self.handle, profile or "", client_options(client))
  if rc ~= 0 then
    return fail(rc)
  end
  return take_buf(buf)
end

-- Use `name` with a definition (nil: attach only) and the client's options
-- { client_pid, metadata, no_wait, wait_timeout_ms }. Returns what use() does.
function Context:use_definition(name, def, client)
  local o = client_options(client)
  local r = new_struct("use_result")
  local rc = lib.sharedserver_use_definition(r, self.handle, name, def and def.handle or nil, o)
  if rc ~= 0 then
    return fail(rc)
  end
  local mismatch = ffi.string(r.mismatch)
  return {
    outcome = OUTCOMES[r.outcome] or tostring(r.outcome),
    pid = num(r.pid),
    refcount = num(r.refcount),
    mismatch = mismatch ~= "" and mismatch or nil,
    port = r.port,
    ready = r.ready ~= 0,
  }
end

---------------------------------------------------------------------------
-- Project files (sharedserver.json)
---------------------------------------------------------------------------

-- Read a project file. path nil: $SHAREDSERVER_CONFIG, else the first
-- sharedserver.json walking up from start_dir (nil: the current directory).
-- Returns { path, names = {...} (file order), definitions = { name ->
-- definition } }; or nil, message, code (M.E.NOTFOUND when there is no file).
function M.project(path, start_dir)
  if not lib then
    return nil, "sharedserver: the library is not loaded; call load() first"
  end
  local out = PROJECT_P1()
  local rc = lib.sharedserver_project_open(out, path, start_dir)
  if rc ~= 0 then
    return fail(rc)
  end
  local p = ffi.gc(out[0], lib.sharedserver_project_free)
  -- universal: what `up` without a profile takes (no profile lists it, no skipIfEnv says another host runs it)
  local t = { path = ffi.string(lib.sharedserver_project_path(p)), names = {}, definitions = {}, universal = {} }
  for k = 0, num(lib.sharedserver_project_count(p)) - 1 do
    local name = ffi.string(lib.sharedserver_project_name(p, k))
    local def = DEF_P1()
    rc = lib.sharedserver_project_definition(def, p, name)
    if rc ~= 0 then
      ffi.gc(p, nil)
      lib.sharedserver_project_free(p)
      return fail(rc)
    end
    t.names[#t.names + 1] = name
    t.definitions[name] = definition(def[0])
    t.universal[name] = lib.sharedserver_project_universal(p, name) == 1
  end
  ffi.gc(p, nil)
  lib.sharedserver_project_free(p)
  return t
end

-- The last `lines` lines of the server's log.
function Context:log_tail(name, lines)
  local buf = BUF_1()
  local rc = lib.sharedserver_log_tail(buf, self.handle, name, lines or 10)
  if rc ~= 0 then
    return fail(rc)
  end
  return take_buf(buf)
end

---------------------------------------------------------------------------
-- Why a server ended (sharedserver_exit_*)
---------------------------------------------------------------------------

local EXIT_P1 = ffi.typeof("sharedserver_exit *[1]")

-- The newest ending of `name` recorded at or after since_ms (unix ms; nil:
-- any): { reason = "exited"|"signalled"|…, code (-1 unless it exited),
-- signal (0 unless signalled), pid, at, restarts, unexpected, while_starting,
-- message (one line), log_tail }; nil, message, E.NOTRUNNING when none is.
function Context:exit(name, since_ms)
  local out = EXIT_P1()
  local rc = lib.sharedserver_exit_get(out, self.handle, name, since_ms or 0)
  if rc ~= 0 then
    return fail(rc)
  end
  local e = ffi.gc(out[0], lib.sharedserver_exit_free)
  local t = {
    reason = ffi.string(lib.sharedserver_enum_name(lib.SHAREDSERVER_ENUM_EXIT_REASON, lib.sharedserver_exit_reason(e))),
    code = lib.sharedserver_exit_code(e),
    signal = lib.sharedserver_exit_signal(e),
    pid = num(lib.sharedserver_exit_pid(e)),
    at = num(lib.sharedserver_exit_at(e)),
    restarts = num(lib.sharedserver_exit_restarts(e)),
    unexpected = lib.sharedserver_exit_unexpected(e) ~= 0,
    while_starting = lib.sharedserver_exit_while_starting(e) ~= 0,
    message = ffi.string(lib.sharedserver_exit_message(e)),
    log_tail = ffi.string(lib.sharedserver_exit_log_tail(e)),
  }
  ffi.gc(e, nil)
  lib.sharedserver_exit_free(e)
  return t
end

---------------------------------------------------------------------------
-- Changes (sharedserver_watch_*)
---------------------------------------------------------------------------

local WATCH_P1 = ffi.typeof("sharedserver_watch *[1]")

local Watch = {}
Watch.__index = Watch

-- Watch the changes of `names` (nil: every name). since_ms: -1 (nil) only
-- new changes, 0 every recorded one, else those at or after it.
function Context:watch(names, since_ms)
  local out = WATCH_P1()
  local arr, count = nil, 0
  if names then
    count = #names
    arr = C_STR_ARRAY(count)
    for k, n in ipairs(names) do
      arr[k - 1] = n
    end
  end
  local rc = lib.sharedserver_watch_open(out, self.handle, arr, count, since_ms or -1)
  if rc ~= 0 then
    return fail(rc)
  end
  return setmetatable({ handle = ffi.gc(out[0], lib.sharedserver_watch_free), names = names }, Watch)
end

-- A descriptor that polls readable when a change may be pending.
function Watch:fd()
  return lib.sharedserver_watch_fd(self.handle)
end

-- The next change { name, kind, state, pid, at, json }: kind and state are
-- the library's names. nil when none came within timeout_ms (0: do not
-- block); nil, message, code on failure.
function Watch:next(timeout_ms)
  local c = new_struct("change")
  local rc = lib.sharedserver_watch_next(c, self.handle, timeout_ms or 0)
  if rc == M.E.TIMEOUT then
    return nil
  end
  if rc ~= 0 then
    return fail(rc)
  end
  return {
    name = ffi.string(c.name),
    kind = ffi.string(lib.sharedserver_enum_name(lib.SHAREDSERVER_ENUM_CHANGE, c.kind)),
    state = ffi.string(lib.sharedserver_state_name(c.state)),
    pid = num(c.pid),
    at = num(c.at),
    json = ffi.string(c.json),
  }
end

function Watch:close()
  if self.handle ~= nil then
    local h = self.handle
    self.handle = nil
    ffi.gc(h, nil)
    lib.sharedserver_watch_free(h)
  end
end

---------------------------------------------------------------------------
-- Paths
---------------------------------------------------------------------------

-- The log file `name` uses (or would use when started).
function Context:log_path(name)
  local buf = BUF_1()
  local rc = lib.sharedserver_log_path(buf, self.handle, name)
  if rc ~= 0 then
    return fail(rc)
  end
  return take_buf(buf)
end

return M
