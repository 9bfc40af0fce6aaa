#!/usr/bin/env bash
# Gateway overhead benchmark (issue 6): llmproxy against plain nginx
# proxy_pass, side by side, in one run, on 127.0.0.1 only.
#
# Processes (all started and stopped here):
#   mock      stock nginx serving canned OpenAI / Anthropic JSON and 100-event SSE
#   drip      small Node server sending one SSE event per second (2,000-stream test)
#   baseline  stock nginx, plain proxy_pass to the mock with upstream keepalive
#   gateway   the same nginx binary with the llmproxy module (when built)
#   gateway-noka  (full mode) the gateway with providers that name no upstream block
# Load: wrk with bench/wrk/post.lua at 32+ connections (throughput);
# build/stream-client (bench/tools/stream_client.cpp) at 1 connection (latency,
# time to first event, inter-event gaps) and for the held concurrent streams.
# Baseline and gateway alternate (A B, then B A) case by case in every round;
# the table (bench/tools/report.mjs) shows medians over rounds.
# See bench/README.md for what each figure means.
# shellcheck disable=SC2317  # cleanup and stop_pid are reached through the EXIT trap
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/bench.sh [--full | --quick | --smoke] [options]
  --full            5 rounds x 3 s, 1/32/256 connections, 2,000 held streams (default, ~12 min)
  --quick           2 rounds x 1 s, 1/32 connections, 300 held streams (< 1 min)
  --smoke           1 round, 1 connection, 50 held streams: checks the harness works (seconds)
  --rounds N        rounds (A/B pairs per case)
  --duration S      seconds per measurement
  --conns "1 32"    connection counts
  --cases "c1 c2"   subset of: c1 c2 c3a c3b c4 c5
  --hold N          concurrent streams held against the drip mock (0 = skip)
  --drip-events N   events per drip stream (one per --drip-interval-ms)
  --drip-interval-ms MS
  --hold-bodies "compact large"  request bodies for the held streams (600 B / 24 KB)
  --pin             pin the proxy worker to CPU 1 and mock, drip mock and load to CPU 0
                    (default: not pinned; on 2 CPUs pinning makes CPU 0 the bottleneck)
  --out FILE        also write the markdown table to FILE
  --keep            keep the run directory (configs, logs, raw results); the table is
                    always copied to build/bench/last-MODE.md
EOF
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$REPO/bench
PAYLOADS=$BENCH/payloads
NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${LLMPROXY_MODULE:-$REPO/build/ngx_http_llmproxy_module.so}
CTL=${LLMPROXY_CTL:-$REPO/build/llmproxy-ctl}
STREAM_CLIENT=${LLMPROXY_STREAM_CLIENT:-$REPO/build/stream-client}
SERVER_CONF=$REPO/conf/llmproxy-server.conf

mode=full rounds='' duration='' conns='' cases='' hold='' drip_events='' drip_interval='' hold_bodies=''
pin=no keep=0 out_file=''
while (($#)); do
  case $1 in
    --full|--quick|--smoke) mode=${1#--} ;;
    --rounds) rounds=$2; shift ;;
    --duration) duration=$2; shift ;;
    --conns) conns=$2; shift ;;
    --cases) cases=$2; shift ;;
    --hold) hold=$2; shift ;;
    --drip-events) drip_events=$2; shift ;;
    --drip-interval-ms) drip_interval=$2; shift ;;
    --hold-bodies) hold_bodies=$2; shift ;;
    --pin) pin=yes ;;
    --out) out_file=$2; shift ;;
    --keep) keep=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case $mode in
  full)  : "${rounds:=5}" "${duration:=3}" "${conns:=1 32 256}" "${hold:=2000}" "${drip_events:=10}" "${drip_interval:=1000}" "${hold_bodies:=compact large}"; warmup=1 noka=1 short=0 ;;
  quick) : "${rounds:=2}" "${duration:=1}" "${conns:=1 32}" "${hold:=300}" "${drip_events:=5}" "${drip_interval:=200}" "${hold_bodies:=compact}"; warmup=0 noka=0 short=1 ;;
  smoke) : "${rounds:=1}" "${duration:=1}" "${conns:=1}" "${hold:=50}" "${drip_events:=5}" "${drip_interval:=200}" "${hold_bodies:=compact}"; warmup=0 noka=0 short=1 ;;
