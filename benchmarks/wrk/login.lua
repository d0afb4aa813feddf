-- POST /api/v1/auth/login as a customer (items: {body}). Its cost is the password hash.
mode = "cycle"
function build(item)
  return wrk.format("POST", "/api/v1/auth/login", {["Content-Type"] = "application/json"}, item.body)
end
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
