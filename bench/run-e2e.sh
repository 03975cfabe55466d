#!/usr/bin/env bash
# End-to-end benchmark: Shockwave against the stock ASP.NET Core WebSocket stack, same host, same endpoint, alternated.
#
#   bench/run-e2e.sh [--quick] [--reps N] [--scenarios "1 2 3 4 5 6 8 9"] [--with-bun]
#
# Builds Release, runs every scenario of the end-to-end issue against each server in turn (the order flips every
# repetition), the server pinned to core 0 and the load generator to core 1, everything on 127.0.0.0/8, and prints the
# medians with the Shockwave/stock ratio. Scenario 7 (server bytes allocated per message) is the "server B/msg" column
# of the echo scenarios, from the server's own counters over the measured window. Scenarios 8 and 9 are /broadcast:
# one sender, 100 or 1,000 receivers, 64 B binary, 4 messages in flight; the ratio is of deliveries/s.
# --with-bun adds Bun's WebSocket server (uWebSockets; bench/reference/bun-echo.js, Bun installed from npm into the output
# folder) to the echo, idle and connect scenarios as the reference figure, not part of any ratio.
# Environment: E2E_OUT (output folder, default artifacts/e2e), E2E_PORT (default 9300; stats on E2E_PORT+99),
# E2E_IDLE_CONNS (default 10000).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${E2E_OUT:-$repo/artifacts/e2e}"
port="${E2E_PORT:-9300}"
stats=$((port + 99))
idle_conns="${E2E_IDLE_CONNS:-10000}"
reps=3
quick=0
with_bun=0
scenarios="1 2 3 4 5 6 8 9"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --reps) reps="$2"; shift ;;
    --scenarios) scenarios="$2"; shift ;;
    --with-bun) with_bun=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ $quick == 1 ]]; then warmup=3; duration=3; hold=1; else warmup=5; duration=10; hold=3; fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# Steady-state code in seconds. Tiered compilation waits until no new method has been jitted for 100 ms before it starts
# counting calls; on a saturated core that quiet moment comes late and at random, so without this both servers spent
# 10-20 s (varying run to run) in tier-0 and instrumented code, and a short run compared warm-up speeds, not stacks.
# The same setting for both servers and the load generator; dynamic PGO stays on, as in production.
export DOTNET_TC_CallCountingDelayMs=0
mkdir -p "$out"
echo "building (Release) into $out ..." >&2
for project in Shockwave.LoadServer Shockwave.LoadGen; do
  dotnet publish "$repo/bench/$project/$project.csproj" -c Release --nologo -v q \
    --artifacts-path "$out/build" -o "$out/$project" >&2
done
server="$out/Shockwave.LoadServer/Shockwave.LoadServer"
loadgen="$out/Shockwave.LoadGen/Shockwave.LoadGen"
bun=""
if [[ $with_bun == 1 ]]; then
  if [[ ! -x "$out/bun/node_modules/.bin/bun" ]]; then
    echo "installing Bun from npm into $out/bun ..." >&2
    npm install --silent --prefix "$out/bun" bun@1 >&2
  fi
  bun="$out/bun/node_modules/.bin/bun"
fi

# 10,000 idle connections need 10,000 descriptors on each side, scenario 9's 1,000 receivers and 1 sender 1,001; each
# process also holds a few hundred of its own (runtime, listeners, epoll).
broadcast_receivers=1000
hard="$(ulimit -Hn)"
if [[ $hard == unlimited || $hard -gt 65536 ]]; then hard=65536; fi
ulimit -n "$hard"
if [[ $hard -lt $((idle_conns + 1000)) ]]; then echo "warning: ulimit -n is $hard, idle scenario may fail" >&2; fi
if [[ $hard -lt $((broadcast_receivers + 1 + 1000)) ]]; then echo "warning: ulimit -n is $hard, scenario 9 may fail" >&2; fi