esac
: "${cases:=c1 c2 c3a c3b c4 c5}"
[[ $rounds =~ ^[1-9][0-9]?$ && $duration =~ ^[1-9][0-9]?$ && $hold =~ ^[0-9]+$ && $drip_events =~ ^[0-9]+$ ]] ||
  { echo "bench.sh: rounds 1-99, duration 1-99 s, hold and drip-events must be numbers" >&2; exit 2; }
# Short modes (quick, smoke) keep within their time budget: 1-connection
# runs last half the duration (the native client takes fractions, wrk does
# not), and the invalid-key flood, which has no 1-connection target, runs
# only at 32+ connections when any are measured.
client_duration=$duration
((short)) && client_duration=$(awk -v d="$duration" 'BEGIN { print d / 2 }')
# Unrecorded lead-in of every 1-connection run (bench/README.md: both proxies'
# caches are cold after the other arm ran).
client_warmup=0.5
((short)) && client_warmup=0.25
settle=1   # seconds between the end of load and the "after" RSS reading
((short)) && settle=0.5
for b in $hold_bodies; do [[ $b == compact || $b == large ]] || { echo "bench.sh: hold body is compact or large" >&2; exit 2; }; done
for c in $conns; do [[ $c =~ ^[1-9][0-9]{0,3}$ ]] || { echo "bench.sh: bad connection count $c" >&2; exit 2; }; done

for tool in "$NGINX" wrk node curl; do
  command -v "$tool" >/dev/null || { echo "bench.sh: $tool not found" >&2; exit 2; }
done
# Every 1-connection run and the held streams use it, the baseline's too.
[[ -x $STREAM_CLIENT ]] || { echo "bench.sh: $STREAM_CLIENT not built (run scripts/build.sh)" >&2; exit 2; }

# ---------------------------------------------------------------- run directory
mkdir -p "$REPO/build/bench"
RUN=$(mktemp -d "$REPO/build/bench/run-$(date -u +%Y%m%dT%H%M%SZ)-XXXX")
chmod 755 "$RUN"   # nginx workers (nobody when started as root) read below it
RESULTS=$RUN/results.jsonl
: >"$RESULTS"
log() { printf '[bench %s] %s\n' "$(date -u +%T)" "$*" >&2; }

# JSON string literal for an arbitrary short text (reasons, labels).
json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=$(printf '%s' "$s" | tr '\n\r\t' '   ' | tr -d '\000-\037')
  printf '"%s"' "$s"
}
record() { printf '%s\n' "$1" >>"$RESULTS"; }

