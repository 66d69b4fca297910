-- wrk script: JSON-RPC getblockcount over keep-alive with basic auth.
-- Usage: COINRS_AUTH="user:password" wrk -s bench/getblockcount.lua http://127.0.0.1:PORT/
local auth = os.getenv("COINRS_AUTH") or ""
local function b64(data)
  local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((data:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#data % 3 + 1])
end
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"getblockcount","params":[]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic " .. b64(auth)