if [[ $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then
  pin_server=(taskset -c 0); pin_load=(taskset -c 1)
else
  pin_server=(); pin_load=(); echo "warning: fewer than 2 cores or no taskset: server and client are not pinned" >&2
fi

stamp="$(date +%Y%m%d-%H%M%S)"
results="$out/results-$stamp.jsonl"
log="$out/run-$stamp.log"
: >"$results"

# "+transport": the same server on the Shockwave transport (UseShockwaveTransport) instead of Kestrel's sockets. The
# headline ratio stays Shockwave on the transport it ships with against stock with defaults; stock+transport shows what
# the transport alone does for the stock stack, so that a transport gain is not read as the WebSocket layer's.
declare -A server_args=(
  [shockwave]="--stack shockwave"
  [shockwave-raw]="--stack shockwave --raw-listener"
  [stock]="--stack stock"
  [shockwave-runtime]="--stack shockwave --codec runtime"
  [shockwave+transport]="--stack shockwave --transport shockwave"
  [shockwave-raw+transport]="--stack shockwave --raw-listener --transport shockwave"
  [stock+transport]="--stack stock --transport shockwave"
)

spid=""
cleanup() { if [[ -n $spid ]]; then kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi; }
trap cleanup EXIT

# run_one LABEL SERVER EXTRA_SERVER_ARGS TIME_LIMIT LOADGEN_ARGS...
run_one() {
  local label="$1" name="$2" extra="$3" limit="$4"; shift 4
  if [[ $name == bun ]]; then
    # shellcheck disable=SC2086
    "${pin_server[@]}" "$bun" "$repo/bench/reference/bun-echo.js" $extra --port "$port" --stats-port "$stats" >>"$log" 2>&1 &
  else
    # shellcheck disable=SC2086
    "${pin_server[@]}" "$server" ${server_args[$name]} $extra --port "$port" --stats-port "$stats" >>"$log" 2>&1 &
  fi
  spid=$!
  for _ in $(seq 100); do
    if curl -sf "http://127.0.0.1:$stats/stats" >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  echo "[$label | $name]" >>"$log"
  if ! timeout "$limit" "${pin_load[@]}" "$loadgen" --port "$port" --stats-port "$stats" --label "$label|$name" "$@" \
      >>"$results" 2>>"$log"; then
    echo "  run failed: $label | $name (see $log)" >&2
  fi
  kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  spid=""
  sleep 1
}

echo_limit=$((warmup + duration + 60))
for rep in $(seq "$reps"); do
  if (( rep % 2 == 1 )); then
    order=(shockwave shockwave+transport stock stock+transport)
    order3=(shockwave shockwave-raw shockwave+transport shockwave-raw+transport stock)
    order6=(shockwave shockwave+transport stock)
    order_broadcast=(shockwave shockwave+transport stock)
  else
    order=(stock+transport stock shockwave+transport shockwave)
    order3=(stock shockwave-raw+transport shockwave+transport shockwave-raw shockwave)
    order6=(stock shockwave+transport shockwave)
    order_broadcast=(stock shockwave+transport shockwave)
  fi
  if [[ -n $bun ]]; then order+=(bun); order3+=(bun); fi
  for s in $scenarios; do
    case "$s" in
      1) for n in "${order[@]}"; do run_one "1: 64 B text, 100 conns x 16" "$n" "" "$echo_limit" \
           --mode echo -c 100 -p 16 -s 64 --text -w "$warmup" -d "$duration"; done ;;
      2) for n in "${order[@]}"; do run_one "2: 16 KiB binary, 10 conns x 4" "$n" "" "$echo_limit" \
           --mode echo -c 10 -p 4 -s 16384 -w "$warmup" -d "$duration"; done ;;
      3) for n in "${order[@]}"; do run_one "3: 1 MiB binary, 1 conn" "$n" "" "$echo_limit" \
           --mode echo -c 1 -p 1 -s 1048576 -w "$warmup" -d "$duration"; done ;;
      4) for n in "${order3[@]}"; do run_one "4: $idle_conns idle conns" "$n" "" 180 \
           --mode idle -c "$idle_conns" --rate 5000 --concurrency 64 --hold "$hold" --sources 8; done ;;
      5) for n in "${order3[@]}"; do run_one "5: upgrade + close" "$n" "" "$echo_limit" \
           --mode connect --concurrency 32 --sources 8 -w "$warmup" -d "$duration"; done ;;
      6) for n in "${order6[@]}"; do run_one "6: 1 KiB JSON, deflate, 10 conns x 8" "$n" "--deflate" "$echo_limit" \
           --mode echo -c 10 -p 8 -s 1024 --json --deflate -w "$warmup" -d "$duration"; done ;;
      8) for n in "${order_broadcast[@]}"; do run_one "8: broadcast 64 B binary, 1 sender x 4, 100 receivers" "$n" "" "$echo_limit" \
           --mode broadcast --receivers 100 --senders 1 -p 4 -s 64 --binary -w "$warmup" -d "$duration"; done ;;
      9) for n in "${order_broadcast[@]}"; do run_one "9: broadcast 64 B binary, 1 sender x 4, $broadcast_receivers receivers" "$n" "" "$echo_limit" \
           --mode broadcast --receivers "$broadcast_receivers" --senders 1 -p 4 -s 64 --binary -w "$warmup" -d "$duration"; done ;;
      *) echo "unknown scenario $s" >&2 ;;
    esac
  done
  echo "repetition $rep of $reps done" >&2
done

echo
echo "Shockwave vs stock, $reps repetitions alternated (warm-up ${warmup}s, ${duration}s measured), server on core 0, load on core 1."
echo "Scenario 7 is the 'server B/msg' column. Client-bound: the load generator used >= 0.9 of a core."
echo "Broadcast (8, 9): fan-out latency is send to the last receiver, 'each' per delivery; B/msg is per delivery; the"
echo "client CPU column adds the deliveries/s at which the load generator would fill its core (a figure near it is its limit)."
"$loadgen" --summarize "$results"
echo
echo "raw results: $results"
