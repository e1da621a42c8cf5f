-- The library and the context of this Neovim process: loaded and opened on
-- first use (never at startup), a failure reported once.

local levels = vim.log.levels
local config = require("sharedserver.config")

local X = {}

local ffi_mod -- sharedserver.ffi once the library loaded
local lib_error -- why it did not
local ctx -- the context of this Neovim process
local ctx_error
local on_open = {} -- functions called with the context once it is open

--- sharedserver.ffi with the library loaded, or nil and why not.
function X.library()
  if ffi_mod then
    return ffi_mod
  end
  if lib_error then
    return nil, lib_error
  end
  local f = require("sharedserver.ffi")
  local ok, err = f.load(config.lib_path())
  if not ok then
    lib_error = err
    config.notify("on_error", err, levels.ERROR)
    return nil, err
  end
  ffi_mod = f
  return f
end

function X.library_loaded()
  return ffi_mod ~= nil
end

--- The context of this Neovim process, or nil and why not.
function X.get()
  if ctx then
    return ctx
  end
  if ctx_error then
    return nil, ctx_error
  end
  local f, err = X.library()
  if not f then
    return nil, err
  end
  local c
  c, err = f.open(nil)
  if not c then
    ctx_error = err
    config.notify("on_error", err, levels.ERROR)
    return nil, err
  end
  ctx = c
  for _, fn in ipairs(on_open) do
    fn(c)
  end
  return ctx
end

--- The context when it is already open, without opening it.
function X.current()
  return ctx
end

--- Call fn(ctx) once the context is open (at once when it is).
function X.when_open(fn)
  if ctx then
    fn(ctx)
  else
    on_open[#on_open + 1] = fn
  end
end

return X
