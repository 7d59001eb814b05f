-- wrk --script: after the run, the 99.9th percentile of the latency (wrk --latency prints 50/75/90/99 only).
-- wrk keeps every latency in microseconds; bench/wrk.py reads this line.
done = function(summary, latency, requests)
  io.write(string.format("p99.9 latency: %dus\n", latency:percentile(99.9)))
end
