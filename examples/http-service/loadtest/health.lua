-- wrk script for the baseline: GET /health, no body, no Engine call.
--   wrk -t2 -c32 -d20s --latency -s examples/http-service/loadtest/health.lua http://127.0.0.1:3001/health
wrk.method = "GET"
