-- status(): what the library knows of a server, with what this Neovim knows
-- (registered, lazy, attached). Loaded on first use.

local U = require("sharedserver.util")
local config = require("sharedserver.config")
local context = require("sharedserver.context")
local state = require("sharedserver.state")

local St = {}

--- The state of one server: name, state, running, attached, lazy, pid,
--- refcount, clients, uptime_ms, grace_period_ms, grace_remaining_ms,
--- argv, working_dir, log_file. { name, error } for an unknown name.
function St.status(name)
  local s = config.server(name)
  local st = {
    name = name,
    registered = s ~= nil,
    lazy = s and s.lazy or false,
    attached = state.held(name) ~= nil,
    running = false,
    state = "stopped",
  }
  if s then
    local summary = require("sharedserver.definition").summary(s)
    st.argv = summary.argv
    st.working_dir = summary.working_dir
    st.log_file = summary.log_file
    st.grace_period_ms = summary.grace_period_ms
  end
  local c, err = context.get()
  if not c then
    st.error = err
    return st
  end
  local info, code
  info, err, code = c:info(name)
  if code == context.library().E.CORRUPT then
    -- A server may run under a record that cannot be read: say so, never "stopped".
    st.state = "corrupt"
    st.error = U.bare(err)
    return st
  end
  if not info then
    return { name = name, error = U.bare(err) }
  end
  if info.state == "stopped" then
    if not s then
      return { name = name, error = ("unknown server '%s'"):format(tostring(name)) }
    end
    st.attached = false
    return st
  end
  local now = U.now_ms()
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
  st.depends_on = info.depends_on
  st.needed_by = info.needed_by
  st.argv = info.argv
  st.env = info.env
  st.working_dir = info.working_dir
  st.log_file = info.log_file
  st.attached = state.attached_to(info)
  return st
end

--- name -> status for every registered server.
function St.status_all()
  local all = {}
  for _, name in ipairs(config.names()) do
    all[name] = St.status(name)
  end
  return all
end

--- The names to show: the registered ones, then any other server running in
--- the state directory.
function St.names()
  local names = config.names()
  local seen = {}
  for _, n in ipairs(names) do
    seen[n] = true
  end
  local c = context.get()
  for _, info in ipairs(c and c:list() or {}) do
    if not seen[info.name] then
      names[#names + 1] = info.name
      seen[info.name] = true
    end
  end
  return names
end

return St
