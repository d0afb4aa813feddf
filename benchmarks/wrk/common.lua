-- Shared by every benchmark script (wrk 4, LuaJIT). An operation script sets `mode` and
-- `build(item)` (and `track(item, status, headers, body)` when it owns tickets), then does
-- dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua").
--
-- BENCH_DATA names a generated Lua file returning { items = { ... } }; BENCH_THREADS is
-- wrk's -t. Modes:
--   "cycle": every thread cycles through all items, starting at its own offset;
--   "owned": thread k of n owns items k, k + n, k + 2n, ... (disjoint slices), at most one
--            request in flight per item: request() takes an item from the thread's queue,
--            response() gives it back (via `track`, which reads the item's id in the body),
--            so a PATCH always names the version it last saw and no two requests of one run
--            ever change the same ticket at once.
-- done() prints one line "BENCH_JSON {...}": requests, duration, latency percentiles and
-- errors (socket errors, timeouts, and every status outside 2xx).

local data = dofile(os.getenv("BENCH_DATA"))
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")

local threads = {}
local next_index = 1

function setup(thread)
  thread:set("thread_index", next_index)
  table.insert(threads, thread)
  next_index = next_index + 1
end

-- per thread ----------------------------------------------------------------------

local items, cached, position = {}, {}, 0
local queue, head, tail = {}, 1, 0
inflight = {}
non2xx, starved, status_counts, first_error = 0, 0, {}, ""

local function push(item)
  tail = tail + 1
  queue[tail] = item
end

local function pop()
  if head > tail then return nil end
  local item = queue[head]
  queue[head] = nil
  head = head + 1
  return item
end

function give_back(id)
  local item = inflight[id]
  if item ~= nil then
    inflight[id] = nil
    push(item)
  end
  return item
end

function init(args)
  local index = thread_index or 1
  if mode == "owned" then
    for i = index, #data.items, thread_count do
      push(data.items[i])
    end
  else
    items = data.items
    position = math.floor((index - 1) * #items / thread_count)
    for i, item in ipairs(items) do
      cached[i] = build(item)
    end
  end
end

function request()
  if mode == "owned" then
    local item = pop()
    if item == nil then  -- every owned ticket is in flight or lost to an error
      starved = starved + 1
      wrk.thread:stop()
      return wrk.format("GET", "/health/live")
    end
    inflight[item.id] = item
    return build(item)
  end
  position = position % #cached + 1
  return cached[position]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    local key = tostring(status)
    status_counts[key] = (status_counts[key] or 0) + 1
    if first_error == "" then
      first_error = key .. " " .. string.sub(body or "", 1, 300)
    end
  elseif track ~= nil then
    track(status, headers, body)
  end
end

-- done: one JSON line ---------------------------------------------------------------

local function encode(value)
  local kind = type(value)
  if kind == "table" then
    local parts = {}
    for k, v in pairs(value) do
      parts[#parts + 1] = encode(tostring(k)) .. ":" .. encode(v)
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif kind == "string" then
    local escaped = value:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
    end)
    return '"' .. escaped .. '"'
  elseif kind == "number" then
    return string.format("%.17g", value)
  elseif kind == "boolean" then
    return tostring(value)
  end
  return "null"
end

function done(summary, latency, requests)
  local total_non2xx, total_starved, statuses, errors = 0, 0, {}, {}
  for _, thread in ipairs(threads) do
    total_non2xx = total_non2xx + (thread:get("non2xx") or 0)
    total_starved = total_starved + (thread:get("starved") or 0)
    for k, v in pairs(thread:get("status_counts") or {}) do
      statuses[k] = (statuses[k] or 0) + v
    end
    local first = thread:get("first_error") or ""
    if first ~= "" then errors[#errors + 1] = first end
  end
  local result = {
    requests = summary.requests,
    duration_us = summary.duration,
    bytes = summary.bytes,
    socket_errors = summary.errors,
    non2xx = total_non2xx,
    statuses = statuses,
    first_errors = errors,
    starved = total_starved,
    latency_us = {
      min = latency.min,
      mean = latency.mean,
      stdev = latency.stdev,
      max = latency.max,
      p50 = latency:percentile(50),
      p90 = latency:percentile(90),
      p99 = latency:percentile(99),
    },
  }
  io.write("BENCH_JSON " .. encode(result) .. "\n")
end
