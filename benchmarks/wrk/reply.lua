-- POST /api/v1/staff/tickets/{id}/messages: a lead's public reply (items: {token, id, body}).
-- Owned: one reply in flight per ticket (a reply updates the ticket at the version it read).
mode = "owned"
function build(item)
  return wrk.format("POST", "/api/v1/staff/tickets/" .. item.id .. "/messages", {
    ["Authorization"] = "Bearer " .. item.token,
    ["Content-Type"] = "application/json",
  }, item.body)
end
function track(status, headers, body)
  local id = string.match(body, '"ticket_id":"([%x%-]+)"')
  if id then give_back(id) end
end
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
