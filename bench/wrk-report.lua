-- Loaded by quartet-bench with `wrk -s`: after the run, prints one line of JSON with the
-- counts and the latency percentiles (microseconds) that the harness reads.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'QUARTET-BENCH {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"non_2xx":%d,' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
