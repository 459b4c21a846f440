-- wrk script for bench/run.py: an optional form POST from the environment, and one JSON line of figures at the end
local method = os.getenv("BENCH_METHOD")
local body = os.getenv("BENCH_BODY")
if method then wrk.method = method end
if body then
  wrk.body = body
  if not wrk.headers["Content-Type"] then wrk.headers["Content-Type"] = "application/x-www-form-urlencoded" end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p95": %d, "p99": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99)))
end
