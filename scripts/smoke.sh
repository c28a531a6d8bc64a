#!/usr/bin/env bash
# smoke.sh — exercises the cluster of scripts/local-cluster.sh end to end:
#
#   scripts/local-cluster.sh start && scripts/smoke.sh; scripts/local-cluster.sh stop
#
# It reads the cluster's processes from $DREDGE_CLUSTER_DIR/procs (default
# /tmp/dredge-cluster) and checks, printing a PASS, FAIL or SKIP line each:
#
#   health      every process answers its health check: /health and /ready
#               of each service, /health of each worker, GET / (the
#               capabilities) of the MCP server, PING of Redis, /-/healthy
#               and /-/ready of Prometheus
#   ops         every operation GET /v1/ops lists, through each service
#               instance, answers 200 with success true; the params of each
#               come from the table PARAMS below, else {} where the tool's
#               input schema (MCP tools/list) requires nothing: an
#               operation whose schema requires params that the table
#               lacks fails the check rather than being left out
#   model       a model loaded through service-1 answers inference and
#               get_parameters through service-2 (computed there, not read
#               from the shared result cache) identically, and once
#               unloaded through service-2 is gone from service-1 too
#   mcp         initialize, notifications/initialized and tools/call over
#               Streamable HTTP with curl and the Mcp-Session-Id header,
#               against the MCP server: string_spectrum, and inference of
#               the model loaded through service-1
#   jobs        JOBS jobs (default 500; SMOKE_JOBS) submitted through both
#               services alternately, all completed by the workers, each
#               with its own result within SMOKE_JOB_TIMEOUT (default
#               120 s); the time and jobs/s, and how many each worker ran
#               (its dredge_jobs_total)
#   prometheus  every target of Prometheus's /api/v1/targets is up, and
#               every process serving /metrics is a target (SKIP where the
#               cluster runs without Prometheus; FAIL then if CI is set)
#
# Exits 1 if any check failed. It needs curl, jq and redis-cli. On the
# 2-core development VM it takes 10-30 s, depending on what else runs.
set -euo pipefail

DIR=${DREDGE_CLUSTER_DIR:-/tmp/dredge-cluster}
PROCS=$DIR/procs
JOBS=${SMOKE_JOBS:-500}
JOB_TIMEOUT=${SMOKE_JOB_TIMEOUT:-120}

for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "smoke: $tool is required (apt-get install $tool)" >&2; exit 1; }
done
if [[ ! -s $PROCS ]]; then
  echo "smoke: no cluster in $DIR (scripts/local-cluster.sh start)" >&2
  exit 1
fi

# Params of the operations that need some; @MODEL@ is the model the
# instance loaded with load_model. The others are called with {}.
declare -A PARAMS=(
  [load_model]='{"model_type":"quasimoto_ensemble","config":{"n_waves":4,"seed":7}}'
  [inference]='{"model_id":"@MODEL@","inputs":{"x":[0.1,0.2,0.3],"t":[0,0.5,1]}}'
  [get_parameters]='{"model_id":"@MODEL@"}'
  [unload_model]='{"model_id":"@MODEL@"}'
  [benchmark]='{"model_type":"siren","config":{"epochs":2}}'
  [lift]='{"insight_text":"smoke test"}'
)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dredge-smoke.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

declare -A PORT KIND
NAMES=()
while read -r name kind port _; do
  NAMES+=("$name") PORT[$name]=$port KIND[$name]=$kind
done <"$PROCS"
S1=http://127.0.0.1:${PORT[service-1]:?no service-1 in $PROCS}
S2=http://127.0.0.1:${PORT[service-2]:?no service-2 in $PROCS}

passed=0 failed=0 skipped=0
now() { echo "${EPOCHREALTIME:-$(date +%s)}"; }
# elapsed T0 prints the seconds since T0 (a now), as 1.23s.
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2fs\n", b - a }'; }
started=$(now)

# check NAME FUNC ARGS...: runs FUNC in this shell (so that it may set
# variables for later checks), its output to a file; the last line of the
# output is the check's summary, and on failure the rest is printed too.
# FUNC returns non-zero on failure: errexit does not apply inside an if.
check() {
  local name=$1 t0 took
  shift
  t0=$(now)
  if "$@" >"$TMP/out" 2>&1; then
    took=$(elapsed "$t0")
    printf 'PASS  %-11s %6s  %s\n' "$name" "$took" "$(tail -n 1 "$TMP/out")"
    passed=$((passed + 1))
  else
    took=$(elapsed "$t0")
    printf 'FAIL  %-11s %6s  %s\n' "$name" "$took" "$(tail -n 1 "$TMP/out")"
    head -n -1 "$TMP/out" | sed 's/^/        /'
    failed=$((failed + 1))
  fi
}

