-- A GET with a bearer token (items: {token, path}): customer list, staff list, text search,
-- ticket detail.
mode = "cycle"
function build(item)
  return wrk.format("GET", item.path, {["Authorization"] = "Bearer " .. item.token})
end
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
