-- :checkhealth sharedserver

local M = {}

local uv = vim.uv or vim.loop

-- vim.health (0.10: start/ok/…; 0.8–0.9: report_*), else the 0.7 autoload functions.
local function reporter()
  local h = vim.health
  if h and h.start then
    return h
  end
  if h and h.report_start then
    return { start = h.report_start, ok = h.report_ok, warn = h.report_warn, error = h.report_error, info = h.report_info }
  end
  local function fn(name)
    return function(msg, advice)
      if advice then
        vim.fn["health#report_" .. name](msg, advice)
      else
        vim.fn["health#report_" .. name](msg)
      end
    end
  end
  return { start = fn("start"), ok = fn("ok"), warn = fn("warn"), error = fn("error"), info = fn("info") }
end

local function decode(text)
  local ok, value = pcall((vim.json and vim.json.decode) or vim.fn.json_decode, text)
  if ok and type(value) == "table" then
    return value
  end
end

-- The library judges the state directory and the watcher (the same rules as
-- `sharedserver admin doctor`); each problem is one line that says what to do.
local function check_state_dir(h, ctx)
  local text, err = ctx:health()
  local report = text and decode(text)
  if not report then
    h.error(("cannot check the state directory %s: %s"):format(ctx:state_dir(), tostring(err or "unreadable health report")))
    return
  end
  local problems = type(report.problems) == "table" and report.problems or {}
  for _, problem in ipairs(problems) do
    h.error(tostring(problem))
  end
  if #problems > 0 then
    return
  end
  local free = tonumber(report.free_bytes)
  h.ok(
    ("state directory %s is usable and private (mode %s%s)"):format(
      tostring(report.state_dir),
      tostring(report.mode),
      free and (", %d MiB free"):format(math.floor(free / 1048576)) or ""
    )
  )
  h.ok("watcher " .. tostring(report.watcher))
end

function M.check()
  local h = reporter()
  local sharedserver = require("sharedserver")
  local config = require("sharedserver.config")
  local context = require("sharedserver.context")

  h.start("sharedserver: Neovim")
  if jit then
    h.ok("Neovim runs on " .. jit.version .. " (ffi available)")
  else
    h.error("Neovim was built without LuaJIT; this plugin calls libsharedserver through LuaJIT's ffi", {
      "use a Neovim build with LuaJIT (the official releases and most distributions are)",
    })
    return
  end

  h.start("sharedserver: library")
  local f, err = context.library()
  if not f then
    h.error(err or "the library could not be loaded", {
      "build it: `meson setup build && ninja -C build` in the sharedserver checkout",
      "or point setup's lib_path option or $SHAREDSERVER_LIB at libsharedserver.so",
    })
    return
  end
  h.ok(("library %s, version %s, ABI %d"):format(f.library_path(), f.version(), f.abi()))

  local ctx, cerr = context.get()
  if not ctx then
    h.error(cerr or "cannot open the state directory", { "set $SHAREDSERVER_LOCKDIR to a private directory (mode 0700)" })
    return
  end
  h.start("sharedserver: state directory and watcher")
  check_state_dir(h, ctx)

  h.start("sharedserver: project file")
  local project, project_error = config.project()
  if project then
    h.ok(("%s defines %s"):format(project.path, table.concat(project.names, ", ")))
  elseif project_error then
    h.error(project_error)
  elseif config.project_option() == false then
    h.info("not read (setup option project = false)")
  else
    h.info("no sharedserver.json found from " .. tostring(uv.cwd()))
  end

  h.start("sharedserver: servers")
  local names = sharedserver.list()
  if #names == 0 then
    h.info("no servers registered")
  end
  for _, name in ipairs(names) do
    local st = sharedserver.status(name)
    local desc = ("%s: %s"):format(name, st.state or "unknown")
    if st.running then
      desc = desc
        .. (" (pid %d%s, %d clients%s)"):format(
          st.pid,
          st.port and (", port " .. st.port) or "",
          st.refcount,
          st.attached and ", this Neovim attached" or ""
        )
      if st.restarts and st.restarts > 0 then
        desc = desc .. (" restarted %d times"):format(st.restarts)
      end
    end
    if st.lazy then
      desc = desc .. " [lazy]"
    end
    if st.error then
      h.error(desc .. ": " .. st.error)
    else
      h.ok(desc)
    end
  end
  local problems = config.problems()
  for _, name in ipairs(vim.tbl_keys(problems)) do
    h.error(problems[name], { "fix this server's configuration in setup()" })
  end
end

return M