# ---------------------------------------------------------------- processes
started_pids=()   # "pid:signal" of everything started here (nginx stops on QUIT)
stop_pid() {  # pid [signal]: graceful stop, then bounded wait, then KILL
  local pid=$1 sig=${2:-TERM} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  rm -f "$RUN/sampling"
  for pid in "${started_pids[@]}"; do stop_pid "${pid%:*}" "${pid#*:}"; done
  wait 2>/dev/null || true
  if ((keep)); then log "run directory kept: $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
next_port=$((20000 + ($$ % 400) * 20))
pick_port() {  # VAR: first free port from next_port on
  local p=$next_port
  while port_in_use "$p"; do p=$((p + 1)); done
  next_port=$((p + 1))
  printf -v "$1" '%s' "$p"
}
wait_port() {  # port pid: until listening (5 s max) or the process died
  local i
  for ((i = 0; i < 100; i++)); do
    port_in_use "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

if [[ $pin == yes && $(nproc) -ge 2 ]]; then
  PROXY_AFFINITY='worker_cpu_affinity 10;' MOCK_AFFINITY='worker_cpu_affinity 01;'
  LOADGEN=(taskset -c 0) pin_text='gateway/baseline worker on CPU 1; mock, drip mock, wrk, stream client on CPU 0'
else
  PROXY_AFFINITY='' MOCK_AFFINITY='' LOADGEN=() pin_text='not pinned'
fi

# Set explicitly in every config, so that the store can be handed to it.
WORKER_USER='nobody:nogroup'
((EUID == 0)) || WORKER_USER=''
pick_port MOCK_PORT; pick_port DRIP_PORT; pick_port BASE_PORT; pick_port GW_PORT; pick_port GWNK_PORT
render() {  # template output [GW_DIR GW_PORT]
  sed -e "s|@RUN@|$RUN|g" -e "s|@REPO@|$REPO|g" -e "s|@MODULE@|$RUN/ngx_http_llmproxy_module.so|g" -e "s|@PAYLOADS@|$PAYLOADS|g" \
      -e "s|@MOCK_PORT@|$MOCK_PORT|g" -e "s|@DRIP_PORT@|$DRIP_PORT|g" -e "s|@BASE_PORT@|$BASE_PORT|g" \
      -e "s|@GW_DIR@|${3:-}|g" -e "s|@GW_PORT@|${4:-}|g" -e "s|@MOCK_WORKERS@|1|g" -e "s|@USER@|${WORKER_USER:+user ${WORKER_USER/:/ };}|g" \
      -e "s|@PROXY_AFFINITY@|$PROXY_AFFINITY|g" -e "s|@MOCK_AFFINITY@|$MOCK_AFFINITY|g" "$1" >"$2"
}

# An nginx error line without its timestamp and pid prefix, shortened.
first_error() { sed -E 's/^.*\[(emerg|alert|crit)\] [0-9#]+: //; s/^nginx: \[(emerg|alert|crit)\] //' | head -c 240; }
declare -A MASTER   # server name -> nginx master pid
start_nginx() {  # name dir port: returns 1 with the reason in $RUN/<name>.reason
  local name=$1 dir=$2 port=$3 pid
  mkdir -p "$dir/tmp"
  if ! "$NGINX" -t -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/configtest.log" 2>&1; then
    { grep -m1 -E 'emerg|alert|crit' "$dir/configtest.log" || echo "nginx -t failed"; } | first_error >"$RUN/$name.reason"
    return 1
  fi
  "$NGINX" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stdout.log" 2>&1 &
  pid=$!
  started_pids+=("$pid:QUIT")
  if ! wait_port "$port" "$pid"; then
    { grep -m1 -E 'emerg|alert|crit' "$dir/error.log" || echo "did not listen on $port"; } 2>/dev/null | first_error >"$RUN/$name.reason"
    return 1
  fi
  MASTER[$name]=$pid
}
# Worker pids of a server (children of its master). Read from /proc without
# forking: these run around every measurement.
workers() {
  local m=${MASTER[$1]:-} kids
  [[ -n $m ]] || return 0
  if [[ -r /proc/$m/task/$m/children ]]; then
    read -r kids <"/proc/$m/task/$m/children" || true
    echo "${kids:-}"
  else
    ps -o pid= --ppid "$m" | tr -d ' '
  fi
}
rss_kb() {  # total VmRSS of a server's workers, kB
  local pid sum=0 key value rest
  for pid in $(workers "$1"); do
    while read -r key value rest; do
      [[ $key == VmRSS: ]] && { sum=$((sum + value)); break; }
    done 2>/dev/null <"/proc/$pid/status" || true
  done
  echo "$sum"
}
cpu_ticks() {  # user+system clock ticks of a server's workers (comm "nginx" has no spaces)
  local pid sum=0 f
  for pid in $(workers "$1"); do
    read -r -a f 2>/dev/null <"/proc/$pid/stat" || continue
    sum=$((sum + f[13] + f[14]))
  done
  echo "$sum"
}

# ---------------------------------------------------------------- mock, drip, baseline
log "run dir $RUN; ports mock $MOCK_PORT drip $DRIP_PORT baseline $BASE_PORT gateway $GW_PORT"
mkdir -p "$RUN/mock" "$RUN/baseline"
render "$BENCH/conf/mock.conf.in" "$RUN/mock/nginx.conf"
render "$BENCH/conf/baseline.conf.in" "$RUN/baseline/nginx.conf"
start_nginx mock "$RUN/mock" "$MOCK_PORT" || { log "mock failed: $(cat "$RUN/mock.reason")"; exit 1; }
start_nginx base "$RUN/baseline" "$BASE_PORT" || { log "baseline failed: $(cat "$RUN/base.reason")"; exit 1; }
if ((hold > 0)); then
  "${LOADGEN[@]}" node "$BENCH/tools/drip-mock.mjs" --port "$DRIP_PORT" --events "$drip_events" \
    --interval-ms "$drip_interval" 2>"$RUN/drip.log" &
  drip_pid=$!
  started_pids+=("$drip_pid:TERM")
  wait_port "$DRIP_PORT" "$drip_pid" || { log "drip mock failed: $(head -3 "$RUN/drip.log")"; exit 1; }
fi
mock_requests() { curl -s "http://127.0.0.1:$MOCK_PORT/mock_status" | awk 'NR == 3 {print $3}'; }
# The mock's request counter once requests still in flight from the previous
# measurement have landed: two readings 0.1 s apart that differ only by the
# reading itself (bounded: 3 s).
# Sets MOCK_COUNT; MOCK_READS counts the status requests made, which the
# counter includes.
MOCK_READS=0
mock_settle() {
  local a b i
  a=$(mock_requests)
  MOCK_READS=$((MOCK_READS + 1))
  for ((i = 0; i < 30; i++)); do
    sleep 0.1
    b=$(mock_requests)
    MOCK_READS=$((MOCK_READS + 1))
    ((b - a == 1)) && break
    a=$b
  done
  MOCK_COUNT=$b
}

# ---------------------------------------------------------------- gateway
API_KEY='sk-llmp-baseline-needs-no-key'
gw_reason='' gwnk_reason='' GWNK_KEY=''
setup_gateway() {  # name dir port with_upstream; on failure returns 1 with $fail_reason
  local name=$1 dir=$2 port=$3 up=$4 upd=() upr=() out key cmd
  fail_reason=''
  [[ -f $MODULE ]] || { fail_reason="module not built ($MODULE missing)"; return 1; }
  [[ -x $CTL ]] || { fail_reason="llmproxy-ctl not built ($CTL missing)"; return 1; }
  [[ -f $SERVER_CONF ]] || { fail_reason="conf/llmproxy-server.conf missing"; return 1; }
  # Run from copies: a rebuild that overwrites the .so in place while nginx
  # has it mapped crashes every worker (SIGILL/SIGSEGV, then a respawn loop).
  if [[ ! -f $RUN/llmproxy-ctl ]]; then
    cp "$MODULE" "$RUN/ngx_http_llmproxy_module.so"
    cp "$CTL" "$RUN/llmproxy-ctl"
  fi
  mkdir -p "$dir"
  if ((up)); then upd=(--upstream bench_drip) upr=(--upstream bench_mock); fi
  # Workers of an nginx started as root run as WORKER_USER: hand them the store.
  local owner=''
  ((EUID == 0)) && owner="--owner $WORKER_USER"
  local ctl=("$RUN/llmproxy-ctl" --store "$dir/store" --master-key "$dir/master.key") cmds=(
    "init $owner"
    "provider add oj --format openai --base-url http://127.0.0.1:$MOCK_PORT/json/v1 --api-key x ${upr[*]}"
    "provider add os --format openai --base-url http://127.0.0.1:$MOCK_PORT/sse/v1 --api-key x ${upr[*]}"
    "provider add aj --format anthropic --base-url http://127.0.0.1:$MOCK_PORT/json --api-key x ${upr[*]}"
    "provider add as --format anthropic --base-url http://127.0.0.1:$MOCK_PORT/sse --api-key x ${upr[*]}"
    "provider add od --format openai --base-url http://127.0.0.1:$DRIP_PORT/drip/v1 --api-key x ${upd[*]}"
    "route set bench-openai-json oj/gpt-mock"
    "route set bench-openai-sse os/gpt-mock"
    "route set claude-bench-json aj/claude-mock"
    "route set claude-bench-sse as/claude-mock"
    "route set bench-openai-drip od/gpt-mock"
    "route set default oj/gpt-mock")
  for cmd in "${cmds[@]}"; do
    # shellcheck disable=SC2086  # word splitting intended: no word holds spaces or globs
    if ! "${ctl[@]}" $cmd >"$dir/ctl.log" 2>&1; then
      fail_reason="llmproxy-ctl ${cmd%% --*} failed: $(head -c 200 "$dir/ctl.log")"
      return 1
    fi
  done
  # The key is printed once; it stays out of every log and table.
  if ! out=$("${ctl[@]}" key create bench --json 2>"$dir/ctl.log"); then
    fail_reason="llmproxy-ctl key create failed: $(head -c 200 "$dir/ctl.log")"
    return 1
  fi
  key=$(grep -o 'sk-llmp-[0-9A-Za-z]*' <<<"$out" | head -1 || true)
  [[ -n $key ]] || { fail_reason='llmproxy-ctl key create printed no sk-llmp- key'; return 1; }
  printf '%s' "$key" >"$dir/api.key"
  render "$BENCH/conf/gateway.conf.in" "$dir/nginx.conf" "$dir" "$port"
  if ! start_nginx "$name" "$dir" "$port"; then
    fail_reason="gateway did not start: $(cat "$RUN/$name.reason")"
    return 1
  fi
}
if setup_gateway gw "$RUN/gateway" "$GW_PORT" 1; then
  API_KEY=$(cat "$RUN/gateway/api.key")
else
  gw_reason=$fail_reason
  log "gateway n/a: $gw_reason"
fi
if ((noka)) && [[ -z $gw_reason ]]; then
  if setup_gateway gwnk "$RUN/gateway-noka" "$GWNK_PORT" 0; then
    GWNK_KEY=$(cat "$RUN/gateway-noka/api.key")
  else
    gwnk_reason=$fail_reason
    log "gateway without upstream block n/a: $gwnk_reason"
  fi
fi

# ---------------------------------------------------------------- cases
# kind: json | stream | reject. Baseline paths go through the plain proxy to the
# same mock file the gateway's provider reaches.
declare -A TITLE KIND BODY BPATH GPATH CLIENT BMARK GMARK
def() { TITLE[$1]=$2 KIND[$1]=$3 BODY[$1]=$PAYLOADS/$4 BPATH[$1]=$5 GPATH[$1]=$6 CLIENT[$1]=$7 BMARK[$1]=$8 GMARK[$1]=$9; }
def c1  '1 Anthropic → OpenAI, non-stream' json req-anthropic-to-openai.json \
        /json/v1/chat/completions /v1/messages anthropic '"chat.completion"' '"type":"message"'
def c2  '2 Anthropic → OpenAI, stream (100 events)' stream req-anthropic-to-openai-stream.json \
        /sse/v1/chat/completions '/v1/messages?beta=true' anthropic '[DONE]' 'message_stop'
def c3a '3a Anthropic passthrough, non-stream' json req-anthropic-to-anthropic.json \
        /json/v1/messages /v1/messages anthropic '"type":"message"' '"type":"message"'
def c3b '3b Anthropic passthrough, stream (100 events)' stream req-anthropic-to-anthropic-stream.json \
        /sse/v1/messages '/v1/messages?beta=true' anthropic 'message_stop' 'message_stop'
def c4  '4 OpenAI → Anthropic, stream (100 events)' stream req-openai-to-anthropic-stream.json \
        /sse/v1/messages /v1/chat/completions openai 'message_stop' '[DONE]'
def c5  '5 Invalid-key flood (vs proxied c1)' reject req-anthropic-to-openai.json \
        '' /v1/messages anthropic '' ''

client_headers() {  # client key -> HEADERS array
  if [[ $1 == anthropic ]]; then
    HEADERS=("x-api-key: $2" 'anthropic-version: 2023-06-01'
      'anthropic-beta: claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14'
      'User-Agent: claude-cli/2.1.69 (external, cli)' 'x-app: cli')
  else
    HEADERS=("Authorization: Bearer $2" 'User-Agent: OpenAI/Python 1.54.0')
  fi
}
arm_port() { case $1 in base | basesame) echo "$BASE_PORT" ;; gw) echo "$GW_PORT" ;; gwnk) echo "$GWNK_PORT" ;; esac; }
# basesame (case 4, one connection, no target): plain nginx proxying the mock's
# OpenAI-format stream, so that the client reads the same kind of stream as
# from the gateway (the baseline proper proxies the provider's Anthropic one).
arm_path() {
  case $2 in base) echo "${BPATH[$1]}" ;; basesame) echo /sse/v1/chat/completions ;; *) echo "${GPATH[$1]}" ;; esac
}
arm_conns_ok() { [[ $1 != basesame || $2 -eq 1 ]]; }  # arm conns: measured at this count?
arm_key() { if [[ $1 == gwnk ]]; then echo "$GWNK_KEY"; else echo "$API_KEY"; fi; }
arms_of() {  # case -> arms measured for it
  local a=()
  [[ ${KIND[$1]} != reject ]] && a+=(base)
  a+=(gw)
  ((noka)) && [[ $1 == c1 || $1 == c2 ]] && a+=(gwnk)
  [[ $1 == c4 && " $conns " == *" 1 "* ]] && a+=(basesame)
  echo "${a[@]}"
}

