-- What this Neovim holds: its references, which server processes it has seen
-- ready, and what became of them. Changes in the state directory wake it up
-- (readiness, restarts, exits); it runs on_ready, on_start after a restart
-- and on_exit; sharedserver.exits tells the user about unexpected exits.

local uv = vim.uv or vim.loop
local levels = vim.log.levels
local U = require("sharedserver.util")
local config = require("sharedserver.config")
local context = require("sharedserver.context")
local live = require("sharedserver.live")

local S = {}

-- Neovim's own pid is the client pid of every reference this instance holds.
local PID = vim.fn.getpid()
S.PID = PID

local held = {} -- name -> server pid, while this instance holds a reference
local ready = {} -- name -> the server pid whose readiness this instance has seen
local since = {} -- name -> unix ms when this instance attached (or saw a restart)
local awaiting = {} -- name -> { pid, since, timer }: gone, exit not yet recorded
local pending = {} -- name -> a re-check of that server is scheduled
local busy = {} -- name -> a stop or restart of this instance runs in a worker thread
local watch -- { handle = the library's change watch, poll = uv poll on its fd }
local watched = {} -- name -> true: the names the watch is on
local last_change = {} -- name -> kind of the newest change seen
local drain_scheduled = false

---------------------------------------------------------------------------
-- What is held
---------------------------------------------------------------------------

--- The server pid this instance holds a reference to, or nil.
function S.held(name)
  return held[name]
end

--- The names this instance holds a reference to, sorted.
function S.held_names()
  return U.sorted_keys(held)
end

---------------------------------------------------------------------------
-- Exits
---------------------------------------------------------------------------

-- The exit of the awaited server, once the watcher has recorded it (an exit
-- recorded before this instance attached is an older server's).
local function try_exit_record(name)
  local a = awaiting[name]
  if not a then
    return
  end
  local ex = context.current():exit(name, a.since)
  if ex then
    awaiting[name] = nil
    a.timer:stop()
    a.timer:close()
    require("sharedserver.exits").report(name, a.pid, ex)
  end
end

--- The server this instance held is gone: once its exit is recorded, tell
--- the user when it was unexpected and run on_exit.
function S.gone(name, pid)
  held[name] = nil
  local old = awaiting[name]
  if old then
    old.timer:stop()
    old.timer:close()
  end
  local timer = uv.new_timer()
  local a = { pid = pid, since = since[name] or 0, timer = timer }
  awaiting[name] = a
  ready[name] = nil
  -- A watcher that was killed records nothing: give up waiting after a while.
  timer:start(
    2000,
    0,
    vim.schedule_wrap(function()
      local cur = awaiting[name]
      if cur and cur.timer == timer then
        awaiting[name] = nil
        timer:close()
        require("sharedserver.exits").report(name, pid, nil)
      end
    end)
  )
  try_exit_record(name)
end

---------------------------------------------------------------------------
-- Readiness and restarts
---------------------------------------------------------------------------

--- on_ready(pid), once per server process and instance.
function S.fire_ready(name, pid)
  if ready[name] == pid then
    return
  end
  ready[name] = pid
  local s = config.server(name)
  if s and s.on_ready then
    config.call_user(name, "on_ready", s.on_ready, pid)
  end
end

--- The second argument of on_start.
function S.start_info(name, pid, port, how, restarts)
  return { name = name, pid = pid, port = port and port > 0 and port or nil, how = how, restarts = restarts or 0 }
end

local function attached_to(info)
  for _, c in ipairs(info.clients or {}) do
    if c.pid == PID then
      return true
    end
  end
  return false
end
S.attached_to = attached_to

-- The held server runs under a new pid: restarted by a client, or by the
-- watcher's restart policy after a crash (then the user is told).
local function restarted(name, old_pid, info)
  local t = since[name] or 0
  held[name] = info.pid
  ready[name] = nil
  since[name] = U.now_ms()
  local how = require("sharedserver.exits").restart_cause(name, old_pid, t)
  if how then
    config.notify(
      "on_exit",
      ("sharedserver: %s; restarted as pid %d (restart %d)"):format(
        how,
        info.pid,
        info.restart_count or 0
      ),
      levels.WARN
    )
  end
  local s = config.server(name)
  if s and s.on_start then
    config.call_user(
      name,
      "on_start",
      s.on_start,
      info.pid,
      S.start_info(name, info.pid, info.port, "restarted", info.restart_count)
    )
  end
end

local function recheck(name, tries)
  pending[name] = nil
  local pid = held[name]
  local ctx = context.current()
  if not pid or busy[name] or not ctx then
    return
  end
  local info = ctx:info(name)
  if not info then
    return
  end
  local alive = info.state ~= "stopped"
  if alive and attached_to(info) then
    if info.pid ~= pid then
      restarted(name, pid, info)
    end
    if info.ready_at > 0 and info.state ~= "starting" then
      S.fire_ready(name, info.pid)
    end
    return
  end
  if alive and info.pid == pid then
    -- still running, but this instance's reference was dropped by someone else
    held[name] = nil
    return
  end
  -- A stop or restart in flight: its end is the next change.
  local restarting = last_change[name] == "restarting" or last_change[name] == "stopping"
  if (info.state == "stopping" or (not alive and restarting)) and (tries or 0) < 25 then
    pending[name] = true
    vim.defer_fn(function()
      recheck(name, (tries or 0) + 1)
    end, 200)
    return
  end
  S.gone(name, pid)
end

--- Something of `name` may have changed (nil: any held server): look again
--- on the next turn of the event loop.
function S.changed(name)
  local names = name and { name } or U.sorted_keys(held)
  for _, n in ipairs(names) do
    if held[n] and not pending[n] then
      pending[n] = true
      vim.schedule(function()
        recheck(n)
      end)
    end
  end
end

---------------------------------------------------------------------------
-- The wake-up
---------------------------------------------------------------------------

-- Every change the library reports is looked at by name: a held server's
-- state is read again, an awaited exit fetched.
local function drain()
  drain_scheduled = false
  if not watch then
    return
  end
  while true do
    local change = watch.handle:next(0)
    if not change then
      return
    end
    local name = change.name
    last_change[name] = change.kind
    live.change(change)
    if held[name] then
      S.changed(name)
    elseif awaiting[name] then
      try_exit_record(name)
    end
  end
end

local function stop_watch()
  if watch then
    watch.poll:stop()
    watch.poll:close()
    watch.handle:close()
    watch = nil
  end
end

-- Learn of readiness, restarts and exits without polling: the library's
-- change watch has a descriptor that becomes readable when a change of a
-- server may be pending, which Neovim's event loop waits on. It is on the
-- names this Neovim registered or used, so that others' servers do not wake
-- it: a new name reopens it, with the changes since unix ms t (re-reading
-- those of the names it had is harmless: recheck and the exit lookup are
-- idempotent, and sharedserver.live acts on each change once).
local function watch_names(ctx, names, t)
  if not ctx or not uv.new_poll then
    return
  end
  local added = false
  for _, name in ipairs(names) do
    if not (watched[name] and watch) then
      watched[name] = true
      added = true
    end
  end
  if not added then
    return
  end
  local handle = ctx:watch(U.sorted_keys(watched), t)
  if not handle then
    return
  end
  local poll = uv.new_poll(handle:fd())
  if not poll then
    handle:close()
    return
  end
  stop_watch()
  watch = { handle = handle, poll = poll }
  poll:start("r", function(err)
    if not err and not drain_scheduled then
      drain_scheduled = true
      vim.schedule(drain)
    end
  end)
end

--- Watch `names` (registered servers) from now on, whoever starts them, and
--- learn their state once: sharedserver.live keeps it from their changes.
function S.know(names)
  if #names == 0 then
    return
  end
  local ctx = context.get()
  if not ctx then
    return
  end
  watch_names(ctx, names, U.now_ms())
  for _, name in ipairs(names) do
    if not live.knows(name) then
      local info, _, code = ctx:info(name)
      live.set(name, info and info.state or (code == context.library().E.CORRUPT and "corrupt") or nil)
    end
  end
end

---------------------------------------------------------------------------
-- Taking and dropping references
---------------------------------------------------------------------------

--- This instance now holds a reference to the server use() returned (r),
--- asked for at unix ms t.
function S.hold(name, r, t)
  watch_names(context.current(), { name }, t)
  live.set(name, r.ready and "active" or "starting")
  if held[name] ~= r.pid then
    ready[name] = nil
  end
  held[name] = r.pid
  since[name] = t
end

--- After hold() and the callbacks of the use: a ready server runs on_ready
--- now; for one still starting, the next change of its record tells (a
--- re-check is scheduled too, for a change that came before the watch saw it).
function S.after_use(name, r)
  if r.ready then
    S.fire_ready(name, r.pid)
  else
    S.changed(name)
  end
end

--- This instance restarted `name`; it runs as `pid` now.
function S.restarted_by_us(name, pid)
  if held[name] then
    if held[name] ~= pid then
      ready[name] = nil
    end
    held[name] = pid
    since[name] = U.now_ms()
  end
  -- readiness of the new process: it may already have been recorded
  S.changed(name)
end

--- The reference to `name` was released.
function S.released(name)
  held[name] = nil
end

--- A stop or restart of `name` starts in a worker thread (false: one runs).
function S.begin_op(name)
  if busy[name] then
    return false
  end
  busy[name] = true
  return true
end

function S.end_op(name)
  busy[name] = nil
end

--- Neovim is quitting: release every reference and stop watching.
function S.release_all()
  local ctx = context.current()
  if ctx then
    for _, name in ipairs(U.sorted_keys(held)) do
      ctx:unuse(name, PID)
    end
  end
  held = {}
  stop_watch()
end

return S
