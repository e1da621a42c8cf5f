-- What other plugins see of the servers this Neovim knows: User autocommands
-- on their state changes, and a statusline string. Both are fed by the change
-- watch of sharedserver.state; statusline() only reads what is already here,
-- so it makes no system call however often the statusline is drawn.

local levels = vim.log.levels
local config = require("sharedserver.config")

local L = {}

L.ICONS = { active = "●", starting = "◐", grace = "⏳", stopping = "⏳", stopped = "○", corrupt = "✗" }

-- The change kinds that fire an autocommand. An exit the server was not
-- asked for (a crash) fires SharedServerFailed before SharedServerStopped;
-- a start that is ready at once (no probe) fires SharedServerReady after
-- SharedServerStarted.
local EVENTS = {
  started = "SharedServerStarted",
  restarted = "SharedServerStarted",
  ready = "SharedServerReady",
  exited = "SharedServerStopped",
  killed = "SharedServerStopped",
  ["probe-failed"] = "SharedServerFailed",
  ["gave-up"] = "SharedServerFailed",
}
L.EVENTS = EVENTS

-- User autocommands carry `data` from Neovim 0.8 on.
local has_data = vim.fn.has("nvim-0.8") == 1

local known = {} -- name -> its state, as last learned
local line -- the statusline string; nil once `known` changed
local delivered = {} -- name -> { at = unix ms of the newest change, lines = { [json] = true } of that ms }
local fired = {} -- name -> event -> the server pid it last fired for
local current -- the data of the autocommand running now

--- Whether the state of `name` is known (it is watched).
function L.knows(name)
  return known[name] ~= nil
end

--- The state of `name` is `state` now.
function L.set(name, state)
  if state and known[name] ~= state then
    known[name] = state
    line = nil
  end
end

-- A watch reopened for a new name delivers again the changes since it was
-- first opened: each is acted on once.
local function first_delivery(change)
  local d = delivered[change.name]
  if d and change.at < d.at then
    return false
  end
  if d and change.at == d.at then
    if d.lines[change.json] then
      return false
    end
    d.lines[change.json] = true
    return true
  end
  delivered[change.name] = { at = change.at, lines = { [change.json] = true } }
  return true
end

local function fire(event, name, change, pid)
  local f = fired[name] or {}
  fired[name] = f
  -- One exit can be recorded twice (`admin kill` and the watcher's `exited`).
  if (event == "SharedServerStopped" or event == "SharedServerFailed") and pid > 0 and f[event] == pid then
    return
  end
  f[event] = pid
  local data = require("sharedserver.status").status(name)
  data.event = change.kind
  local opts = { pattern = event, modeline = false }
  if has_data then
    opts.data = data
  end
  current = data
  local ok, err = pcall(vim.api.nvim_exec_autocmds, "User", opts)
  current = nil
  if not ok then
    config.notify("on_error", ("sharedserver: User %s autocommand for '%s' failed: %s"):format(event, name, err), levels.ERROR)
  end
end

--- One change the watch reported: remember the state, fire the autocommands.
function L.change(change)
  L.set(change.name, change.state)
  if not first_delivery(change) then
    return
  end
  local event = EVENTS[change.kind]
  if not event then
    return
  end
  local ok, recorded = pcall(vim.json.decode, change.json)
  recorded = ok and type(recorded) == "table" and recorded or {}
  if change.kind == "exited" and recorded.unexpected == true then
    fire("SharedServerFailed", change.name, change, change.pid)
  end
  fire(event, change.name, change, change.pid)
  -- A server without a readiness probe is ready when it starts: no "ready" follows.
  if event == "SharedServerStarted" and recorded.ready == true then
    fire("SharedServerReady", change.name, change, change.pid)
  end
end

--- The data of the sharedserver autocommand running now (also on Neovim
--- 0.7, where autocommands carry no data), else nil.
function L.current_event()
  return current
end

--- "redis● db◐": every server this Neovim knows and its state.
function L.statusline()
  if line then
    return line
  end
  local names = {}
  for name in pairs(known) do
    names[#names + 1] = name
  end
  table.sort(names)
  local parts = {}
  for _, name in ipairs(names) do
    parts[#parts + 1] = name .. (L.ICONS[known[name]] or "?")
  end
  line = table.concat(parts, " ")
  return line
end

return L