missing() {
  echo "$1"
  return 1
}

skip() {
  printf 'SKIP  %-11s %6s  %s\n' "$1" "" "$2"
  skipped=$((skipped + 1))
}

# get URL prints the body of a 200 answer, else fails with the status and
# body on stderr (so that a failure shows in the check's output even from
# within $(…)).
get() {
  local code
  rm -f "$TMP/body"
  code=$(curl -s -o "$TMP/body" -w '%{http_code}' --max-time 10 "$1") || true
  if [[ $code != 200 ]]; then
    echo "GET $1: $code $(head -c 300 "$TMP/body" 2>/dev/null)" >&2
    return 1
  fi
  cat "$TMP/body"
}

# post URL BODY prints the body of a 200 answer with success true, else
# fails as get does.
post() {
  local code
  rm -f "$TMP/body"
  code=$(curl -s -o "$TMP/body" -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' -d "$2" "$1") || true
  if [[ $code != 200 ]] || ! jq -e '.success == true' "$TMP/body" >/dev/null 2>&1; then
    echo "POST $1 $2: $code $(head -c 300 "$TMP/body" 2>/dev/null)" >&2
    return 1
  fi
  cat "$TMP/body"
}

# --- health ---------------------------------------------------------------

check_health() {
  local name=$1 port=${PORT[$1]} base=http://127.0.0.1:${PORT[$1]} p
  case ${KIND[$name]} in
    redis)
      [[ $(redis-cli -h 127.0.0.1 -p "$port" ping </dev/null 2>&1) == PONG ]] || { echo "redis-cli ping: no PONG"; return 1; }
      echo "redis on :$port: PING answers PONG" ;;
    service)
      get "$base/health" | jq -e '.status == "healthy"' >/dev/null || { echo "$name /health not healthy"; return 1; }
      get "$base/ready" >/dev/null || return 1
      echo "$name on :$port: /health healthy, /ready 200" ;;
    worker)
      get "$base/health" | jq -e '.status == "healthy"' >/dev/null || { echo "$name /health not healthy"; return 1; }
      echo "$name on :$port: /health healthy (queue reachable)" ;;
    mcp)
      get "$base/" | jq -e '.success == true' >/dev/null || { echo "$name GET / did not answer the capabilities"; return 1; }
      echo "$name on :$port: GET / answers the capabilities" ;;
    prometheus)
      for p in /-/healthy /-/ready; do get "$base$p" >/dev/null || return 1; done
      echo "prometheus on :$port: /-/healthy and /-/ready 200" ;;
    *)
      echo "$name: unknown kind ${KIND[$name]}"
      return 1 ;;
  esac
}

# --- MCP over Streamable HTTP ----------------------------------------------

# mcp_post URL SESSION BODY: posts a JSON-RPC message and prints the JSON of
# the answer (the data of its event when the server answers with an event
# stream); SESSION may be empty. The headers go to $TMP/mcp-headers.
mcp_post() {
  local session=()
  [[ -z $2 ]] || session=(-H "Mcp-Session-Id: $2")
  curl -s --max-time 30 -D "$TMP/mcp-headers" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' "${session[@]}" -d "$3" "$1" |
    sed -n -e 's/^data: //p' -e t -e '/^{/p'
}

