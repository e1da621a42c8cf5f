-- Attach through the Neovim plugin's LuaJIT ffi binding, under plain luajit.
-- Run by bench_sharedserver (section `luajit`), which starts the server
-- `name` with another client first, so every use is a plain attach
-- (refcount 1 -> 2) and every unuse a plain detach (2 -> 1):
--
--   SHAREDSERVER_LIB=<lib> SHAREDSERVER_LOCKDIR=<dir> \
--     luajit benchmarks/attach.lua <plugin lua dir> <name> <batches> <ops per batch>
--
-- Times Context:use / Context:unuse (what the plugin calls) with
-- clock_gettime(CLOCK_MONOTONIC) and the thread's CPU time, both through ffi;
-- prints one JSON object on stdout. Errors go to stderr, exit status 1.
local lua_dir, name, batches, ops = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4])
package.path = lua_dir .. "/?.lua;" .. package.path

local ffi = require("ffi")
ffi.cdef([[
struct ss_bench_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clock, struct ss_bench_timespec *ts);
]])
local CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID = 1, 3
local ts = ffi.new("struct ss_bench_timespec")
local function us(clock)
  ffi.C.clock_gettime(clock, ts)
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local t0 = us(CLOCK_MONOTONIC)
local ss = require("sharedserver.ffi")
local ok, err = ss.load()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
local ctx, msg = ss.open(nil)
if not ctx then
  io.stderr:write(tostring(msg), "\n")
  os.exit(1)
end
local load_us = us(CLOCK_MONOTONIC) - t0

local function die(what, m)
  io.stderr:write(what, ": ", tostring(m), "\n")
  os.exit(1)
end

for _ = 1, 100 do -- warm-up: JIT traces, page cache, allocator
  local r, m = ctx:use(name, {})
  if not r then die("use", m) end
  local left, m2 = ctx:unuse(name)
  if not left then die("unuse", m2) end
end

local attach, attach_cpu, detach = {}, {}, {}
for _ = 1, batches do
  for _ = 1, ops do
    local c0 = us(CLOCK_THREAD_CPUTIME_ID)
    local w0 = us(CLOCK_MONOTONIC)
    local r, m = ctx:use(name, {})
    local w1 = us(CLOCK_MONOTONIC)
    local c1 = us(CLOCK_THREAD_CPUTIME_ID)
    if not r then die("use", m) end
    if r.outcome ~= "attached" or r.refcount ~= 2 then
      die("use", "expected a plain attach at refcount 2, got " .. tostring(r.outcome) .. " " .. tostring(r.refcount))
    end
    local left, m2 = ctx:unuse(name)
    local w2 = us(CLOCK_MONOTONIC)
    if not left then die("unuse", m2) end
    attach[#attach + 1] = string.format("%.3f", w1 - w0)
    attach_cpu[#attach_cpu + 1] = string.format("%.3f", c1 - c0)
    detach[#detach + 1] = string.format("%.3f", w2 - w1)
  end
end
ctx:close()
io.write(string.format('{"load_us": %.3f, "attach_us": [%s], "attach_cpu_us": [%s], "detach_us": [%s]}\n', load_us,
  table.concat(attach, ","), table.concat(attach_cpu, ","), table.concat(detach, ",")))
