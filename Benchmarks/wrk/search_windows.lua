-- wrk script for GET /search over the peer benchmark's 12,000 windows (SEARCH_WINDOWS names the
-- file Benchmarks/search_windows.py wrote). Each thread walks the shuffled list from its own
-- starting point, so a window's first request is a cache miss, as in the peer benchmark.
local windows = {}
for line in io.lines(os.getenv("SEARCH_WINDOWS")) do windows[#windows + 1] = line end

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local next_index = nil
request = function()
  if next_index == nil then next_index = ((id or 1) - 1) * math.floor(#windows / 2) end
  next_index = next_index % #windows + 1
  return wrk.format("GET", "/search?" .. windows[next_index])
end
