-- GET a random path from a file (one per line), then print a JSON summary.
-- Usage: wrk -s random_paths.lua URL -- PATHS_FILE
local paths = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
end

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  -- Each thread its own sequence: threads seeded alike would send the same paths.
  math.randomseed(os.time() * 100 + (thread_number or 0))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, '
      .. '"write_errors": %d, "non_2xx": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
