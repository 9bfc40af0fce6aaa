-- wrk script: POST a canned body with fixed headers; done() prints one JSON
-- line of results that scripts/bench.sh collects.
--   wrk ... -s bench/wrk/post.lua URL -- BODY_FILE [HEADER ...]
-- HEADER is "Name: value". The pseudo-header "X-Bench-Invalid-Keys: NAME"
-- instead sends header NAME with a well-formed but unknown key that changes
-- on every request (1,024 pre-built requests, round-robin, so a cache of
-- recently rejected keys cannot absorb the flood): the auth flood.

local function read_file(path)
  local f = assert(io.open(path, "rb"), "cannot open " .. path)
  local data = f:read("*a")
  f:close()
  return data
end

local base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
local function fake_key()
  local out = { "sk-llmp-" }
  for _ = 1, 43 do
    local i = math.random(1, 62)
    out[#out + 1] = base62:sub(i, i)
  end
  return table.concat(out)
end

function init(args)
  assert(args[1], "usage: -- BODY_FILE [HEADER ...]")
  wrk.method = "POST"
  wrk.body = read_file(args[1])
  wrk.headers["Content-Type"] = "application/json"
  local invalid_key_header = nil
  for i = 2, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    assert(name, "bad header: " .. args[i])
    if name:lower() == "x-bench-invalid-keys" then
      invalid_key_header = value
    else
      wrk.headers[name] = value
    end
  end
  if invalid_key_header then
    math.randomseed(os.time())
    local requests = {}
    for i = 1, 1024 do
      local h = {}
      for name, value in pairs(wrk.headers) do h[name] = value end
      h[invalid_key_header] = fake_key()
      requests[i] = wrk.format("POST", nil, h, wrk.body)
    end
    local n = 0
    -- Defined only here: without a global request() wrk keeps its static,
    -- Lua-free fast path for every other case.
    request = function()
      n = n % #requests + 1
      return requests[n]
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.1f,"bytes":%d,' ..
    '"lat_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, secs, summary.requests / secs, summary.bytes,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
