#!/usr/bin/env bash
# local-cluster.sh — the deploy topology of deploy/compose.yaml as plain
# processes on loopback, for machines without a container engine (CI, the
# development VM) and for trying scale-out by hand:
#
#   scripts/local-cluster.sh start [N]   # build, start, wait until all are healthy (N workers, default 2)
#   scripts/local-cluster.sh status      # each process: pid, port, running or not, health; 1 if any is down
#   scripts/local-cluster.sh stop        # SIGTERM, then SIGKILL past the timeout; idempotent
#   scripts/smoke.sh                     # exercises the running cluster end to end
#
# The processes, each on its own port (every port overridable):
#
#   redis        redis-server, append-only, data in $DIR/redis                      DREDGE_CLUSTER_REDIS_PORT      7300
#   service-1    examples/http-service, NUM_WORKERS=0: takes jobs, runs none        DREDGE_CLUSTER_SERVICE1_PORT   7301
#   service-2    the same, a second instance on the same Redis                      DREDGE_CLUSTER_SERVICE2_PORT   7302
#   mcp-server   examples/mcp-server -transport http (/mcp), NUM_WORKERS=0          DREDGE_CLUSTER_MCP_PORT        7303
#   prometheus   if installed: scrapes every process's /metrics every 2 s           DREDGE_CLUSTER_PROMETHEUS_PORT 7304
#   worker-I     examples/worker, I = 1..N; /health and /metrics on METRICS_PORT    DREDGE_CLUSTER_WORKER_PORT     7310 + I - 1
#
# All of them share Redis through REDIS_URL with QUEUE_BACKEND=redis,
# CACHE_BACKEND=redis and MODEL_STORE=redis: a job submitted to either
# service is run by some worker, and a model loaded through one instance
# answers through the other (README, Scale-out). The services and the MCP
# server only enqueue (NUM_WORKERS=0; allowed with the Redis queue), so
# that every job of the smoke test goes through the worker processes. The
# workers take NUM_WORKERS and WORKER_CONCURRENCY from the caller's
# environment (their defaults otherwise); LOG_LEVEL defaults to info.
#
# The state directory, DREDGE_CLUSTER_DIR (default /tmp/dredge-cluster):
#   bin/          the three binaries, built with the go command at each start
#   procs         a line per process: name kind port pid (what status, stop and smoke.sh read)
#   logs/NAME.log each process's stdout and stderr
#   redis/        Redis's append-only files (kept across stop and start: that is the point)
#   prometheus/   the generated prometheus.yml and the TSDB
#
# Redis fsyncs its append-only file on every write (appendfsync always,
# as README's Scale-out runs it: an accepted job survives a crash of
# Redis); DREDGE_CLUSTER_REDIS_FSYNC=everysec trades that for speed. The
# workers' METRICS_PORT listens on every interface (examples/worker takes
# a port, not an address); everything else on 127.0.0.1 only.
#
# Redis is not scraped: it has no /metrics without an exporter, which this
# script does not assume. The MCP server is scraped when its /metrics
# answers; it has none yet, so Prometheus's targets are the two services,
# the workers and Prometheus itself. DREDGE_CLUSTER_PROMETHEUS=off leaves
# Prometheus out; DREDGE_CLUSTER_STOP_TIMEOUT (seconds, default 40: a
# worker's SHUTDOWN_TIMEOUT of 30 s plus margin) bounds each stop's wait
# before SIGKILL; DREDGE_CLUSTER_READY_TIMEOUT (default 60) each start's
# wait for a process to be healthy.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${DREDGE_CLUSTER_DIR:-/tmp/dredge-cluster}
REDIS_PORT=${DREDGE_CLUSTER_REDIS_PORT:-7300}
SERVICE1_PORT=${DREDGE_CLUSTER_SERVICE1_PORT:-7301}
SERVICE2_PORT=${DREDGE_CLUSTER_SERVICE2_PORT:-7302}
MCP_PORT=${DREDGE_CLUSTER_MCP_PORT:-7303}
PROMETHEUS_PORT=${DREDGE_CLUSTER_PROMETHEUS_PORT:-7304}
WORKER_PORT=${DREDGE_CLUSTER_WORKER_PORT:-7310}
STOP_TIMEOUT=${DREDGE_CLUSTER_STOP_TIMEOUT:-40}
READY_TIMEOUT=${DREDGE_CLUSTER_READY_TIMEOUT:-60}
PROCS=$DIR/procs