declare -A NA   # "case/arm" -> reason it is not measured
precheck() {  # case arm: one request, checks status and a dialect marker
  local c=$1 arm=$2 port path status want_status=200 mark
  case $arm in
    gw) [[ -n $gw_reason ]] && { NA[$c/$arm]=$gw_reason; return; } ;;
    gwnk) [[ -n $gwnk_reason ]] && { NA[$c/$arm]=$gwnk_reason; return; } ;;
  esac
  port=$(arm_port "$arm") path=$(arm_path "$c" "$arm")
  case $arm in base) mark=${BMARK[$c]} ;; basesame) mark='[DONE]' ;; *) mark=${GMARK[$c]} ;; esac
  client_headers "${CLIENT[$c]}" "$(arm_key "$arm")"
  [[ ${KIND[$c]} == reject ]] && { want_status=401; HEADERS[0]='x-api-key: sk-llmp-0000000000000000000000000000000000000000000'; }
  local hargs=() h
  for h in "${HEADERS[@]}"; do hargs+=(-H "$h"); done
  status=$(curl -s -m 10 -o "$RUN/precheck-$c-$arm.out" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' "${hargs[@]}" --data-binary "@${BODY[$c]}" \
    "http://127.0.0.1:$port$path" || echo 000)
  if [[ $status != "$want_status" ]]; then
    NA[$c/$arm]="precheck: HTTP $status, expected $want_status"
  elif [[ -n $mark ]] && ! grep -qF -- "$mark" "$RUN/precheck-$c-$arm.out"; then
    NA[$c/$arm]="precheck: response lacks $mark"
  fi
}

