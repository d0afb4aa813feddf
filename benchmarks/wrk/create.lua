-- POST /api/v1/tickets: a customer opens a ticket (items: {token, body}).
mode = "cycle"
function build(item)
  return wrk.format("POST", "/api/v1/tickets", {
    ["Authorization"] = "Bearer " .. item.token,
    ["Content-Type"] = "application/json",
  }, item.body)
end
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