usage() {
  echo "usage: $0 start [N workers] | stop | status   (state in \$DREDGE_CLUSTER_DIR, now $DIR)" >&2
  exit 2
}

log() { echo "local-cluster: $*"; }

# matches KIND prints the text that a live process of that kind has in its
# command line, so that a pid left in $PROCS and reused by another
# program since is never signalled.
matches() {
  case $1 in
    redis) echo redis-server ;;
    prometheus) echo prometheus ;;
    service) echo "$DIR/bin/http-service" ;;
    worker) echo "$DIR/bin/worker" ;;
    mcp) echo "$DIR/bin/mcp-server" ;;
  esac
}

# alive PID KIND: the process runs and is the one we started. A zombie
# (state Z) has exited: once this script has exited, its processes' parent
# is init, which may take a while to reap them, and a zombie answers
# kill -0 and keeps its name in ps.
alive() {
  local out
  out=$(ps -p "$1" -o stat=,args= 2>/dev/null) || return 1
  out=${out#"${out%%[![:space:]]*}"}
  [[ $out != Z* && $out == *"$(matches "$2")"* ]]
}

# port_busy PORT: something already listens there (bash connects through
# /dev/tcp, so neither ss nor lsof is needed).
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# health KIND PORT prints the process's health: the HTTP status of its
# health endpoint, PONG for Redis, or "down".
health() {
  local url
  case $1 in
    redis)
      redis-cli -h 127.0.0.1 -p "$2" ping </dev/null 2>/dev/null || echo down
      return ;;
    service) url=/ready ;;
    worker) url=/health ;;
    mcp) url=/ ;; # the capabilities: the MCP server has no /health
    prometheus) url=/-/ready ;;
  esac
  curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$2$url" 2>/dev/null | sed 's/^000$/down/'
}

healthy() {
  case $(health "$1" "$2") in
    PONG | 200) return 0 ;;
  esac
  return 1
}

# launch NAME KIND PORT CMD...: starts CMD in its own session (setsid,
# where there is one), so that the terminal's or a CI step's signals reach
# it only through stop; its stdin is /dev/null and its output goes to its
# log, so that a caller collecting this script's output (a test's
# CombinedOutput) does not wait on the pipe it would otherwise inherit.
launch() {
  local name=$1 kind=$2 port=$3
  shift 3
  if port_busy "$port"; then
    echo "local-cluster: port $port ($name) is in use; set DREDGE_CLUSTER_*_PORT" >&2
    return 1
  fi
  local detach=()
  command -v setsid >/dev/null && detach=(setsid)
  # Without job control a background child is no process group leader, so
  # setsid calls setsid(2) in place and execs: $! is the program's pid.
  "${detach[@]}" "$@" </dev/null >"$DIR/logs/$name.log" 2>&1 &
  echo "$name $kind $port $!" >>"$PROCS"
}

# await NAME KIND PORT PID: waits until the process is healthy; fails early
# with its log's tail if it exits.
await() {
  local name=$1 kind=$2 port=$3 pid=$4 deadline=$((SECONDS + READY_TIMEOUT))
  until healthy "$kind" "$port"; do
    if ! alive "$pid" "$kind"; then
      echo "local-cluster: $name exited; the end of $DIR/logs/$name.log:" >&2
      tail -n 20 "$DIR/logs/$name.log" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "local-cluster: $name not healthy within ${READY_TIMEOUT}s (health: $(health "$kind" "$port")); the end of its log:" >&2
      tail -n 20 "$DIR/logs/$name.log" >&2
      return 1
    fi
    sleep 0.1
  done
  log "$name healthy on 127.0.0.1:$port (pid $pid)"
}

# await_last: awaits the process launch wrote last.
await_last() {
  local name kind port pid
  read -r name kind port pid < <(tail -n 1 "$PROCS")
  await "$name" "$kind" "$port" "$pid"
}