server_of() { case $1 in base | basesame) echo base ;; gw) echo gw ;; gwnk) echo gwnk ;; esac; }
measure() {  # round conns case arm [warmup]
  local r=$1 n=$2 c=$3 arm=$4 warm=${5:-0} port path server t0 t1 m0 m1 out json leaked=null tool key
  port=$(arm_port "$arm") path=$(arm_path "$c" "$arm") server=$(server_of "$arm")
  key=$(arm_key "$arm")
  local secs=$duration client_secs=$client_duration
  ((warm)) && secs=1 client_secs=1
  client_headers "${CLIENT[$c]}" "$key"
  [[ ${KIND[$c]} == reject ]] && HEADERS[0]='X-Bench-Invalid-Keys: x-api-key'
  local before=0
  if [[ ${KIND[$c]} == reject ]]; then mock_settle; before=$MOCK_COUNT MOCK_READS=0; fi
  t0=$(cpu_ticks "$server") m0=$(cpu_ticks mock)
  if ((n == 1)); then
    # One connection: latency. wrk's p99 there is its own (about 2.3 ms, 28x
    # its p50, on both arms); the native client's is the proxies'.
    tool=client
    local hargs=() h
    for h in "${HEADERS[@]}"; do
      if [[ $h == X-Bench-Invalid-Keys:* ]]; then hargs+=(--invalid-key-header "${h#*: }" --expect-status 401)
      else hargs+=(--header "$h"); fi
    done
    out=$("${LOADGEN[@]}" "$STREAM_CLIENT" --url "http://127.0.0.1:$port$path" \
      --body "${BODY[$c]}" --conns 1 --warmup "$client_warmup" --duration "$client_secs" --timeout 30 "${hargs[@]}" 2>>"$RUN/client.log" || true)
  else
    tool=wrk
    out=$("${LOADGEN[@]}" wrk -t1 -c"$n" -d"${secs}s" --timeout 10s -s "$BENCH/wrk/post.lua" \
      "http://127.0.0.1:$port$path" -- "${BODY[$c]}" "${HEADERS[@]}" 2>>"$RUN/client.log" || true)
  fi
  t1=$(cpu_ticks "$server") m1=$(cpu_ticks mock)
  ((warm)) && return 0
  json=$(grep -m1 '^{' <<<"$out" || true)
  [[ -n $json ]] || json='{"failed":true}'
  if [[ ${KIND[$c]} == reject ]]; then mock_settle; leaked=$((MOCK_COUNT - before - MOCK_READS)); fi
  record "{\"kind\":\"run\",\"round\":$r,\"conns\":$n,\"case\":\"$c\",\"arm\":\"$arm\",\"tool\":\"$tool\",\"cpu_ticks\":$((t1 - t0)),\"mock_cpu_ticks\":$((m1 - m0)),\"leaked\":$leaked,\"result\":$json}"
}

