-- wrk script for GET /search: one of 200 six-hour windows over the benchmark's 10,000 events
-- (one every 863 s), so each answer holds about 25 events (~4.5 KB) and the cache sees repeats.
request = function()
  local slot = math.random(0, 199)
  local from = os.time({year = 2030, month = 1, day = 1, hour = 0}) + slot * 6 * 3600
  local starts = os.date("!%Y-%m-%dT%H:%M:%SZ", from)
  local ends = os.date("!%Y-%m-%dT%H:%M:%SZ", from + 6 * 3600)
  return wrk.format("GET", "/search?starts_at=" .. starts .. "&ends_at=" .. ends)
end