# running: the processes of $PROCS that are still alive, a line each.
running() {
  [[ -f $PROCS ]] || return 0
  local name kind port pid
  while read -r name kind port pid; do
    if alive "$pid" "$kind"; then echo "$name $kind $port $pid"; fi
  done <"$PROCS"
}

start() {
  local n=${1:-2}
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "local-cluster: N workers must be a positive integer, got '$n'" >&2; exit 2; }
  command -v go >/dev/null || { echo "local-cluster: the go command is not on PATH" >&2; exit 1; }
  command -v redis-server >/dev/null || { echo "local-cluster: redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }
  command -v redis-cli >/dev/null || { echo "local-cluster: redis-cli is not installed (apt-get install redis-tools)" >&2; exit 1; }
  if [[ -n $(running) ]]; then
    echo "local-cluster: already running in $DIR ($0 status); stop it first" >&2
    exit 1
  fi
  # Every port free before anything starts (launch checks again, for
  # what took one meanwhile).
  local p busy=()
  for p in "$REDIS_PORT" "$SERVICE1_PORT" "$SERVICE2_PORT" "$MCP_PORT" "$PROMETHEUS_PORT" \
    $(seq "$WORKER_PORT" $((WORKER_PORT + n - 1))); do
    if port_busy "$p"; then busy+=("$p"); fi
  done
  if ((${#busy[@]})); then
    echo "local-cluster: ports in use: ${busy[*]}; set DREDGE_CLUSTER_*_PORT (see $0's header)" >&2
    exit 1
  fi
  mkdir -p "$DIR/bin" "$DIR/logs" "$DIR/redis"
  rm -f "$PROCS"

  # Whatever fails from here stops what was started, so that a failed
  # start leaves no process behind.
  trap 'echo "local-cluster: start failed; stopping what was started" >&2; stop' EXIT

  log "building examples/http-service, examples/worker, examples/mcp-server into $DIR/bin"
  (cd "$ROOT" && go build -o "$DIR/bin/" ./examples/http-service ./examples/worker ./examples/mcp-server)

  launch redis redis "$REDIS_PORT" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
    --dir "$DIR/redis" --appendonly yes --appendfsync "${DREDGE_CLUSTER_REDIS_FSYNC:-always}" --save "" --logfile ""
  await_last

  # LOG_LEVEL first, so that the caller's value wins over the default.
  local common=(env "LOG_LEVEL=${LOG_LEVEL:-info}" "REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
    QUEUE_BACKEND=redis CACHE_BACKEND=redis MODEL_STORE=redis)
  local i port=0 ports=("$SERVICE1_PORT" "$SERVICE2_PORT")
  for i in 1 2; do
    port=${ports[i - 1]}
    launch "service-$i" service "$port" "${common[@]}" NUM_WORKERS=0 \
      "$DIR/bin/http-service" -addr "127.0.0.1:$port"
  done
  for ((i = 1; i <= n; i++)); do
    launch "worker-$i" worker $((WORKER_PORT + i - 1)) "${common[@]}" "METRICS_PORT=$((WORKER_PORT + i - 1))" \
      "$DIR/bin/worker"
  done
  launch mcp-server mcp "$MCP_PORT" "${common[@]}" NUM_WORKERS=0 \
    "$DIR/bin/mcp-server" -transport http -addr "127.0.0.1:$MCP_PORT"
  # Started together, awaited in turn: the Go processes start in parallel.
  local name kind pid
  while read -r name kind port pid; do
    [[ $kind == redis ]] || await "$name" "$kind" "$port" "$pid"
  done <"$PROCS"

  if [[ ${DREDGE_CLUSTER_PROMETHEUS:-} == off ]]; then
    log "prometheus left out (DREDGE_CLUSTER_PROMETHEUS=off)"
  elif ! command -v prometheus >/dev/null; then
    log "prometheus is not installed: started without it (smoke.sh skips the scrape check)"
  else
    start_prometheus
  fi
  trap - EXIT
  log "running: $(wc -l <"$PROCS") processes; logs in $DIR/logs; $0 stop stops them"
}

# start_prometheus writes a configuration that scrapes every process
# serving /metrics, each target labelled with its process's name, checks
# it with promtool where there is one, and starts Prometheus on it.
start_prometheus() {
  local cfg=$DIR/prometheus/prometheus.yml name kind port pid
  mkdir -p "$DIR/prometheus/data"
  {
    echo "# Generated by scripts/local-cluster.sh; rewritten at each start."
    echo "global:"
    echo "  scrape_interval: 2s # short, so that smoke.sh sees every target up within seconds"
    echo "  scrape_timeout: 2s"
    echo "scrape_configs:"
    echo "  - job_name: prometheus"
    echo "    static_configs:"
    echo "      - targets: ['127.0.0.1:$PROMETHEUS_PORT']"
    echo "        labels: {process: prometheus}"
    for kind in service worker mcp; do
      local targets=()
      while read -r name k port pid; do
        [[ $k == "$kind" ]] || continue
        # A process without /metrics (the MCP server, for now) is not a
        # target: it would be down for good.
        if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$port/metrics") == 200 ]]; then
          targets+=("$name $port")
        else
          log "$name has no /metrics: not scraped" >&2
        fi
      done <"$PROCS"
      ((${#targets[@]})) || continue
      echo "  - job_name: dredge-$kind"
      echo "    static_configs:"
      local t
      for t in "${targets[@]}"; do
        echo "      - targets: ['127.0.0.1:${t#* }']"
        echo "        labels: {process: ${t% *}}"
      done
    done
  } >"$cfg"
  if command -v promtool >/dev/null; then
    promtool check config "$cfg" >/dev/null
  fi
  launch prometheus prometheus "$PROMETHEUS_PORT" prometheus --config.file="$cfg" \
    --storage.tsdb.path="$DIR/prometheus/data" --storage.tsdb.retention.time=1d \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"
  await_last
}

# stop_kind KIND...: SIGTERMs every running process of those kinds, waits
# up to STOP_TIMEOUT for them all, then SIGKILLs the rest.
stop_kind() {
  local pids=() names=() name kind port pid k
  while read -r name kind port pid; do
    for k in "$@"; do
      if [[ $kind == "$k" ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid:$kind") names+=("$name")
      fi
    done
  done < <(running)
  ((${#pids[@]})) || return 0
  log "stopping ${names[*]}"
  local deadline=$((SECONDS + STOP_TIMEOUT)) left p
  while :; do
    left=()
    for p in "${pids[@]}"; do
      if alive "${p%%:*}" "${p#*:}"; then left+=("$p"); fi
    done
    ((${#left[@]})) || return 0
    if ((SECONDS >= deadline)); then
      log "still running after ${STOP_TIMEOUT}s: SIGKILL ${left[*]%%:*}" >&2
      for p in "${left[@]}"; do kill -KILL "${p%%:*}" 2>/dev/null || true; done
      return 0
    fi
    sleep 0.1
  done
}

stop() {
  if [[ -z $(running) ]]; then
    log "not running"
  else
    # The entry points first, so that nothing new is enqueued while the
    # workers finish or hand back their jobs; Redis last, so that they can.
    stop_kind service mcp
    stop_kind worker
    stop_kind prometheus
    stop_kind redis
    log "stopped"
  fi
  rm -f "$PROCS"
}

status() {
  if [[ ! -f $PROCS ]]; then
    log "not running (no $PROCS)"
    return 1
  fi
  local name kind port pid state down=0
  printf '%-12s %-8s %-6s %-8s %s\n' NAME PID PORT STATE HEALTH
  while read -r name kind port pid; do
    if alive "$pid" "$kind"; then state=running; else state=exited down=1; fi
    printf '%-12s %-8s %-6s %-8s %s\n' "$name" "$pid" "$port" "$state" "$(health "$kind" "$port")"
  done <"$PROCS"
  return "$down"
}

case ${1:-} in
  start) shift; (($# <= 1)) || usage; start "$@" ;;
  stop) (($# == 1)) || usage; stop ;;
  status) (($# == 1)) || usage; status ;;
  *) usage ;;
esac