# ---------------------------------------------------------------- memory sampler
sample_peaks() {  # runs in the background while $RUN/sampling exists (bounded)
  local i s v
  declare -A peak=()
  for ((i = 0; i < 20000; i++)); do
    [[ -e $RUN/sampling ]] || break
    for s in base gw gwnk; do
      [[ -n ${MASTER[$s]:-} ]] || continue
      v=$(rss_kb "$s")
      if ((v > ${peak[$s]:-0})); then peak[$s]=$v; echo "$v" >"$RUN/peak-$s"; fi
    done
    sleep 0.5
  done
}
# Reload a server (HUP) and wait until its old workers are gone, so that a
# memory measurement starts from fresh worker heaps (malloc keeps freed memory).
fresh_workers() {  # name
  local m=${MASTER[$1]:-} old now i p stale
  [[ -n $m ]] || return 0
  old=$(workers "$1")
  kill -HUP "$m"
  for ((i = 0; i < 100; i++)); do
    sleep 0.1
    now=$(workers "$1") stale=0
    for p in $old; do [[ " $now " == *" $p "* ]] && stale=1; done
    ((stale == 0)) && [[ -n $now ]] && return 0
  done
  log "$1: old workers still running after reload"
}
record_rss() {  # phase
  local s
  for s in base gw gwnk; do
    [[ -n ${MASTER[$s]:-} ]] && record "{\"kind\":\"rss\",\"server\":\"$s\",\"phase\":\"$1\",\"kb\":$(rss_kb "$s")}"
  done
  return 0
}