# mcp_session URL: initializes a session and prints its id.
mcp_session() {
  local url=$1 sid code
  mcp_post "$url" "" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"dredge-smoke","version":"1"}}}' >"$TMP/init"
  jq -e '.result.serverInfo.name' "$TMP/init" >/dev/null 2>&1 || { echo "initialize: $(head -c 300 "$TMP/init")" >&2; return 1; }
  sid=$(sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: *//p' "$TMP/mcp-headers" | tr -d '\r')
  [[ -n $sid ]] || { echo "initialize: no Mcp-Session-Id header" >&2; return 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H "Mcp-Session-Id: $sid" \
    -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$url")
  [[ $code == 202 ]] || { echo "notifications/initialized: $code, want 202" >&2; return 1; }
  echo "$sid"
}

# mcp_call URL SESSION TOOL ARGS: tools/call; prints the structured content
# of a result that is no tool error.
mcp_call() {
  mcp_post "$1" "$2" "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"$3\",\"arguments\":$4}}" >"$TMP/call"
  if ! jq -e '.result.isError != true and .result.structuredContent.success == true' "$TMP/call" >/dev/null 2>&1; then
    echo "tools/call $3 $4: $(head -c 300 "$TMP/call")" >&2
    return 1
  fi
  jq -c .result.structuredContent "$TMP/call"
}

mcp_end() {
  curl -s -o /dev/null --max-time 5 -X DELETE -H "Mcp-Session-Id: $2" "$1" || true
}

# --- operations -------------------------------------------------------------

# required_params prints "op required,fields" for each tool of service-1's
# MCP tools/list, whose input schemas are the operations' schemas.
required_params() {
  local sid
  sid=$(mcp_session "$S1/mcp") || return 1
  mcp_post "$S1/mcp" "$sid" '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' |
    jq -r '.result.tools[] | "\(.name) \((.inputSchema.required // []) | join(","))"'
  mcp_end "$S1/mcp" "$sid"
}

check_ops() {
  local name=$1 base=$2 ops=() op params model="" ok=() bad=0
  mapfile -t ops < <(get "$base/v1/ops" | jq -r '.operations[].name')
  ((${#ops[@]})) || { echo "GET /v1/ops listed no operation"; return 1; }
  declare -A required=()
  local tool req
  required_params >"$TMP/required" || { echo "MCP tools/list through service-1 failed"; return 1; }
  while read -r tool req; do required[$tool]=$req; done <"$TMP/required"
  # load_model first (the others use its model), unload_model last.
  local order=()
  mapfile -t order < <(printf '%s\n' "${ops[@]}" | awk '$0 == "load_model" { print 0, $0; next } $0 == "unload_model" { print 2, $0; next } { print 1, $0 }' | sort -s -k1,1n | cut -d' ' -f2)
  for op in "${order[@]}"; do
    params=${PARAMS[$op]:-}
    if [[ -z $params ]]; then
      if [[ -n ${required[$op]:-} ]]; then
        echo "$op: no params in smoke.sh's PARAMS and its schema requires ${required[$op]}"
        bad=$((bad + 1))
        continue
      fi
      params='{}'
    fi
    params=${params//@MODEL@/$model}
    if post "$base/v1/ops/$op" "$params" >"$TMP/op"; then
      ok+=("$op")
      if [[ $op == load_model ]]; then model=$(jq -r .model_id "$TMP/op"); fi
    else
      bad=$((bad + 1))
    fi
  done
  if ((bad)); then
    echo "$name: $bad of ${#ops[@]} operations failed"
    return 1
  fi
  echo "$name: all ${#ok[@]} operations of GET /v1/ops answered 200 (${ok[*]})"
}

# --- a model shared through Redis ------------------------------------------

SHARED_MODEL=""
SHARED_OUTPUT=""
# Points of this run only (a point from $RANDOM), so that service-2 cannot
# find the answer in the result cache from an earlier run either.
SHARED_INPUTS=$(awk -v r="$RANDOM" 'BEGIN { printf "{\"x\":[0.125,%.6f],\"t\":[0,0.25]}", r / 32768 }')

check_model() {
  local m infer out1 out2 p1 p2 cached
  m=$(post "$S1/v1/ops/load_model" '{"model_type":"quasimoto_ensemble","config":{"n_waves":4,"seed":11}}' | jq -r .model_id) || return 1
  [[ -n $m && $m != null ]] || { echo "load_model through service-1 answered no model_id"; return 1; }
  SHARED_MODEL=$m
  # Points no one asked before, through service-2 first: a cached answer
  # would prove only that the result cache is shared.
  infer="{\"model_id\":\"$m\",\"inputs\":$SHARED_INPUTS}"
  post "$S2/v1/ops/inference" "$infer" >"$TMP/infer2" || return 1
  cached=$(jq -r .cached "$TMP/infer2")
  [[ $cached == false ]] || { echo "inference through service-2 came from the result cache (cached: $cached)"; return 1; }
  out2=$(jq -c .output "$TMP/infer2")
  out1=$(post "$S1/v1/ops/inference" "$infer" | jq -c .output) || return 1
  [[ $out1 == "$out2" && $out1 != null ]] || { echo "inference: service-1 $out1, service-2 $out2"; return 1; }
  SHARED_OUTPUT=$out1
  p1=$(post "$S1/v1/ops/get_parameters" "{\"model_id\":\"$m\"}" | jq -cS .parameters) || return 1
  p2=$(post "$S2/v1/ops/get_parameters" "{\"model_id\":\"$m\"}" | jq -cS .parameters) || return 1
  [[ $p1 == "$p2" && $p1 != null ]] || { echo "get_parameters differ: service-1 ${p1:0:200}…, service-2 ${p2:0:200}…"; return 1; }
  echo "$m loaded through service-1: inference $out2 computed by service-2, equal on service-1; get_parameters equal ($(jq 'length' <<<"$p1") tensors)"
}

# unload_shared unloads the shared model through service-2 and checks that
# service-1 no longer has it: the store is one for all nodes.
check_unload() {
  local code
  post "$S2/v1/ops/unload_model" "{\"model_id\":\"$SHARED_MODEL\"}" >/dev/null || return 1
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -d "{\"model_id\":\"$SHARED_MODEL\"}" "$S1/v1/ops/get_parameters")
  [[ $code == 404 ]] || { echo "after unload_model through service-2, service-1's get_parameters answers $code, want 404"; return 1; }
  echo "$SHARED_MODEL unloaded through service-2: service-1 answers 404 not_found"
}

check_mcp() {
  local url=http://127.0.0.1:${PORT[mcp-server]}/mcp sid spectrum out
  sid=$(mcp_session "$url") || return 1
  spectrum=$(mcp_call "$url" "$sid" string_spectrum '{"max_modes":3}' | jq -c .energy_spectrum) || return 1
  [[ $spectrum == '[0.5,1,1.5]' ]] || { echo "string_spectrum max_modes 3: $spectrum, want [0.5,1,1.5]"; return 1; }
  if [[ -n $SHARED_MODEL ]]; then
    out=$(mcp_call "$url" "$sid" inference "{\"model_id\":\"$SHARED_MODEL\",\"inputs\":$SHARED_INPUTS}" | jq -c .output) || return 1
    [[ $out == "$SHARED_OUTPUT" ]] || { echo "inference over MCP: $out, through the services $SHARED_OUTPUT"; return 1; }
  fi
  mcp_end "$url" "$sid"
  echo "session $sid: tools/call string_spectrum $spectrum${SHARED_MODEL:+; inference of $SHARED_MODEL (loaded through service-1) $out}"
}

# --- jobs through the workers ----------------------------------------------

# jobs_completed NAME prints the worker's dredge_jobs_total{outcome="completed"} (0 before its first job).
jobs_completed() {
  curl -s --max-time 5 "http://127.0.0.1:${PORT[$1]}/metrics" |
    awk '/^dredge_jobs_total\{/ && /outcome="completed"/ { n += $NF } END { printf "%d\n", n }'
}

check_jobs() {
  local i op params field want base body before=() after=() w name k
  local workers=()
  for name in "${NAMES[@]}"; do [[ ${KIND[$name]} == worker ]] && workers+=("$name"); done
  ((${#workers[@]})) || { echo "no worker in $PROCS"; return 1; }
  for w in "${workers[@]}"; do before+=("$(jobs_completed "$w")"); done

  # One curl for all submissions (--parallel, a transfer per job), each
  # answer to its own file: 500 curl processes would take longer on 2
  # cores than the workers take to run the jobs. Each job's params carry
  # its number, and its result must echo it.
  mkdir -p "$TMP/jobs" "$TMP/state"
  : >"$TMP/submit.cfg"
  : >"$TMP/want.jsonl"
  for ((i = 0; i < JOBS; i++)); do
    case $((i % 3)) in
      0) op=lift params="{\"insight_text\":\"smoke job $i\"}" field=text want="\"smoke job $i\"" ;;
      1) op=unified_inference params="{\"dredge_insight\":\"smoke job $i\"}" field=dredge_insight want="\"smoke job $i\"" ;;
      2) op=string_spectrum params="{\"max_modes\":$((1 + i % 16))}" field=max_modes want=$((1 + i % 16)) ;;
    esac
    if ((i % 2)); then base=$S2; else base=$S1; fi
    body="{\"operation\":\"$op\",\"params\":$params}"
    body=${body//\\/\\\\} body=${body//\"/\\\"} # quoted for curl's config
    # Options in a -K file hold for one transfer each, up to "next" (a
    # "next" at the end would start a transfer without a URL).
    ((i == 0)) || echo next >>"$TMP/submit.cfg"
    printf 'url = "%s/v1/jobs"\nheader = "Content-Type: application/json"\nwrite-out = "%%{http_code} %%{errormsg}\\n"\ndata = "%s"\noutput = "%s"\n' \
      "$base" "$body" "$TMP/jobs/$i.json" >>"$TMP/submit.cfg"
    echo "{\"i\":\"$i\",\"field\":\"$field\",\"want\":$want}" >>"$TMP/want.jsonl"
  done
  local t0 t1 t2 accepted
  t0=$(now)
  curl --no-progress-meter --parallel --parallel-max 16 -K "$TMP/submit.cfg" >"$TMP/codes" || true
  t1=$(now)
  accepted=$(grep -c '^202 ' "$TMP/codes" || true)
  if ((accepted != JOBS)); then
    grep -v '^202 ' "$TMP/codes" | sort | uniq -c | head -n 5
    echo "$accepted of $JOBS submissions answered 202"
    return 1
  fi
  # id → job number, and what each result must say.
  jq -c '{i: (input_filename | capture("(?<i>[0-9]+)\\.json$").i), id: .job_id}' "$TMP"/jobs/*.json >"$TMP/ids.jsonl"

  # Wait until the workers' counters say they completed as many jobs (a
  # request per worker each time, where polling every job would load the
  # 2 cores more than the jobs do), then check each job's own state.
  local left=$JOBS deadline=$((SECONDS + JOB_TIMEOUT)) sum
  while ((SECONDS < deadline)); do
    sum=0
    for k in "${!workers[@]}"; do sum=$((sum + $(jobs_completed "${workers[k]}") - before[k])); done
    ((sum < JOBS)) || break
    sleep 0.05
  done
  # Poll the jobs not yet completed, each through the other instance from
  # the one it was submitted to, until all are.
  cp "$TMP/ids.jsonl" "$TMP/left.jsonl"
  while ((left > 0)); do
    if ((SECONDS >= deadline)); then
      echo "$left of $JOBS jobs not completed within ${JOB_TIMEOUT}s; some states:"
      jq -r '.status' "$TMP"/state/*.json 2>/dev/null | sort | uniq -c
      return 1
    fi
    jq -r --arg s1 "$S1" --arg s2 "$S2" \
      '"url = \"\(if (.i | tonumber) % 2 == 1 then $s1 else $s2 end)/v1/jobs/\(.id)\"\noutput = \"'"$TMP"'/state/\(.id).json\"\nnext"' \
      "$TMP/left.jsonl" | sed '$d' >"$TMP/poll.cfg"
    curl --no-progress-meter --parallel --parallel-max 16 -K "$TMP/poll.cfg" || true
    # Failed or canceled jobs end the check: they will not complete.
    if jq -e -s 'any(.[]; .status == "failed" or .status == "canceled")' "$TMP"/state/*.json >/dev/null; then
      echo "jobs ended without completing:"
      jq -c 'select(.status == "failed" or .status == "canceled") | {job_id, operation, status, error, code}' "$TMP"/state/*.json | head -n 5
      return 1
    fi
    jq -c --slurpfile finished <(jq -c 'select(.status == "completed") | .job_id' "$TMP"/state/*.json) \
      '($finished | map({(.): true}) | add) as $set | select($set[.id] | not)' "$TMP/ids.jsonl" >"$TMP/left.jsonl"
    left=$(wc -l <"$TMP/left.jsonl")
    ((left == 0)) || sleep 0.2
  done
  t2=$(now)

  # Each result echoes its own job's params.
  local wrong
  wrong=$(jq -n -r --slurpfile ids "$TMP/ids.jsonl" --slurpfile want "$TMP/want.jsonl" --slurpfile st <(cat "$TMP"/state/*.json) '
    ($st | map({(.job_id): .}) | add) as $state
    | ($want | map({(.i): .}) | add) as $w
    | $ids[] | . as $j | $state[$j.id] as $s | $w[$j.i] as $x
    | select(($s.result.success != true) or ($s.result[$x.field] != $x.want))
    | "job \($j.i) (\($j.id)): \($s.result | tostring | .[0:200]), want \($x.field) = \($x.want)"')
  if [[ -n $wrong ]]; then
    echo "$wrong" | head -n 5
    echo "$(wc -l <<<"$wrong") of $JOBS results are not their job's"
    return 1
  fi

  local ran=() total=0
  for k in "${!workers[@]}"; do
    after[k]=$(jobs_completed "${workers[k]}")
    ran+=("${workers[k]} $((after[k] - before[k]))")
    total=$((total + after[k] - before[k]))
  done
  ((total >= JOBS)) || { echo "the workers' dredge_jobs_total grew by $total, want at least $JOBS"; return 1; }
  # The jobs' own times: from the first enqueued to the last finished.
  local span
  span=$(jq -s -r 'def ts: capture("^(?<s>[^.Z]+)(?<f>\\.[0-9]+)?Z$") | (.s + "Z" | fromdateiso8601) + ("0" + (.f // ".0") | tonumber);
    (map(.finished_at | ts) | max) - (map(.enqueued_at | ts) | min)' "$TMP"/state/*.json)
  awk -v n="$JOBS" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v span="$span" -v ran="$(IFS=,; echo "${ran[*]}")" 'BEGIN {
    gsub(/,/, ", ", ran)
    printf "%d jobs through both services, all completed with their own results: %.2f s from the first enqueued to the last finished (%.0f jobs/s); %.2f s wall clock with submitting (%.2f s) and checking (%.0f jobs/s); ran: %s\n",
      n, span, n / span, t2 - t0, t1 - t0, n / (t2 - t0), ran }'
}

# --- Prometheus --------------------------------------------------------------

check_prometheus() {
  local base=http://127.0.0.1:${PORT[prometheus]} deadline=$((SECONDS + 20)) want=() name missing=()
  for name in "${NAMES[@]}"; do
    [[ ${KIND[$name]} == redis ]] && continue
    # Every process that serves /metrics must be a target.
    if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:${PORT[$name]}/metrics") == 200 ]]; then
      want+=("$name")
    fi
  done
  # A target is "unknown" until its first scrape (every 2 s).
  while :; do
    get "$base/api/v1/targets?state=active" >"$TMP/targets" || return 1
    if jq -e '.data.activeTargets | length > 0 and all(.health == "up")' "$TMP/targets" >/dev/null; then break; fi
    if ((SECONDS >= deadline)); then
      jq -r '.data.activeTargets[] | select(.health != "up") | "\(.labels.process) \(.scrapeUrl): \(.health) \(.lastError)"' "$TMP/targets"
      echo "not every target up within 20 s"
      return 1
    fi
    sleep 0.5
  done
  for name in "${want[@]}"; do
    jq -e --arg p "$name" 'any(.data.activeTargets[]; .labels.process == $p)' "$TMP/targets" >/dev/null || missing+=("$name")
  done
  if ((${#missing[@]})); then
    echo "processes serving /metrics that Prometheus does not scrape: ${missing[*]}"
    return 1
  fi
  # And the query API agrees: up == 1 for each.
  local up
  up=$(get "$base/api/v1/query?query=sum(up)" | jq -r '.data.result[0].value[1]') || return 1
  echo "$(jq '.data.activeTargets | length' "$TMP/targets") targets up ($(jq -r '[.data.activeTargets[].labels.process] | join(", ")' "$TMP/targets")); sum(up) = $up"
}

# --- run ----------------------------------------------------------------------

echo "smoke: the cluster in $DIR: ${NAMES[*]}"
for name in "${NAMES[@]}"; do check health check_health "$name"; done
check ops check_ops service-1 "$S1"
check ops check_ops service-2 "$S2"
check model check_model
if [[ -n ${PORT[mcp-server]:-} ]]; then check mcp check_mcp; else check mcp missing "no mcp-server in $PROCS"; fi
[[ -z $SHARED_MODEL ]] || check model check_unload
check jobs check_jobs
if [[ -n ${PORT[prometheus]:-} ]]; then
  check prometheus check_prometheus
elif [[ -n ${CI:-} ]]; then
  # As the Go tests do under CI=1: what would skip without its tool fails.
  check prometheus missing "the cluster runs without Prometheus, and CI is set (.ci/run installs it)"
else
  skip prometheus "the cluster runs without Prometheus (not installed, or DREDGE_CLUSTER_PROMETHEUS=off)"
fi

printf 'smoke: %d passed, %d failed, %d skipped in %s\n' "$passed" "$failed" "$skipped" "$(elapsed "$started")"
((failed == 0))
