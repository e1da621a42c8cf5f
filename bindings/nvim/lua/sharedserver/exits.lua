-- What the user is told when a server this Neovim held ended, or was
-- restarted after a crash: the library's account of the ending (its reason,
-- one-line message and log tail), and the server's on_exit callback.

local levels = vim.log.levels
local config = require("sharedserver.config")
local context = require("sharedserver.context")

local X = {}

-- At most two lines, so that no instance stops at "Press ENTER": the message
-- and the log's last line; :ServerLogs shows the rest.
local LOG_LINE_MAX = 120
local function with_log(name, msg, tail)
  msg = ("%s; :ServerLogs %s shows its log"):format(msg, name)
  local last
  for line in (tail or ""):gmatch("[^\n]+") do
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

-- Endings the user is told about as errors: the server never became usable,
-- or its restart policy gave up.
local FAILED = { ["probe-failed"] = true, ["gave-up"] = true }

--- The server `name` (pid) ended: ex is the library's account of it (nil:
--- none was recorded in time, its watcher was killed too).
function X.report(name, pid, ex)
  if ex and FAILED[ex.reason] then
    config.notify("on_error", with_log(name, "sharedserver: " .. ex.message, ex.log_tail), levels.ERROR)
  elseif ex and ex.unexpected then
    local level = (ex.reason == "exited" and ex.code == 0) and levels.WARN or levels.ERROR
    config.notify("on_exit", with_log(name, "sharedserver: " .. ex.message, ex.log_tail), level)
  end
  local s = config.server(name)
  if s and s.on_exit then
    local code = ex and ex.code or nil
    local sig = ex and ex.signal or nil
    config.call_user(name, "on_exit", s.on_exit, code, sig)
  end
end

--- The library's one line on why the server that ran as old_pid ended, when
--- it crashed since unix ms t and its restart policy restarted it; else nil.
function X.restart_cause(name, old_pid, t)
  local ex = context.current():exit(name, t)
  if ex and ex.pid == old_pid and ex.unexpected then
    return ex.message
  end
end

return X