# ---------------------------------------------------------------- run
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
record_rss idle
for c in $cases; do
  [[ -n ${KIND[$c]:-} ]] || { log "unknown case $c"; exit 2; }
  for arm in $(arms_of "$c"); do precheck "$c" "$arm"; done
done
# c5 compares against c1's proxied baseline.
[[ " $cases " == *" c5 "* && " $cases " != *" c1 "* ]] && cases="c1 $cases" && precheck c1 base

touch "$RUN/sampling"
sample_peaks &
sampler_pid=$!
started_pids+=("$sampler_pid:TERM")
if ((warmup)); then
  log "warm-up"
  for c in $cases; do
    for arm in $(arms_of "$c"); do
      [[ -z ${NA[$c/$arm]:-} ]] && arm_conns_ok "$arm" 32 && measure 0 32 "$c" "$arm" 1
    done
  done
fi
total=0
for c in $cases; do total=$((total + $(wc -w <<<"$(arms_of "$c")"))); done
log "mode $mode: $rounds round(s) x conns [$conns] x $total arms x ${duration}s"
for ((round = 1; round <= rounds; round++)); do
  for n in $conns; do
    for c in $cases; do
      read -r -a arms <<<"$(arms_of "$c")"
      # A B in odd rounds, B A in even rounds: order effects cancel out.
      if ((round % 2 == 0)); then
        for ((i = 0, j = ${#arms[@]} - 1; i < j; i++, j--)); do t=${arms[i]}; arms[i]=${arms[j]}; arms[j]=$t; done
      fi
      ((short)) && [[ $c == c5 && $n -eq 1 && $conns == *[0-9][0-9]* ]] && continue
      for arm in "${arms[@]}"; do
        [[ -z ${NA[$c/$arm]:-} ]] && arm_conns_ok "$arm" "$n" && measure "$round" "$n" "$c" "$arm"
      done
    done
  done
  log "round $round done"
done
rm -f "$RUN/sampling"
wait "$sampler_pid" 2>/dev/null || true
for s in base gw gwnk; do
  [[ -f $RUN/peak-$s ]] && record "{\"kind\":\"rss\",\"server\":\"$s\",\"phase\":\"load_peak\",\"kb\":$(cat "$RUN/peak-$s")}"
done
sleep "$settle"
record_rss after_load

# Held streams: N concurrent slow streams (Anthropic client; the gateway
# translates the drip mock's OpenAI chunks), RSS sampled while they are open.
if ((hold > 0)); then
  hold_timeout=$(( drip_events * (drip_interval + 999) / 1000 + 30 ))
  # Quick mode holds streams on the gateway only (time budget); the baseline
  # runs when the gateway cannot, so the path stays exercised.
  hold_arms='base gw'
  [[ $mode == quick ]] && { if [[ -n $gw_reason ]]; then hold_arms=base; else hold_arms=gw; fi; }
  for body in $hold_bodies; do
    body_file=$PAYLOADS/req-anthropic-drip-stream.json
    [[ $body == large ]] && body_file=$PAYLOADS/req-anthropic-drip-stream-large.json
    for arm in $hold_arms; do
      if [[ $arm == gw && -n $gw_reason ]]; then
        record "{\"kind\":\"hold\",\"server\":\"gw\",\"body\":\"$body\",\"streams\":$hold,\"na\":$(json_str "$gw_reason")}"
        continue
      fi
      if [[ $arm == base ]]; then path=/drip/v1/chat/completions; else path='/v1/messages?beta=true'; fi
      client_headers anthropic "$API_KEY"
      hargs=()
      for h in "${HEADERS[@]}"; do hargs+=(--header "$h"); done
      fresh_workers "$arm"
      rss_start=$(rss_kb "$arm")
      rm -f "$RUN/peak-$arm"
      touch "$RUN/sampling"
      sample_peaks &
      sampler_pid=$!
      started_pids+=("$sampler_pid:TERM")
      log "holding $hold streams on $arm ($body body, $drip_events events, ${drip_interval} ms apart)"
      out=$("${LOADGEN[@]}" "$STREAM_CLIENT" --url "http://127.0.0.1:$(arm_port "$arm")$path" \
        --body "$body_file" --hold "$hold" --timeout "$hold_timeout" "${hargs[@]}" 2>>"$RUN/client.log" || true)
      rm -f "$RUN/sampling"
      wait "$sampler_pid" 2>/dev/null || true
      json=$(grep -m1 '^{' <<<"$out" || true)
      sleep "$settle"
      record "{\"kind\":\"hold\",\"server\":\"$arm\",\"body\":\"$body\",\"body_bytes\":$(stat -c %s "$body_file"),\"streams\":$hold,\"rss_start_kb\":$rss_start,\"rss_peak_kb\":$(cat "$RUN/peak-$arm" 2>/dev/null || echo 0),\"rss_after_kb\":$(rss_kb "$arm"),\"result\":${json:-null}}"
    done
  done
fi

# ---------------------------------------------------------------- report
{
  printf '{"mode":"%s","rounds":%s,"duration_s":%s,"conns":"%s","cases":"%s",' "$mode" "$rounds" "$duration" "$conns" "$cases"
  printf '"pinning":%s,"nproc":%s,"loadavg_start":"%s","loadavg_end":"%s",' "$(json_str "$pin_text")" "$(nproc)" "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf '"date":"%s","git":"%s","nginx":%s,' "$(date -u +%FT%TZ)" "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$(json_str "$("$NGINX" -v 2>&1)")"
  printf '"hold_events":%s,"hold_interval_ms":%s,' "$drip_events" "$drip_interval"
  # Events in the mock's streams (one blank line ends each): what the stream
  # client must count on every baseline stream.
  printf '"mock_stream_events":{"openai":%s,"anthropic":%s},' \
    "$(grep -c '^$' "$PAYLOADS/openai-stream.sse")" "$(grep -c '^$' "$PAYLOADS/anthropic-stream.sse")"
  # Worker crashes and alerts in the gateways' logs (nginx respawns crashed workers).
  printf '"gateway_log":{"crashes":%s,"alerts":%s},' \
    "$(cat "$RUN"/gateway*/error.log 2>/dev/null | grep -c 'exited on signal' || true)" \
    "$(cat "$RUN"/gateway*/error.log 2>/dev/null | grep -c '\[alert\]' || true)"
  printf '"gateway_na":%s,"gateway_noka_na":%s,"noka":%s,"titles":{' "$(json_str "$gw_reason")" "$(json_str "$gwnk_reason")" "$noka"
  sep=''
  for c in $cases; do printf '%s"%s":%s' "$sep" "$c" "$(json_str "${TITLE[$c]}")"; sep=,; done
  printf '},"na":{'
  sep=''
  for k in "${!NA[@]}"; do printf '%s"%s":%s' "$sep" "$k" "$(json_str "${NA[$k]}")"; sep=,; done
  printf '}}\n'
} >"$RUN/meta.json"
# report.mjs exits 3 when the harness itself misbehaved (baseline errors or
# missing baseline figures); gateway failures show in the table instead.
status=0
node "$BENCH/tools/report.mjs" "$RUN/meta.json" "$RESULTS" >"$RUN/table.md" || status=$?
cat "$RUN/table.md"
cp "$RUN/table.md" "$REPO/build/bench/last-$mode.md"   # survives the run directory
[[ -n $out_file ]] && cp "$RUN/table.md" "$out_file"
exit "$status"
