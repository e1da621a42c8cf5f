-- Using, releasing, stopping and restarting servers: what the public
-- functions of sharedserver do. Loaded on the first turn of the event loop
-- after VimEnter (or at the first call), not at startup.

local uv = vim.uv or vim.loop
local levels = vim.log.levels
local U = require("sharedserver.util")
local config = require("sharedserver.config")
local context = require("sharedserver.context")
local state = require("sharedserver.state")

local C = {}

local PID = state.PID
local notify = config.notify

---------------------------------------------------------------------------
-- Use
---------------------------------------------------------------------------

local function warn_mismatch(name, s, r)
  if (s.spec and s.spec.on_mismatch) == "restart" then
    notify("on_start", ("sharedserver: restarted '%s' with this configuration (%s)"):format(name, r.mismatch))
  else
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
end

local function client()
  return { client_pid = PID, metadata = "nvim " .. tostring(uv.cwd()), no_wait = true }
end

--- Use a server: start it when none runs, else attach. True on success.
function C.start(name)
  local s = config.server(name)
  if not s then
    config.unknown(name)
    return false
  end
  local c, err = context.get()
  if not c then
    return false, err
  end
  if not s.definition then
    -- registered before the library was loaded: parsed (or refused) now
    config.parse_pending()
    s = config.server(name)
    if not s then
      return false
    end
  end
  local t = U.now_ms()
  -- no_wait: return once spawned; readiness is learnt by sharedserver.state,
  -- so the editor never waits for a probe.
  local r
  r, err = c:use_definition(name, s.definition, client())
  if not r then
    -- the library's message names the server and what went wrong
    notify("on_error", "sharedserver: " .. U.bare(err), levels.ERROR)
    return false, err
  end
  state.hold(name, r, t)
  if r.outcome == "started" then
    local port = r.port and r.port > 0 and (", port %d"):format(r.port) or ""
    notify("on_start", ("sharedserver: started '%s' (pid %d%s)"):format(name, r.pid, port))
    if s.on_start then
      config.call_user(name, "on_start", s.on_start, r.pid, state.start_info(name, r.pid, r.port, "started", 0))
    end
  else
    notify("on_attach", ("sharedserver: attached to '%s' (pid %d, %d clients)"):format(name, r.pid, r.refcount))
  end
  if r.mismatch then
    warn_mismatch(name, s, r)
  end
  state.after_use(name, r)
  return true
end

--- Attach only when the server already runs. True when attached.
function C.attach_if_running(name)
  if not config.server(name) then
    config.unknown(name)
    return false
  end
  local c, err = context.get()
  if not c then
    return false, err
  end
  local r, code
  local t = U.now_ms()
  r, err, code = c:use_definition(name, nil, client())
  if not r then
    if code ~= context.library().E.NOTRUNNING then
      notify("on_error", "sharedserver: " .. U.bare(err), levels.ERROR)
    end
    return false, err
  end
  state.hold(name, r, t)
  notify("on_attach", ("sharedserver: attached to '%s' (pid %d, %d clients)"):format(name, r.pid, r.refcount))
  state.after_use(name, r)
  return true
end

--- What VimEnter (or a registration after it) does with a server: use it,
--- or only attach when it is lazy.
function C.activate(name)
  local s = config.server(name)
  if not s then
    return
  end
  state.know({ name })
  -- lazy, or without a command (a definition that only attaches)
  if s.lazy or not (s.spec and s.spec.command) then
    C.attach_if_running(name)
  else
    C.start(name)
  end
end

---------------------------------------------------------------------------
-- Profiles: up / down (the library decides; this reports)
---------------------------------------------------------------------------

local profiles_up = {} -- profile -> true, for what VimLeave releases

