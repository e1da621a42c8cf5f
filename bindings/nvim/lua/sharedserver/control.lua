-- Stopping, restarting, status and exit handling: loaded by sharedserver
-- the first time one of them is needed, so that startup does not compile it.

local uv = vim.uv or vim.loop
local levels = vim.log.levels

local M = require("sharedserver")
local I = M._i
local PID = I.pid
local bare, notify, now_ms, sorted_keys, call_user = I.bare, I.notify, I.now_ms, I.sorted_keys, I.call_user
local since, awaiting = I.since, I.awaiting

local F = require("sharedserver.ffi")
local unknown = I.unknown

local C = {}

-- The context of this Neovim process (M._context reports a failure once).
local ctx = (M._context())
local function context()
  local c, err = M._context()
  ctx = c
  return c, err
end

local pending = {} -- name -> a re-check of that server is scheduled
local busy = {} -- name -> a stop or restart of this instance runs in a worker thread

---------------------------------------------------------------------------
-- Exit detection
---------------------------------------------------------------------------

local function attached_to(info)
  for _, c in ipairs(info.clients or {}) do
    if c.pid == PID then
      return true
    end
  end
  return false
end


local json_decode = (vim.json and vim.json.decode) or vim.fn.json_decode

-- The events of `name` recorded at or after `since` (unix ms), oldest first.
local function events_since(name, since)
  local text = ctx:events(name)
  local out = {}
  for line in (text or ""):gmatch("[^\n]+") do
    local ok, e = pcall(json_decode, line)
    if ok and type(e) == "table" and type(e.at) == "number" and e.at >= (since or 0) then
      out[#out + 1] = e
    end
  end
  return out
end
C._events_since = events_since

local function duration(ms)
  return (type(ms) == "number" and F.duration_format(ms)) or tostring(ms)
end

local function how_exited(code, sig)
  if sig and sig ~= 0 and sig ~= vim.NIL then
    return "signal " .. sig
  end
  if code == nil or code == vim.NIL then
    return "an unknown status"
  end
  return "exit code " .. code
end

local function with_log(name, msg)
  local tail = ctx:log_tail(name, 10)
  if tail and tail:match("%S") then
    msg = msg .. "\n" .. tail:gsub("%s+$", "")
  end
  return msg
end

-- a: the awaiting entry ({ pid, since, starting }), nil when unknown.
local function finish_exit(name, pid, ex, a)
  local s = M._servers[name]
  local probe_failed, gave_up
  for _, e in ipairs(events_since(name, a and a.since or 0)) do
    if e.event == "probe-failed" and (e.pid == nil or e.pid == pid) then
      probe_failed = e
    elseif e.event == "gave-up" then
      gave_up = e
    end
  end
  if probe_failed then
    local msg = ("sharedserver: '%s' (pid %d) did not become ready within %s (%s: %s)"):format(
      name,
      pid,
      duration(probe_failed.timeout_ms),
      tostring(probe_failed.probe),
      tostring(probe_failed.reason)
    )
    notify("on_error", with_log(name, msg), levels.ERROR)
  elseif gave_up then
    local how = ex and how_exited(ex.exit_code, ex.signal) or "an unknown status"
    local msg
    if gave_up.error then
      msg = ("sharedserver: '%s' (pid %d) exited unexpectedly with %s and could not be restarted: %s"):format(
        name,
        pid,
        how,
        tostring(gave_up.error)
      )
    else
      msg = ("sharedserver: '%s' (pid %d) exited unexpectedly with %s; gave up after %d restarts within %s"):format(
        name,
        pid,
        how,
        tonumber(gave_up.restarts) or 0,
        duration(gave_up.window_ms)
      )
    end
    notify("on_error", with_log(name, msg), levels.ERROR)
  elseif ex and ex.unexpected then
    local msg = ("sharedserver: '%s' (pid %d) exited unexpectedly with %s%s"):format(
      name,
      pid,
      how_exited(ex.exit_code, ex.signal),
      a and a.starting and " while starting" or ""
    )
    notify("on_exit", with_log(name, msg), (ex.exit_code == 0 and ex.signal == 0) and levels.WARN or levels.ERROR)
  end
  if s and s.on_exit then
    call_user(name, "on_exit", s.on_exit, ex and ex.exit_code or nil, ex and ex.signal or nil)
  end
end

-- The exit of the awaited server, once the watcher has recorded it (an exit
-- recorded before this instance attached is an older server's).
local function try_exit_record(name)
  local a = awaiting[name]
  if not a then
    return
  end
  local ex = ctx:last_exit(name)
  if ex and ex.at >= a.since then
    awaiting[name] = nil
    a.timer:stop()
    a.timer:close()
    finish_exit(name, a.pid, ex, a)
  end
end

function C.on_events_appended(name)
  if awaiting[name] then
    try_exit_record(name)
  end
end

-- The server this instance was attached to is gone: once its exit is
-- recorded, tell the user when it was unexpected and run on_exit.
local function server_gone(name, pid)
  M._held[name] = nil
  local old = awaiting[name]
  if old then
    old.timer:stop()
    old.timer:close()
  end
  local timer = uv.new_timer()
  local a = { pid = pid, since = since[name] or 0, timer = timer, starting = M._ready[name] ~= pid }
  awaiting[name] = a
  M._ready[name] = nil
  -- A watcher that was killed records nothing: give up waiting after a while.
  timer:start(
    2000,
    0,
    vim.schedule_wrap(function()
      local a = awaiting[name]
      if a and a.timer == timer then
        awaiting[name] = nil
        timer:close()
        finish_exit(name, pid, nil, a)
      end
    end)
  )
  try_exit_record(name)
end

local function record_exists(name)
  return uv.fs_stat(ctx:state_dir() .. "/" .. name .. ".server.json") ~= nil
end


local function recheck(name, tries)
  pending[name] = nil
  local pid = M._held[name]
  if not pid or busy[name] or not context() then
    return
  end
  local info = ctx:info(name)
  if not info then
    return
  end
  local alive = info.state ~= "stopped"
  local mine = attached_to(info)
  if alive and mine then
    if info.pid ~= pid then
      -- restarted (by a client, or by the watcher's restart policy); the
      -- clients were kept
      local t = since[name] or 0
      M._held[name] = info.pid
      M._ready[name] = nil
      since[name] = now_ms()
      local how = "restarted"
      for _, e in ipairs(events_since(name, t)) do
        if e.event == "restarting" and e.pid == pid then
          how = "exited unexpectedly with " .. how_exited(e.code, e.signal)
        end
      end
      if how ~= "restarted" then
        -- the watcher restarted it after a crash
        notify(
          "on_exit",
          ("sharedserver: '%s' (pid %d) %s; restarted as pid %d (restart %d)"):format(
            name,
            pid,
            how,
            info.pid,
            info.restart_count or 0
          ),
          levels.WARN
        )
      end
      local s = M._servers[name]
      if s and s.on_start then
        call_user(
          name,
          "on_start",
          s.on_start,
          info.pid,
          I.start_info(name, info.pid, info.port, "restarted", info.restart_count)
        )
      end
    end
    if info.ready_at > 0 and info.state ~= "starting" then
      I.fire_ready(name, info.pid)
    end
    return
  end
  if alive and info.pid == pid then
    -- still running, but this instance's reference was dropped by someone else
    M._held[name] = nil
    return
  end
  -- A stop or restart in flight rewrites or removes the record when it ends.
  if (info.state == "stopping" or (not alive and record_exists(name))) and (tries or 0) < 25 then
    pending[name] = true
    vim.defer_fn(function()
      recheck(name, (tries or 0) + 1)
    end, 200)
    return
  end
  server_gone(name, pid)
end

-- A server record changed in the state directory (name nil: unknown which).
function C.on_dir_event(name)
  local names = name and { name } or sorted_keys(M._held)
  for _, n in ipairs(names) do
    if M._held[n] and not pending[n] then
      pending[n] = true
      vim.schedule(function()
        recheck(n)
      end)
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

-- What follows a stop or restart, on the main loop.
local function op_done(op, name, result, err, code, callback)
  busy[name] = nil
  local s = M._servers[name]
  local ok = result ~= nil
  if op == "stop" then
    if not ok then
      if code == F.E.NOTRUNNING then
        notify("on_error", ("sharedserver: '%s' is not running"):format(name), levels.WARN)
      else
        notify("on_error", ("sharedserver: cannot stop '%s': %s"):format(name, bare(err)), levels.ERROR)
      end
    else
      notify("on_stop", ("sharedserver: stopped '%s' for every client"):format(name))
      local pid = M._held[name]
      if pid then
        server_gone(name, pid)
      end
    end
  else
    if not ok and code == F.E.NOTRUNNING and s then
      ok = M.start(name)
      err = ok and nil or err
    elseif not ok then
      notify("on_error", ("sharedserver: cannot restart '%s': %s"):format(name, bare(err)), levels.ERROR)
    else
      local pid = result
      if M._held[name] then
        if M._held[name] ~= pid then
          M._ready[name] = nil
        end
        M._held[name] = pid
        since[name] = now_ms()
      end
      notify("on_start", ("sharedserver: restarted '%s' (pid %d)"):format(name, pid))
      local info = ctx:info(name) or {}
      if s and s.on_start then
        call_user(
          name,
          "on_start",
          s.on_start,
          pid,
          I.start_info(name, pid, info.port, "restarted", info.restart_count)
        )
      end
      -- readiness of the new process: it may already have been recorded
      C.on_dir_event(name)
    end
  end
  if callback then
    call_user(name, op .. " callback", callback, ok, ok and nil or bare(err))
  end
  return ok, ok and nil or err
end

-- Stop (force) or restart `name`. Both wait for the old process to exit (up
-- to the stop timeout), so with opts.async or opts.callback they run in a
-- worker thread and return at once; callback(ok, err) follows.
local function run_op(op, name, opts)
  local c, err = context()
  if not c then
    return false, err
  end
  if busy[name] then
    notify("on_error", ("sharedserver: a stop or restart of '%s' is already running"):format(name), levels.WARN)
    return false
  end
  if not (opts.async or opts.callback) or not uv.new_work then
    local result, code
    if op == "stop" then
      result, err, code = c:stop(name, { force = true })
    else
      result, err, code = c:restart(name)
    end
    return op_done(op, name, result, err, code, opts.callback)
  end
  busy[name] = true
  local work = uv.new_work(thread_op, function(result, e, code)
    vim.schedule(function()
      op_done(op, name, result, e, code, opts.callback)
    end)
  end)
  work:queue(FFI_FILE, F.library_path(), c:state_dir(), op, name)
  return true
end

--- Release this instance's reference (the server lives on for the others and
--- its grace period). opts.force: stop the server for every client.
function C.stop(name, opts)
  opts = opts or {}
  if not opts.force and not M._servers[name] and not M._held[name] then
    unknown(name)
    return false
  end
  local c, err = context()
  if not c then
    return false, err
  end
  if opts.force then
    return run_op("stop", name, opts)
  end
  local pid = M._held[name]
  if not pid then
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
  if not left and code ~= F.E.NOTCLIENT and code ~= F.E.NOTRUNNING then
    notify("on_error", ("sharedserver: cannot detach from '%s': %s"):format(name, bare(err)), levels.ERROR)
    return false, err
  end
  M._held[name] = nil
  notify("on_stop", ("sharedserver: detached from '%s' (%d clients left)"):format(name, left or 0))
  return true
end

--- Release every reference this instance holds (opts.force: stop every
--- registered server for every client).
function C.stop_all(opts)
  opts = opts or {}
  local names = opts.force and M.list() or sorted_keys(M._held)
  local all_ok = true
  for _, name in ipairs(names) do
    if opts.force then
      local st = C.status(name)
      if st.running then
        all_ok = M.stop(name, opts) and all_ok
      end
    else
      all_ok = M.stop(name) and all_ok
    end
  end
  return all_ok
end

--- Stop and start the server process again, keeping its clients. A server
--- that does not run is started.
function C.restart(name, opts)
  if not M._servers[name] and not (ctx and ctx:check(name) ~= "stopped") then
    unknown(name)
    return false
  end
  return run_op("restart", name, opts or {})
end

---------------------------------------------------------------------------
-- Status
---------------------------------------------------------------------------

--- The state of one server: name, state, running, attached, lazy, pid,
--- refcount, clients, uptime_ms, grace_period_ms, grace_remaining_ms,
--- command, argv, working_dir, log_file. { error = … } for an unknown name.
function C.status(name)
  local s = M._servers[name]
  local st = {
    name = name,
    registered = s ~= nil,
    lazy = s and s.lazy or false,
    attached = M._held[name] ~= nil,
    running = false,
    state = "stopped",
  }
  if s then
    st.argv = { s.command, unpack(s.args) }
    st.working_dir = s.working_dir
    st.log_file = s.log_file
    st.grace_period_ms = s.grace_period_ms
  end
  local c, err = context()
  if not c then
    st.error = err
    return st
  end
  local info, code
  info, err, code = c:info(name)
  if code == F.E.CORRUPT then
    -- A server may run under a record that cannot be read: say so, never "stopped".
    st.state = "corrupt"
    st.error = bare(err)
    return st
  end
  if not info then
    return { name = name, error = bare(err) }
  end
  if info.state == "stopped" then
    if not s then
      return { name = name, error = ("unknown server '%s'"):format(tostring(name)) }
    end
    st.attached = false
    return st
  end
  local now = now_ms()
  st.running = true
  st.state = info.state
  st.pid = info.pid
  st.watcher_pid = info.watcher_pid
  st.refcount = info.refcount
  st.clients = info.clients
  st.started_at = info.started_at
  st.uptime_ms = info.started_at > 0 and now - info.started_at or nil
  st.grace_period_ms = info.grace_period_ms
  st.grace_deadline = info.grace_deadline
  if info.state == "grace" and info.grace_deadline > 0 then
    st.grace_remaining_ms = math.max(0, info.grace_deadline - now)
  end
  st.port = info.port > 0 and info.port or nil
  st.ready_at = info.ready_at > 0 and info.ready_at or nil
  st.restarts = info.restart_count
  st.argv = info.argv
  st.env = info.env
  st.working_dir = info.working_dir
  st.log_file = info.log_file
  st.attached = attached_to(info)
  return st
end

--- name -> status for every registered server.
function C.status_all()
  local all = {}
  for name in pairs(M._servers) do
    all[name] = C.status(name)
  end
  return all
end

return C
