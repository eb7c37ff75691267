-- wrk script for bench/compare.py: rotate over a URL mix ("host path" lines).
--   wrk ... URL -- MIXFILE direct|proxy
-- direct: origin-form requests with the Host header (wrk connects to the upstream);
-- proxy:  absolute-form requests (http://host/path) to an explicit HTTP proxy.
-- Counts responses that came from the upstream (X-Upstream header) and those the
-- filter answered itself (block page or redirect), and prints one JSON line.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  local mixfile, mode = args[1], args[2]
  reqs = {}
  for line in io.lines(mixfile) do
    local host, path = line:match("^(%S+)%s+(%S+)")
    if host then
      local target = path
      if mode == "proxy" then target = "http://" .. host .. path end
      reqs[#reqs + 1] = "GET " .. target .. " HTTP/1.1\r\nHost: " .. host ..
        "\r\nUser-Agent: Mozilla/5.0 (schoolgate-bench wrk)\r\nAccept: */*\r\n\r\n"
    end
  end
  i = ((id or 1) * 7919) % #reqs
  served, filtered, s5xx, eof = 0, 0, 0, 0
end

function request()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end

function response(status, headers, body)
  if headers["X-Upstream"] or headers["x-upstream"] then
    served = served + 1
  else
    filtered = filtered + 1
  end
  if status >= 500 then s5xx = s5xx + 1 end
  -- A body without Content-Length or chunked encoding ends when the proxy closes
  -- the connection (E2Guardian's block page): wrk counts that close as a read
  -- error, so compare.py subtracts these from the read errors.
  local cl = headers["Content-Length"] or headers["content-length"]
  local te = headers["Transfer-Encoding"] or headers["transfer-encoding"]
  if not cl and not te and status ~= 204 and status ~= 304 then eof = eof + 1 end
end

function done(summary, latency, requests)
  local s, f, e, z = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("served")
    f = f + t:get("filtered")
    e = e + t:get("s5xx")
    z = z + t:get("eof")
  end
  local er = summary.errors
  io.write(string.format(
    'JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "err_connect": %d, ' ..
    '"err_read": %d, "err_write": %d, "err_timeout": %d, "non2xx3xx": %d, "served": %d, ' ..
    '"filtered": %d, "status5xx": %d, "eof_bodies": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    er.connect, er.read, er.write, er.timeout, er.status, s, f, e, z))
end
