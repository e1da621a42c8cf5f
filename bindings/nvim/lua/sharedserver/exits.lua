-- What the user is told when a server this Neovim held ended or was
-- restarted after a crash, composed from the server's events and log; and
-- its on_exit callback.

local levels = vim.log.levels
local config = require("sharedserver.config")
local context = require("sharedserver.context")

local X = {}

local json_decode = (vim.json and vim.json.decode) or vim.fn.json_decode

-- The events of `name` recorded at or after `t` (unix ms), oldest first.
local function events_since(ctx, name, t)
  local out = {}
  for line in (ctx:events(name) or ""):gmatch("[^\n]+") do
    local ok, e = pcall(json_decode, line)
    if ok and type(e) == "table" and type(e.at) == "number" and e.at >= (t or 0) then
      out[#out + 1] = e
    end
  end
  return out
end

local function duration(ms)
  return (type(ms) == "number" and require("sharedserver.ffi").duration_format(ms)) or tostring(ms)
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

-- At most two lines, so that no instance stops at "Press ENTER": the message
-- and the log's last line; :ServerLogs shows the rest.
local LOG_LINE_MAX = 120
local function with_log(ctx, name, msg)
  msg = ("%s; :ServerLogs %s shows its log"):format(msg, name)
  local tail = ctx:log_tail(name, 5) or ""
  local last
  for line in tail:gmatch("[^\n]+") do
    if line:match("%S") then
      last = line
    end
  end
  if last then
    last = vim.trim(last)
    if #last > LOG_LINE_MAX then
      last = last:sub(1, LOG_LINE_MAX - 3) .. "..."
    end
    msg = msg .. "\nlast log line: " .. last
  end
  return msg
end

-- a: the awaiting entry ({ pid, since, starting }), nil when unknown.
--- The server `name` (pid) ended: ex is its recorded exit (nil: none was
--- recorded), a the awaiting entry ({ pid, since, starting }, nil when
--- unknown).
function X.report(name, pid, ex, a)
  local ctx = context.current()
  local s = config.server(name)
  local probe_failed, gave_up
  for _, e in ipairs(events_since(ctx, name, a and a.since or 0)) do
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
    config.notify("on_error", with_log(ctx, name, msg), levels.ERROR)
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
    config.notify("on_error", with_log(ctx, name, msg), levels.ERROR)
  elseif ex and ex.unexpected then
    local msg = ("sharedserver: '%s' (pid %d) exited unexpectedly with %s%s"):format(
      name,
      pid,
      how_exited(ex.exit_code, ex.signal),
      a and a.starting and " while starting" or ""
    )
    local level = (ex.exit_code == 0 and ex.signal == 0) and levels.WARN or levels.ERROR
    config.notify("on_exit", with_log(ctx, name, msg), level)
  end
  if s and s.on_exit then
    config.call_user(name, "on_exit", s.on_exit, ex and ex.exit_code or nil, ex and ex.signal or nil)
  end
end

--- Why the server that ran as old_pid was restarted, when its restart policy
--- did it after a crash since unix ms t ("exited unexpectedly with …"), else nil.
function X.restart_cause(name, old_pid, t)
  local how
  for _, e in ipairs(events_since(context.current(), name, t)) do
    if e.event == "restarting" and e.pid == old_pid then
      how = "exited unexpectedly with " .. how_exited(e.code, e.signal)
    end
  end
  return how
end

return X
