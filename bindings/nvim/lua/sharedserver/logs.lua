-- :ServerLogs — a server's log in a split that follows new output.
-- Loaded the first time it is used.

local uv = vim.uv or vim.loop
local levels = vim.log.levels

local config = require("sharedserver.config")
local context = require("sharedserver.context")
local U = require("sharedserver.util")

local M = {}

local TAIL_LINES = 200
local POLL_MS = 250

local function fs_size(path)
  local st = uv.fs_stat(path)
  return st and st.size or nil
end

local function fs_inode(path)
  local st = uv.fs_stat(path)
  return st and st.ino or nil
end

local function read_range(path, offset, len)
  local fd = uv.fs_open(path, "r", 438)
  if not fd then
    return nil
  end
  local data = uv.fs_read(fd, len, offset)
  uv.fs_close(fd)
  return data
end

-- The file the server logs to: the running server's, else the configured one.
local function log_path(ctx, name)
  local info = ctx and ctx:info(name)
  if info and info.log_file then
    return info.log_file
  end
  local s = config.server(name)
  local configured = s and require("sharedserver.definition").summary(s).log_file
  if configured then
    return configured
  end
  local path = ctx and ctx:log_path(name)
  return path ~= "" and path or nil
end

local function split_lines(text)
  local lines = vim.split(text, "\n", { plain = true })
  return lines
end

-- Append `text` to the buffer, continuing its last line when that was partial.
local function append(buf, state, text)
  if text == "" then
    return
  end
  local lines = split_lines(state.partial .. text)
  state.partial = table.remove(lines) -- "" when text ended with a newline
  local count = vim.api.nvim_buf_line_count(buf)
  local last = vim.api.nvim_buf_get_lines(buf, count - 1, count, false)[1]
  vim.bo[buf].modifiable = true
  if state.pending_partial_line then
    -- replace the partial line shown so far
    vim.api.nvim_buf_set_lines(buf, count - 1, count, false, {})
    count = count - 1
  end
  if #lines > 0 then
    if count == 1 and last == "" and not state.started then
      vim.api.nvim_buf_set_lines(buf, 0, 1, false, lines)
    else
      vim.api.nvim_buf_set_lines(buf, -1, -1, false, lines)
    end
    state.started = true
  end
  state.pending_partial_line = false
  if state.partial ~= "" then
    vim.api.nvim_buf_set_lines(buf, -1, -1, false, { state.partial })
    state.pending_partial_line = true
  end
  vim.bo[buf].modifiable = false
end

-- Keep windows that showed the end of the buffer at its end.
local function follow(buf, before)
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    local row = vim.api.nvim_win_get_cursor(win)[1]
    if row >= before then
      vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(buf), 0 })
    end
  end
end

local function poll(buf, state)
  if not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  local before = vim.api.nvim_buf_line_count(buf)
  local ino = fs_inode(state.path)
  if state.ino and ino ~= state.ino then
    -- Renamed to <log>.1 by its pump at its cap: what that file got since
    -- the last look is read first, then the new log from its beginning.
    local rotated = state.path .. ".1"
    local rotated_size = fs_size(rotated)
    if fs_inode(rotated) == state.ino and rotated_size and rotated_size > state.offset then
      local rest = read_range(rotated, state.offset, rotated_size - state.offset)
      if rest then
        append(buf, state, rest)
      end
    end
    state.offset = 0
  end
  state.ino = ino
  local size = fs_size(state.path)
  if size and size < state.offset then
    -- truncated by someone: start over at its beginning
    state.offset = 0
  end
  if size and size > state.offset then
    local data = read_range(state.path, state.offset, size - state.offset)
    if data then
      state.offset = state.offset + #data
      append(buf, state, data)
    end
  end
  if vim.api.nvim_buf_line_count(buf) ~= before then
    follow(buf, before)
  end
end

--- Show `name`'s log. opts.lines: how many lines of it to show first (200).
function M.show(name, opts)
  opts = opts or {}
  if type(name) ~= "string" or name == "" then
    config.notify("on_error", "sharedserver: :ServerLogs needs a server name", levels.ERROR)
    return nil, "no name"
  end
  local ctx, err = context.get()
  if not ctx then
    return nil, err
  end
  local path = log_path(ctx, name)
  local text
  local offset = 0
  if path and fs_size(path) then
    -- read the file itself so that following it continues exactly at its end
    offset = fs_size(path)
    text = read_range(path, 0, offset) or ""
    local lines = split_lines(text)
    if lines[#lines] == "" then
      table.remove(lines)
    end
    local n = opts.lines or TAIL_LINES
    if #lines > n then
      lines = { unpack(lines, #lines - n + 1) }
    end
    text = table.concat(lines, "\n") .. (text:sub(-1) == "\n" and "\n" or "")
  else
    local tail, terr = ctx:log_tail(name, opts.lines or TAIL_LINES)
    if not tail then
      if not config.server(name) and not ctx:info(name) then
        config.unknown(name)
      else
        config.notify("on_error", ("sharedserver: no log for '%s': %s"):format(name, U.bare(terr)), levels.ERROR)
      end
      return nil, terr
    end
    text = tail
  end

  local bufname = "sharedserver://logs/" .. name
  local existing = vim.fn.bufnr(bufname)
  if existing ~= -1 and vim.api.nvim_buf_is_valid(existing) then
    vim.api.nvim_buf_delete(existing, { force = true })
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(buf, bufname)
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = "sharedserverlog"
  local state = { path = path, offset = offset, ino = path and fs_inode(path), partial = "", started = false }
  append(buf, state, text)
  vim.bo[buf].modifiable = false

  vim.cmd("botright split")
  local win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_buf(win, buf)
  vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(buf), 0 })
  vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = buf, nowait = true, silent = true })

  if path then
    -- A timer while the buffer exists (an fs_event would miss a log that is
    -- replaced or created later); stopped when the buffer is wiped.
    local timer = uv.new_timer()
    timer:start(POLL_MS, POLL_MS, vim.schedule_wrap(function()
      poll(buf, state)
    end))
    vim.api.nvim_create_autocmd("BufWipeout", {
      buffer = buf,
      once = true,
      callback = function()
        if not timer:is_closing() then
          timer:stop()
          timer:close()
        end
      end,
    })
    M._timers = M._timers or {}
    M._timers[buf] = timer
  end
  return win, buf
end

--- Timers of open log buffers (for tests): buffer -> timer.
function M.watching()
  local n = 0
  for buf, t in pairs(M._timers or {}) do
    if vim.api.nvim_buf_is_valid(buf) and not t:is_closing() then
      n = n + 1
    else
      M._timers[buf] = nil
    end
  end
  return n
end

return M
