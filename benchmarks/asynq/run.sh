#!/usr/bin/env bash
# run.sh runs asynq's own BenchmarkEndToEndSimple (v0.26.0: 100,000 no-op
# tasks, one server of concurrency 10) and DREDGE's queuebench in the same
# shape (100,000 lift jobs, one pool of concurrency 10), alternately, ROUNDS
# times each, against one redis-server, and prints each figure in tasks per
# second and the ratio DREDGE/asynq.
#
#	benchmarks/asynq/run.sh                             # its own redis-server on a free port
#	REDIS_URL=redis://127.0.0.1:6379/0 benchmarks/asynq/run.sh
#
# Environment: REDIS_URL (redis://host:port[/db]; unset: start redis-server,
# flushed between runs, shut down at the end), ASYNQ_DB (the database
# asynq's benchmark uses and FLUSHES before it runs; default 14, its own
# default), ROUNDS (default 3).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=${ROUNDS:-3}
asynq_db=${ASYNQ_DB:-14}
jobs=100000     # asynq's count, a constant in its benchmark
concurrency=10  # asynq's Config.Concurrency there
scratch=$(mktemp -d)
port=
cleanup() {
	if [[ -n $port ]]; then
		redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
	fi
	rm -rf "$scratch"
}
trap cleanup EXIT

if [[ -z ${REDIS_URL:-} ]]; then
	port=16379
	while (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		port=$((port + 1))
	done
	redis-server --port "$port" --save "" --appendonly no --daemonize yes \
		--pidfile "$scratch/redis.pid" --logfile "$scratch/redis.log"
	for _ in $(seq 50); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	REDIS_URL=redis://127.0.0.1:$port/0
fi
if [[ ! $REDIS_URL =~ ^redis://([^/@]*@)?([^/]+)(/([0-9]+))?$ ]]; then
	echo "run.sh: REDIS_URL: want redis://host:port[/db], got $REDIS_URL" >&2
	exit 2
fi
addr=${BASH_REMATCH[2]}
export REDIS_URL

echo "building asynq's tests and queuebench" >&2
(cd "$here" && go test -c -o "$scratch/asynq.test" github.com/hibiken/asynq)
(cd "$root" && go build -o "$scratch/queuebench" ./examples/queuebench)
echo "redis-server $(redis-cli -h "${addr%:*}" -p "${addr##*:}" info server | sed -n 's/^redis_version:\(.*\)\r$/\1/p') at $addr" >&2

flush() {
	if [[ -n $port ]]; then
		redis-cli -p "$port" flushall >/dev/null
	fi
}

# asynq prints ns per op, an op being the 100,000 tasks.
asynq() {
	flush
	"$scratch/asynq.test" -test.run '^$' -test.bench '^BenchmarkEndToEndSimple$' -test.benchtime 1x \
		-redis_addr="$addr" -redis_db="$asynq_db" |
		awk -v n="$jobs" '/^BenchmarkEndToEndSimple/ { printf "%.0f\n", n / ($3 / 1e9) }'
}

# dredge runs queuebench with its extra flags (-prefill: asynq's shape).
dredge() {
	flush
	"$scratch/queuebench" -backend redis -op lift -jobs "$jobs" -workers 1 -concurrency "$concurrency" -json "$@" |
		sed -n 's/.*"jobs_per_second":\([0-9.e+-]*\).*/\1/p' | awk '{ printf "%.0f\n", $1 }'
}

# Each round runs the three in turn, in reverse order every other round so
# that neither side always runs first after the other.
results=$scratch/results
for r in $(seq "$rounds"); do
	order=(asynq dredge-prefill dredge-concurrent)
	if ((r % 2 == 0)); then
		order=(dredge-concurrent dredge-prefill asynq)
	fi
	for k in "${order[@]}"; do
		case $k in
		asynq) v=$(asynq) ;;
		dredge-prefill) v=$(dredge -prefill) ;;
		dredge-concurrent) v=$(dredge) ;;
		esac
		echo "round $r $k $v" | tee -a "$results"
	done
done

# Median, min and max of each; the ratios dredge/asynq of each round, and
# their median.
awk '
	{ v[$3, $2] = $4; n[$3] = $2 }
	function stats(k, f,   i, j, t, a, m) {
		m = n[k]
		for (i = 1; i <= m; i++) a[i] = v[k, i]
		for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return sprintf(f " (" f "-" f ")", m % 2 ? a[(m+1)/2] : (a[m/2] + a[m/2+1]) / 2, a[1], a[m])
	}
	END {
		m = n["asynq"]
		for (i = 1; i <= m; i++) {
			v["ratio-prefill", i] = v["dredge-prefill", i] / v["asynq", i]
			v["ratio-concurrent", i] = v["dredge-concurrent", i] / v["asynq", i]
		}
		n["ratio-prefill"] = n["ratio-concurrent"] = m
		printf "\nmedian (min-max) of %d rounds\n", m
		printf "  %-34s %s\n", "tasks/s, asynq", stats("asynq", "%.0f")
		printf "  %-34s %s\n", "tasks/s, dredge-prefill", stats("dredge-prefill", "%.0f")
		printf "  %-34s %s\n", "tasks/s, dredge-concurrent", stats("dredge-concurrent", "%.0f")
		printf "  %-34s %s\n", "dredge-prefill/asynq (same shape)", stats("ratio-prefill", "%.2f")
		printf "  %-34s %s\n", "dredge-concurrent/asynq", stats("ratio-concurrent", "%.2f")
	}' "$results"