--- Attach this Neovim to the servers of `profile` (nil: none) and those of
--- no profile in the config found from the cwd (or setup's `project` path),
--- as `sharedserver up`. Returns the report, or nil and why.
function C.up(profile)
  local ctx, err = context.get()
  if not ctx then
    return nil, err
  end
  local option = config.project_option()
  local path = type(option) == "string" and U.expand_path(option) or nil
  local text
  text, err = ctx:up(path, uv.cwd(), profile or "", client())
  if not text then
    notify("on_error", "sharedserver: up: " .. U.bare(err), levels.ERROR)
    return nil, U.bare(err)
  end
  profiles_up[profile or ""] = true
  local report = vim.json.decode(text)
  for _, line in ipairs(report.warnings or {}) do
    notify("on_error", "sharedserver: " .. line, levels.WARN)
  end
  for _, s in ipairs(report.servers or {}) do
    if s.outcome == "failed" then
      notify("on_error", ("sharedserver: %s: %s"):format(s.name, s.reason or ""), levels.ERROR)
    end
  end
  local parts = {}
  for _, word in ipairs({ "started", "attached", "skipped", "failed" }) do
    if (report[word] or 0) > 0 then
      parts[#parts + 1] = ("%s %d"):format(word, report[word])
    end
  end
  notify("on_start", ("sharedserver: %s: %s"):format(
    profile and ("profile '" .. profile .. "'") or "no profile",
    #parts > 0 and table.concat(parts, ", ") or "nothing to do"
  ))
  return report
end

--- Release what up() took for this Neovim and `profile`. Returns the report.
function C.down(profile)
  local ctx, err = context.get()
  if not ctx then
    return nil, err
  end
  local text
  text, err = ctx:down(profile or "", client())
  if not text then
    notify("on_error", "sharedserver: down: " .. U.bare(err), levels.ERROR)
    return nil, U.bare(err)
  end
  profiles_up[profile or ""] = nil
  return vim.json.decode(text)
end

--- VimLeave: release every profile up() took (the watchers would drop this
--- process anyway once it is gone; this lets the grace period start now).
function C.down_all()
  for profile in pairs(profiles_up) do
    C.down(profile ~= "" and profile or nil)
  end
end

--- The first turn of the event loop after VimEnter: the library is loaded,
--- the project file read, and every registered server used. With setup's
--- `profile`, the config's servers come up through up() instead.
function C.enter()
  local profile = config.profile_option()
  if profile then
    C.up(profile)
  else
    config.load_project()
  end
  config.parse_pending()
  -- one watch for every registered server, not one reopened per name
  state.know(config.order())
  for _, name in ipairs(config.order()) do
    C.activate(name)
  end
end

--- setup() after VimEnter: the servers of the project file, read now, are used.
function C.enter_late()
  local profile = config.profile_option()
  if profile then
    C.up(profile)
    return
  end
  for _, name in ipairs(config.load_project()) do
    if not state.held(name) then
      C.activate(name)
    end
  end
end

---------------------------------------------------------------------------
-- Stop and restart
---------------------------------------------------------------------------

-- The file of the ffi binding, which a worker thread loads into its own Lua state.
local FFI_FILE = debug.getinfo(1, "S").source:sub(2):gsub("control%.lua$", "ffi.lua")

-- Runs in a libuv worker thread with a Lua state of its own: no upvalues, no vim.
local function thread_op(ffi_file, lib_path, state_dir, op, name)
  local ok_load, m = pcall(dofile, ffi_file)
  if not ok_load then
    return nil, tostring(m), -1
  end
  local loaded, err = m.load(lib_path)
  if not loaded then
    return nil, err, -1
  end
  local c, code
  c, err, code = m.open(state_dir)
  if not c then
    return nil, err, code
  end
  local r
  if op == "stop" then
    r, err, code = c:stop(name, { force = true })
  else
    r, err, code = c:restart(name)
  end
  c:close()
  if r == nil then
    return nil, err, code
  end
  return r == true and 0 or r, "", 0
end

-- What follows a stop or restart, on the main loop: ok, and the error (nil
-- on success).
local function op_done(op, name, result, err, code)
  state.end_op(name)
  local E = context.library().E
  local ok = result ~= nil
  if op == "stop" then
    if not ok then
      if code == E.NOTRUNNING then
        notify("on_error", ("sharedserver: '%s' is not running"):format(name), levels.WARN)
      else
        notify("on_error", ("sharedserver: cannot stop '%s': %s"):format(name, U.bare(err)), levels.ERROR)
      end
    else
      notify("on_stop", ("sharedserver: stopped '%s' for every client"):format(name))
      local pid = state.held(name)
      if pid then
        state.gone(name, pid)
      end
    end
  elseif not ok and code == E.NOTRUNNING and config.server(name) then
    local started, start_err = C.start(name)
    ok, err = started, start_err or err
  elseif not ok then
    notify("on_error", ("sharedserver: cannot restart '%s': %s"):format(name, U.bare(err)), levels.ERROR)
  else
    local pid = result
    notify("on_start", ("sharedserver: restarted '%s' (pid %d)"):format(name, pid))
    local s = config.server(name)
    if s and s.on_start then
      local info = context.current():info(name) or {}
      config.call_user(
        name,
        "on_start",
        s.on_start,
        pid,
        state.start_info(name, pid, info.port, "restarted", info.restart_count)
      )
    end
    state.restarted_by_us(name, pid)
  end
  if ok then
    return true, nil
  end
  return false, U.bare(err or "failed")
end

-- Stop (force) or restart `name`. Both wait for the old process to exit (up
-- to the stop timeout), so with opts.async or opts.callback they run in a
-- worker thread and return at once; callback(ok, err) follows, err nil on
-- success.
local function run_op(op, name, opts)
  local c, err = context.get()
  if not c then
    return false, err
  end
  if not state.begin_op(name) then
    notify("on_error", ("sharedserver: a stop or restart of '%s' is already running"):format(name), levels.WARN)
    return false
  end
  local function finish(result, e, code)
    local ok, problem = op_done(op, name, result, e, code)
    if opts.callback then
      config.call_user(name, op .. " callback", opts.callback, ok, problem)
    end
    return ok, problem
  end
  if not (opts.async or opts.callback) or not uv.new_work then
    local result, code
    if op == "stop" then
      result, err, code = c:stop(name, { force = true })
    else
      result, err, code = c:restart(name)
    end
    return finish(result, err, code)
  end
  local work = uv.new_work(thread_op, function(result, e, code)
    vim.schedule(function()
      finish(result, e, code)
    end)
  end)
  work:queue(FFI_FILE, context.library().library_path(), c:state_dir(), op, name)
  return true
end

--- Release this instance's reference (the server lives on for the others and
--- its grace period). opts.force: stop the server for every client.
function C.stop(name, opts)
  opts = opts or {}
  if not opts.force and not config.server(name) and not state.held(name) then
    config.unknown(name)
    return false
  end
  local c, err = context.get()
  if not c then
    return false, err
  end
  if opts.force then
    return run_op("stop", name, opts)
  end
  if not state.held(name) then
    notify(
      "on_error",
      ("sharedserver: this Neovim is not attached to '%s'; :ServerStop! %s stops it for every client"):format(
        name,
        name
      ),
      levels.WARN
    )
    return false
  end
  local left, code
  left, err, code = c:unuse(name, PID)
  local E = context.library().E
  if not left and code ~= E.NOTCLIENT and code ~= E.NOTRUNNING then
    notify("on_error", ("sharedserver: cannot detach from '%s': %s"):format(name, U.bare(err)), levels.ERROR)
    return false, err
  end
  state.released(name)
  notify("on_stop", ("sharedserver: detached from '%s' (%d clients left)"):format(name, left or 0))
  return true
end

--- Release every reference this instance holds (opts.force: stop every
--- registered server for every client).
function C.stop_all(opts)
  opts = opts or {}
  local names = opts.force and config.names() or state.held_names()
  local all_ok = true
  for _, name in ipairs(names) do
    if opts.force then
      if require("sharedserver.status").status(name).running then
        all_ok = C.stop(name, opts) and all_ok
      end
    else
      all_ok = C.stop(name) and all_ok
    end
  end
  return all_ok
end

--- Stop and start the server process again, keeping its clients. A server
--- that does not run is started.
function C.restart(name, opts)
  local ctx = context.get()
  if not config.server(name) and not (ctx and ctx:check(name) ~= "stopped") then
    config.unknown(name)
    return false
  end
  return run_op("restart", name, opts or {})
end

return C
