-- wrk script for POST /messages: a distinct sender and text per request, so that neither the
-- rate limit nor the duplicate window refuses anything and every request does all the work.
-- Each wrk thread gets its own id and random seed: with wrk's default, every thread would
-- generate the same sequence and half the requests would be duplicates.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local counter = 0
function init(args)
  math.randomseed(os.time() * 1000 + id)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local sender = string.format("+1415%d%06d", math.random(2, 9), math.random(0, 999999))
  local body = string.format('{"from":"%s","to":"+442071838750","message":"bench %d %d %d"}', sender, id, counter, math.random(0, 1e9))
  return wrk.format(nil, wrk.path, nil, body)
end
