#!/usr/bin/env bash
# compare.sh: the load test of POST /mcp unified_inference (unified.lua, a
# distinct insight per request), against the service and against bare, a
# net/http server that does no work, alternated in the same minutes: this
# machine's speed drifts, so a figure means little without a reference
# measured beside it.
#
#   bash examples/http-service/loadtest/compare.sh [rounds]     # default 6
#
# Each round starts each server afresh, warms it up with a 10 s run (a fresh
# process spends its first seconds faulting in its heap) and measures a 15 s
# run of wrk -t2 -c32. Extra variants of the service can be added as
# VARIANTS='CACHE_ENABLED=false;GOMAXPROCS=4' (environment settings, ;-separated).
# It prints requests per second, the p99 latency, the server's CPU time per
# request, and each run's ratio to bare in the same round; then the medians.
set -euo pipefail
cd "$(dirname "$0")/../../.."
rounds=${1:-6}
warm=${WARM:-10}
dur=${DUR:-15}
port=${PORT:-3913}
script=examples/http-service/loadtest/unified.lua
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/http-service" ./examples/http-service
go build -o "$bin/bare" ./examples/http-service/loadtest/bare

variants=("dredge|")
IFS=';' read -r -a extra <<< "${VARIANTS:-}"
for v in "${extra[@]}"; do [ -n "$v" ] && variants+=("dredge $v|$v"); done
variants+=("bare|")

# run NAME ENV: one fresh server, a warm-up run and a measured run; prints
# "rps p99 cpu_us" (p99 in ms).
run() {
  local name=$1 envs=$2 pid
  if [ "$name" = bare ]; then
    "$bin/bare" -addr 127.0.0.1:$port & pid=$!
  else
    env $envs LOG_LEVEL=warn "$bin/http-service" -addr 127.0.0.1:$port & pid=$!
  fi
  for _ in $(seq 50); do curl -s -o /dev/null -X POST -d '{}' http://127.0.0.1:$port/mcp && break; sleep 0.1; done
  wrk -t2 -c32 -d${warm}s -s $script http://127.0.0.1:$port/mcp > /dev/null
  local t0 t1 out
  t0=$(awk '{print $14+$15}' /proc/$pid/stat)
  out=$(wrk -t2 -c32 -d${dur}s --latency -s $script http://127.0.0.1:$port/mcp)
  t1=$(awk '{print $14+$15}' /proc/$pid/stat)
  kill $pid; wait $pid 2>/dev/null || true
  if grep -qE 'Non-2xx|Socket errors' <<< "$out"; then
    echo "$name: errors: $(grep -E 'Non-2xx|Socket errors' <<< "$out" | tr '\n' ' ')" >&2
  fi
  awk -v t0=$t0 -v t1=$t1 -v hz=$(getconf CLK_TCK) '
    /requests in/ {n=$1}
    /Requests\/sec/ {rps=$2}
    $1=="99%" {p=$2; if (p ~ /us$/) p=p/1000; else if (p ~ /ms$/) p=p+0; else if (p ~ /s$/) p=p*1000}
    END {printf "%.0f %.2f %.1f\n", rps, p, (t1-t0)/hz*1e6/n}' <<< "$out"
}

results=$(mktemp)
printf '%-6s' round; for v in "${variants[@]}"; do printf ' | %-34s' "${v%%|*} req/s p99 µs/req ratio"; done; echo
declare -A got
for r in $(seq "$rounds"); do
  for v in "${variants[@]}"; do got["${v%%|*}"]=$(run "${v%%|*}" "${v#*|}"); done
  base=$(cut -d' ' -f1 <<< "${got[bare]}")
  printf '%-6s' "$r"
  for v in "${variants[@]}"; do
    name=${v%%|*}; read -r rps p99 cpu <<< "${got[$name]}"
    ratio=$(awk -v a=$rps -v b=$base 'BEGIN{printf "%.2f", a/b}')
    printf ' | %7s %6sms %6s %5s       ' "$rps" "$p99" "$cpu" "$ratio"
    echo "$name $rps $p99 $cpu $ratio" >> "$results"
  done
  echo
done
echo "medians over $rounds rounds:"
for v in "${variants[@]}"; do
  name=${v%%|*}
  awk -v n="$name" '{k=$1; for (i=2; i<NF-3; i++) k=k" "$i} k==n {rps[++c]=$(NF-3); p[c]=$(NF-2); cpu[c]=$(NF-1); ra[c]=$NF}
    function med(a, c,   i,j,t) {for(i=1;i<=c;i++)for(j=i+1;j<=c;j++)if(a[j]<a[i]){t=a[i];a[i]=a[j];a[j]=t}; return c%2?a[(c+1)/2]:(a[c/2]+a[c/2+1])/2}
    END {printf "  %-34s %6.0f req/s  p99 %5.2f ms  %5.1f µs/req  ratio to bare %.2f\n", n, med(rps,c), med(p,c), med(cpu,c), med(ra,c)}' "$results"
done
rm -f "$results"
