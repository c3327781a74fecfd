-- SPDX-License-Identifier: MIT
-- bench/wrk_auth.lua - wrk script for bench/service.sh
--
-- Every request carries the bearer token from VIGIL_BENCH_TOKEN. At the end, "key value"
-- lines for bench/service.sh: requests, errors (connect, read, write, timeout), non-2xx
-- answers, and latency percentiles in microseconds.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("VIGIL_BENCH_TOKEN")

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("wrk_requests %d\n", summary.requests))
	io.write(string.format("wrk_duration_us %d\n", summary.duration))
	io.write(string.format("wrk_errors %d\n", e.connect + e.read + e.write + e.timeout))
	io.write(string.format("wrk_err_connect %d\n", e.connect))
	io.write(string.format("wrk_err_read %d\n", e.read))
	io.write(string.format("wrk_err_write %d\n", e.write))
	io.write(string.format("wrk_timeouts %d\n", e.timeout))
	io.write(string.format("wrk_non2xx %d\n", e.status))
	io.write(string.format("wrk_p50_us %d\n", latency:percentile(50)))
	io.write(string.format("wrk_p90_us %d\n", latency:percentile(90)))
	io.write(string.format("wrk_p99_us %d\n", latency:percentile(99)))
	io.write(string.format("wrk_max_us %d\n", latency.max))
end
