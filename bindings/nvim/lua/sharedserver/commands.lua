-- The user commands (:ServerStart, :ServerStop, …) and their completion.
-- Each command calls the public API of sharedserver.

local config = require("sharedserver.config")
local context = require("sharedserver.context")

local K = {}

-- Registered names, and the names running in the state directory once the
-- context is open (completion never loads the library).
local function complete(arglead)
  local names = config.names()
  local seen = {}
  for _, n in ipairs(names) do
    seen[n] = true
  end
  local ctx = context.current()
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

--- Create the commands; `api` is require("sharedserver").
function K.create(api)
  local cmd = vim.api.nvim_create_user_command
  cmd("ServerStart", function(o)
    api.start(o.args)
  end, { nargs = 1, complete = complete, desc = "Start (or attach to) a shared server" })
  cmd("ServerStop", function(o)
    api.stop(o.args, { force = o.bang, async = o.bang })
  end, {
    nargs = 1,
    bang = true,
    complete = complete,
    desc = "Release this Neovim's reference to a server (!: stop it for every client)",
  })
  cmd("ServerRestart", function(o)
    api.restart(o.args, { async = true })
  end, { nargs = 1, complete = complete, desc = "Restart a shared server, keeping its clients" })
  cmd("ServerStatus", function(o)
    api.show_status(o.args ~= "" and o.args or nil)
  end, { nargs = "?", complete = complete, desc = "Show shared servers in a floating window" })
  cmd("ServerList", function()
    api.show_status(nil)
  end, { nargs = 0, desc = "List the registered shared servers" })
  cmd("ServerLogs", function(o)
    api.show_logs(o.args)
  end, { nargs = 1, complete = complete, desc = "Follow a shared server's log in a split" })
  cmd("ServerUp", function(o)
    api.up(o.args ~= "" and o.args or nil)
  end, { nargs = "?", desc = "Attach to the servers of a profile (and those of no profile), as `sharedserver up`" })
  cmd("ServerDown", function(o)
    api.down(o.args ~= "" and o.args or nil)
  end, { nargs = "?", desc = "Release what :ServerUp took for that profile" })
  cmd("ServerStopAll", function(o)
    api.stop_all({ force = o.bang, async = o.bang })
  end, { nargs = 0, bang = true, desc = "Release every server reference (!: stop them all)" })
end

return K
