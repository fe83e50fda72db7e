-- wrk script for POST /messages: a distinct sender and text per request, so that neither the
-- rate limit nor the duplicate window refuses anything and every request does all the work.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local counter = 0
request = function()
  counter = counter + 1
  local sender = string.format("+1415%d%06d", math.random(2, 9), math.random(0, 999999))
  local body = string.format('{"from":"%s","to":"+442071838750","message":"bench %d %d"}', sender, counter, math.random(0, 1e9))
  return wrk.format(nil, wrk.path, nil, body)
end
