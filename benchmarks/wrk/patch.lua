-- PATCH /api/v1/staff/tickets/{id} with If-Match (items: {token, id, version, status}).
-- Owned: the thread knows each ticket's version (from the runner, then from each answer) and
-- moves it between pending and open, so every PATCH names the current version.
mode = "owned"
function build(item)
  return wrk.format("PATCH", "/api/v1/staff/tickets/" .. item.id, {
    ["Authorization"] = "Bearer " .. item.token,
    ["Content-Type"] = "application/json",
    ["If-Match"] = '"' .. item.version .. '"',
  }, '{"status":"' .. item.status .. '"}')
end
function track(status, headers, body)
  local id = string.match(body, '^{"id":"([%x%-]+)"')
  local version = tonumber(string.match(body, '"version":(%d+)'))
  local item = id and give_back(id)
  if item then
    item.version = version or (item.version + 1)
    item.status = (item.status == "pending") and "open" or "pending"
  end
end
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
