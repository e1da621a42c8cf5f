-- One server's table as given to setup()/register(). The plugin handles its
-- own keys (on_start, on_ready, on_exit, and the name); every other key is
-- the server's definition, passed to the library as JSON and checked there
-- (types, values, limits and their messages are the library's).

local U = require("sharedserver.util")

local D = {}

local CALLBACKS = { on_start = true, on_ready = true, on_exit = true }

local json_encode = (vim.json and vim.json.encode) or vim.fn.json_encode
local json_decode = (vim.json and vim.json.decode) or vim.fn.json_decode

-- The definition's JSON text. An empty Lua table is both an empty list and
-- an empty object; as a value it always means "none", so it is left out.
-- `~` and $VARS in string values are expanded as Neovim does for paths.
local function definition_json(config)
  local doc = {}
  for key, value in pairs(config) do
    if not CALLBACKS[key] and not (type(value) == "table" and next(value) == nil) then
      if (key == "working_dir" or key == "log_file") and type(value) == "string" then
        value = U.expand_path(value)
      end
      doc[key] = value
    end
  end
  local ok, text = pcall(json_encode, doc)
  if not ok then
    return nil, tostring(text)
  end
  return text
end

--- A registered server from its table, or nil and the problem. The
--- definition itself is parsed by the library later (D.parse), once it is
--- loaded: before VimEnter it is not.
function D.check(name, config)
  if type(name) ~= "string" then
    return nil, ("sharedserver: server names must be strings, got %s"):format(type(name))
  end
  local where = ("sharedserver: server '%s'"):format(name)
  if type(config) ~= "table" then
    return nil, ("%s: the configuration must be a table, got %s"):format(where, type(config))
  end
  local s = { name = name }
  for key in pairs(CALLBACKS) do
    local fn = config[key]
    if fn ~= nil and type(fn) ~= "function" then
      return nil, ("%s: %s: expected a function, got %s %s"):format(where, key, type(fn), vim.inspect(fn))
    end
    s[key] = fn
  end
  local text, err = definition_json(config)
  if not text then
    return nil, ("%s: %s"):format(where, err)
  end
  s.json = text
  return s
end

-- The normalized definition (defaults filled in) as a Lua table.
local function describe(s, def)
  local text = def:json()
  local ok, doc = pcall(json_decode, text or "")
  if not ok or type(doc) ~= "table" then
    return {}
  end
  return doc
end

--- Parse a registered server's definition with the library `f`: s.definition
--- (the library's handle) and s.spec (its normalized JSON as a table) are
--- set; or nil and the library's message naming the key.
function D.parse(s, f)
  if s.definition then
    return s
  end
  local ok, err = f.name_validate(s.name)
  if not ok then
    return nil, ("sharedserver: server '%s': %s"):format(s.name, U.bare(err))
  end
  local def
  def, err = f.definition(s.json, (vim.uv or vim.loop).cwd())
  if not def then
    return nil, ("sharedserver: server '%s': %s"):format(s.name, U.bare(err))
  end
  s.definition = def
  s.spec = describe(s, def)
  s.lazy = s.spec.lazy == true
  return s
end

--- A server of the project file: its definition as the library read it.
function D.from_project(name, def, path)
  local s = { name = name, project = path, definition = def }
  s.spec = describe(s, def)
  s.lazy = s.spec.lazy == true
  return s
end

--- What status() shows of a server that does not run: { argv, working_dir,
--- log_file, grace_period_ms } from its normalized definition.
function D.summary(s)
  local spec = s.spec or {}
  local argv
  if type(spec.command) == "table" then
    argv = spec.command
  elseif spec.command then
    argv = { spec.command, unpack(spec.args or {}) }
  end
  local grace = spec.idle_timeout
  if type(grace) == "string" then
    grace = require("sharedserver.ffi").duration_parse(grace)
  end
  return {
    argv = argv,
    working_dir = spec.working_dir,
    log_file = spec.log_file,
    grace_period_ms = type(grace) == "number" and grace or nil,
  }
end

return D
