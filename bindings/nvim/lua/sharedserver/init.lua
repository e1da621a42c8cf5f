-- sharedserver for Neovim: named servers shared by every Neovim instance,
-- reference counted, kept for a grace period after the last one leaves.
-- All lifecycle work is done in-process by libsharedserver (sharedserver.ffi).
--
-- This module is the public API (:help sharedserver-api) and nothing else.
-- Startup loads it with sharedserver.config, .definition and .commands; the
-- library and the modules that use it load on the first turn of the event
-- loop after VimEnter:
--   config      setup options, notifications, the registered servers
--   definition  one server's table checked and converted for the library
--   context     the library and this process's context, opened once
--   control     use, release, stop and restart
--   state       what this Neovim holds; readiness, restarts and exits
--   exits       what the user is told when a held server ends
--   live        User autocommands on state changes, statusline()
--   status      status() of one server
--   commands    the user commands
--   window, logs, health   :ServerStatus, :ServerLogs, :checkhealth

local config = require("sharedserver.config")

local M = {}

local function control()
  return require("sharedserver.control")
end

local function on_vim_enter()
  if config.entered() then
    return
  end
  config.mark_entered()
  -- Attaching waits for the first turn of the event loop: the editor is
  -- drawn and answers keys first, and startup pays nothing for the servers.
  vim.schedule(function()
    control().enter()
  end)
end

local function on_vim_leave()
  -- Nothing held when the state module was never loaded.
  local state = package.loaded["sharedserver.state"]
  if state then
    state.release_all()
  end
  local loaded = package.loaded["sharedserver.control"]
  if loaded then
    loaded.down_all()
  end
end

--- setup(servers, opts), setup({ servers = …, commands = …, notify = …,
--- lib_path = …, project = … }) or setup({ name = …, command = …, … }) for a
--- single server.
function M.setup(servers, opts)
  servers = config.setup(servers, opts)

  local group = vim.api.nvim_create_augroup("sharedserver", { clear = true })
  vim.api.nvim_create_autocmd("VimEnter", { group = group, once = true, callback = on_vim_enter })
  vim.api.nvim_create_autocmd("VimLeave", { group = group, callback = on_vim_leave })
  if vim.v.vim_did_enter == 1 then
    config.mark_entered()
    -- setup() after startup: read the project file on the next turn.
    vim.schedule(function()
      control().enter_late()
    end)
  end

  if servers.command ~= nil then
    local single = {}
    for k, v in pairs(servers) do
      if k ~= "name" then
        single[k] = v
      end
    end
    M.register(servers.name or "default", single)
  else
    local names = {}
    for name in pairs(servers) do
      names[#names + 1] = name
    end
    table.sort(names, function(a, b)
      return tostring(a) < tostring(b)
    end)
    for _, name in ipairs(names) do
      M.register(name, servers[name])
    end
  end

  if config.commands_enabled() then
    require("sharedserver.commands").create(M)
  end
end

--- up(profile): attach this Neovim to the servers of `profile` (nil: none)
--- and those of no profile in the config found from the cwd, as
--- `sharedserver up --profile`. Returns the library's report
--- { servers = { { name, outcome, reason, pid } }, warnings, started, ... }.
function M.up(profile)
  return control().up(profile)
end

--- down(profile): release what up(profile) took for this Neovim.
function M.down(profile)
  return control().down(profile)
end

--- Register (or replace) one server. After VimEnter it is used at once.
---@return boolean registered
function M.register(name, server)
  if not config.register(name, server) then
    return false
  end
  if config.entered() then
    control().activate(name)
  end
  return true
end

--- Use a server: start it when none runs, else attach. Returns true on success.
function M.start(name)
  return control().start(name)
end

--- Attach only when the server already runs. Returns true when attached.
function M.attach_if_running(name)
  return control().attach_if_running(name)
end

--- Release this instance's reference (the server lives on for the others and
--- its grace period). opts.force: stop the server for every client;
--- opts.async or opts.callback(ok, err): wait for it in a worker thread.
function M.stop(name, opts)
  return control().stop(name, opts)
end

--- Release every reference this instance holds (opts.force: stop every
--- registered server that runs).
function M.stop_all(opts)
  return control().stop_all(opts)
end

--- Stop and start the server process again, keeping its clients; a server
--- that does not run is started. opts.async / opts.callback as for stop().
function M.restart(name, opts)
  return control().restart(name, opts)
end

--- The state of one server (:help sharedserver.status()).
function M.status(name)
  return require("sharedserver.status").status(name)
end

--- name -> status for every registered server.
function M.status_all()
  return require("sharedserver.status").status_all()
end

--- The registered server names, sorted.
function M.list()
  return config.names()
end

--- The lines :ServerStatus shows (name nil: every server).
function M.status_lines(name)
  return require("sharedserver.window").lines(name)
end

--- Show the status floating window; returns its window and buffer.
function M.show_status(name)
  return require("sharedserver.window").show(name)
end

--- Open the log of `name` in a split that follows new output; returns its
--- window and buffer (nil and a message when it has no log).
function M.show_logs(name, opts)
  return require("sharedserver.logs").show(name, opts)
end

--- "redis● db◐": the servers this Neovim knows and their states, from what
--- it already holds: cheap enough for every redraw (:help sharedserver.statusline()).
function M.statusline()
  -- before the first turn of the event loop nothing is known yet
  local live = package.loaded["sharedserver.live"]
  return live and live.statusline() or ""
end

--- The data of the sharedserver User autocommand running now, else nil
--- (what args.data holds from Neovim 0.8 on).
function M.current_event()
  local live = package.loaded["sharedserver.live"]
  return live and live.current_event()
end

return M
