-- Small helpers shared by the plugin's modules (no state of their own).

local uv = vim.uv or vim.loop

local U = {}

-- Library messages already begin with "sharedserver: "; ours add context.
function U.bare(msg)
  return (tostring(msg or "unknown error"):gsub("^sharedserver: ", ""))
end

--- Unix time in ms.
function U.now_ms()
  if uv.gettimeofday then
    local s, us = uv.gettimeofday()
    if s then
      return s * 1000 + math.floor(us / 1000)
    end
  end
  return os.time() * 1000
end

function U.sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = k
  end
  table.sort(keys)
  return keys
end

-- A path as the server will get it: ~ and $VARS expanded, absolute.
function U.expand_path(p)
  if p:find("^~") or p:find("%$") then
    p = vim.fn.expand(p)
  end
  return (vim.fn.fnamemodify(p, ":p"):gsub("(.)/$", "%1"))
end

return U
