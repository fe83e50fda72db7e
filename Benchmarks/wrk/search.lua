-- wrk script for GET /search: one of 50 two-day windows over the benchmark's events, so the
-- answers are realistic in size (about 100 events) and the cache sees repeats.
request = function()
  local day = math.random(0, 49) * 2
  local from = os.time({year = 2030, month = 1, day = 1, hour = 0}) + day * 86400
  local starts = os.date("!%Y-%m-%dT%H:%M:%SZ", from)
  local ends = os.date("!%Y-%m-%dT%H:%M:%SZ", from + 2 * 86400)
  return wrk.format("GET", "/search?starts_at=" .. starts .. "&ends_at=" .. ends)
end
