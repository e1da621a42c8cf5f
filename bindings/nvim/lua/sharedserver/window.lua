-- The :ServerStatus floating window, loaded the first time it is shown.

local M = require("sharedserver")

local W = {}

-- "2h 15m", "45m 32s", "12s", "3d 4h".
local function format_duration(ms)
  if not ms or ms < 0 then
    return "-"
  end
  local s = math.floor(ms / 1000)
  local d, h, m = math.floor(s / 86400), math.floor(s % 86400 / 3600), math.floor(s % 3600 / 60)
  s = s % 60
  if d > 0 then
    return ("%dd %dh"):format(d, h)
  elseif h > 0 then
    return ("%dh %dm"):format(h, m)
  elseif m > 0 then
    return ("%dm %ds"):format(m, s)
  end
  return ("%ds"):format(s)
end

local function shell_quote(a)
  if a:match("^[%w@%%+=:,./_-]+$") then
    return a
  end
  return "'" .. a:gsub("'", [['\'']]) .. "'"
end

local function command_line(argv)
  local out = {}
  for _, a in ipairs(argv) do
    out[#out + 1] = shell_quote(a)
  end
  return table.concat(out, " ")
end

local ICONS = { active = "●", starting = "◐", grace = "⏳", stopping = "⏳", stopped = "○", corrupt = "✗" }

local function pad(text, width)
  text = tostring(text)
  local w = vim.fn.strdisplaywidth(text)
  if w >= width then
    return text
  end
  return text .. string.rep(" ", width - w)
end

-- The lines of the table of every registered server (and any other server
-- running in the state directory).
local function table_lines()
  local names = require("sharedserver.status").names()
  local rows = { { "", "NAME", "STATE", "PID", "PORT", "REFS", "UPTIME", "GRACE LEFT", "" } }
  for _, name in ipairs(names) do
    local st = M.status(name)
    local flags = {}
    if st.attached then
      flags[#flags + 1] = "attached"
    end
    if st.lazy then
      flags[#flags + 1] = "[lazy]"
    end
    if not st.registered and st.running then
      flags[#flags + 1] = "[not registered]"
    end
    if st.restarts and st.restarts > 0 then
      flags[#flags + 1] = ("restarted %dx"):format(st.restarts)
    end
    if st.depends_on and #st.depends_on > 0 then
      flags[#flags + 1] = "needs " .. table.concat(st.depends_on, ",")
    end
    if st.needed_by and #st.needed_by > 0 then
      flags[#flags + 1] = "needed by " .. table.concat(st.needed_by, ",")
    end
    if st.error and not st.running then
      flags[#flags + 1] = "error: " .. st.error
    end
    rows[#rows + 1] = {
      ICONS[st.state] or "?",
      name,
      st.state,
      st.pid and tostring(st.pid) or "-",
      st.port and tostring(st.port) or "-",
      st.refcount and tostring(st.refcount) or "-",
      st.uptime_ms and format_duration(st.uptime_ms) or "-",
      st.grace_remaining_ms and format_duration(st.grace_remaining_ms) or "",
      table.concat(flags, " "),
    }
  end
  local widths = {}
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do
      widths[i] = math.max(widths[i] or 0, vim.fn.strdisplaywidth(cell))
    end
  end
  widths[1] = 2
  local lines = {}
  for r, row in ipairs(rows) do
    local cells = {}
    for i, cell in ipairs(row) do
      cells[i] = i < #row and pad(cell, widths[i]) or cell
    end
    lines[#lines + 1] = (" " .. table.concat(cells, "  ")):gsub("%s+$", "")
    if r == 1 then
      lines[#lines + 1] = ""
    end
  end
  local width = 0
  for _, l in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l))
  end
  lines[2] = " " .. string.rep("─", width - 1)
  if #names == 0 then
    lines[#lines + 1] = " no servers registered"
  end
  return lines
end

local function detail_lines(name)
  local st = M.status(name)
  if st.error and not st.registered then
    return { " " .. st.error }
  end
  local lines = { (" %s %s — %s"):format(ICONS[st.state] or "?", name, st.state), "" }
  local function row(label, value)
    lines[#lines + 1] = " " .. pad(label, 13) .. tostring(value)
  end
  row("pid", st.pid or "-")
  if st.port then
    row("port", st.port)
  end
  if st.state == "starting" then
    row("ready", "not yet (starting)")
  elseif st.ready_at and st.running then
    row("ready", ("since %s"):format(os.date("%H:%M:%S", math.floor(st.ready_at / 1000))))
  end
  if st.restarts and st.restarts > 0 then
    row("restarts", st.restarts)
  end
  if st.depends_on and #st.depends_on > 0 then
    row("depends on", table.concat(st.depends_on, ", "))
  end
  if st.needed_by and #st.needed_by > 0 then
    row("needed by", table.concat(st.needed_by, ", "))
  end
  if st.running then
    local pids = {}
    for _, cl in ipairs(st.clients or {}) do
      pids[#pids + 1] = tostring(cl.pid)
    end
    row("refs", ("%d%s"):format(st.refcount, #pids > 0 and (" (clients " .. table.concat(pids, ", ") .. ")") or ""))
    row("uptime", format_duration(st.uptime_ms))
  else
    row("refs", "-")
    row("uptime", "-")
  end
  local grace = st.grace_period_ms and st.grace_period_ms >= 0 and format_duration(st.grace_period_ms)
    or "default"
  if st.grace_remaining_ms then
    row("grace", ("%s left of %s"):format(format_duration(st.grace_remaining_ms), grace))
  else
    row("grace", grace .. " after the last client leaves")
  end
  row("attached", st.attached and "yes" or "no")
  row("lazy", st.lazy and "yes" or "no")
  row("command", st.argv and command_line(st.argv) or "-")
  if st.working_dir then
    row("working dir", st.working_dir)
  end
  if st.log_file then
    row("log", st.log_file)
  end
  if st.error then
    row("error", st.error)
  end
  return lines
end

--- The lines :ServerStatus shows (name nil: every server).
function W.lines(name)
  local lines = name and detail_lines(name) or table_lines()
  lines[#lines + 1] = ""
  lines[#lines + 1] = " Press q or <Esc> to close"
  return lines
end

--- Show the status floating window; returns its window and buffer.
function W.show(name)
  local lines = W.lines(name)
  local width = 0
  for _, l in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l) + 1)
  end
  width = math.min(width, math.max(20, vim.o.columns - 4))
  local height = math.min(#lines, math.max(3, vim.o.lines - 4))
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].filetype = "sharedserver"
  local config = {
    relative = "editor",
    width = width,
    height = height,
    row = math.max(0, math.floor((vim.o.lines - height) / 2) - 1),
    col = math.max(0, math.floor((vim.o.columns - width) / 2)),
    style = "minimal",
    border = "rounded",
  }
  if vim.fn.has("nvim-0.9") == 1 then
    config.title = " Shared Servers "
    config.title_pos = "center"
  end
  local win = vim.api.nvim_open_win(buf, true, config)
  for _, key in ipairs({ "q", "<Esc>" }) do
    vim.api.nvim_buf_set_keymap(buf, "n", key, "<cmd>close<cr>", { noremap = true, silent = true, nowait = true })
  end
  return win, buf
end

W.format_duration = format_duration

return W
