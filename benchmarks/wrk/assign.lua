-- POST /api/v1/staff/tickets/{id}/assign {"mode":"auto"}: round robin (items: {token, id}).
-- Owned: one assignment in flight per ticket; each ticket goes back to the end of the queue.
mode = "owned"
function build(item)
  return wrk.format("POST", "/api/v1/staff/tickets/" .. item.id .. "/assign", {
    ["Authorization"] = "Bearer " .. item.token,
    ["Content-Type"] = "application/json",
  }, '{"mode":"auto"}')
end
function track(status, headers, body)
  local id = string.match(body, '^{"id":"([%x%-]+)"')
  if id then give_back(id) end
end
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
