#!/usr/bin/env bash
# Cross-node broadcast through the Redis backplane, beside the single-node figure, in one run.
#
#   bench/run-scaleout.sh [--quick] [--reps N] [--receivers-per-node N]
#
# Single node: one Shockwave load server, 2N receivers and 1 sender on it. Two nodes: two load servers on one local
# redis-server (a free port, a temporary directory, no persistence), N receivers on each, the sender on the first; every
# message crosses Redis to reach the second node's receivers. 64 B binary, 4 messages in flight (scenario 8 of
# run-e2e.sh). Servers and Redis share core 0, the load generator has core 1. Prints deliveries/s, fan-out latency (send
# to the last receiver: for two nodes, the cross-node path) and Redis's CPU (from /proc) per configuration, and the
# two-node/single-node ratio of deliveries/s. Environment: SCALEOUT_OUT (default artifacts/scaleout), SCALEOUT_PORT (9500).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${SCALEOUT_OUT:-$repo/artifacts/scaleout}"
port="${SCALEOUT_PORT:-9500}"
reps=3; quick=0; per_node=100; in_flight=4
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --reps) reps="$2"; shift ;;
    --receivers-per-node) per_node="$2"; shift ;;
    --in-flight) in_flight="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ $quick == 1 ]]; then warmup=3; duration=3; else warmup=5; duration=10; fi
command -v redis-server >/dev/null || { echo "redis-server is missing: bash scripts/install-test-deps.sh" >&2; exit 2; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_TC_CallCountingDelayMs=0
mkdir -p "$out"
echo "building (Release) into $out ..." >&2
for project in Shockwave.LoadServer Shockwave.LoadGen; do
  dotnet publish "$repo/bench/$project/$project.csproj" -c Release --nologo -v q --artifacts-path "$out/build" -o "$out/$project" >&2
done
server="$out/Shockwave.LoadServer/Shockwave.LoadServer"
loadgen="$out/Shockwave.LoadGen/Shockwave.LoadGen"
if [[ $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then pin_server=(taskset -c 0); pin_load=(taskset -c 1); else pin_server=(); pin_load=(); fi

redis_port=$((port + 50)); redis_dir="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$redis_dir"; }
trap cleanup EXIT
"${pin_server[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$redis_dir" --loglevel warning >/dev/null &
redis_pid=$!; pids+=("$redis_pid")

# CPU seconds a process has used (utime + stime from /proc/PID/stat).
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }

start_server() { # port stats_port [--redis ...]
  "${pin_server[@]}" "$server" --stack shockwave --port "$1" --stats-port "$2" "${@:3}" >>"$out/servers.log" 2>&1 &
  local pid=$!; pids+=("$pid")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/stats" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "$pid"
}
stop_servers() { for p in "$@"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }

results="$out/results-$(date +%Y%m%d-%H%M%S).jsonl"; : >"$results"
total=$((per_node * 2))
for rep in $(seq "$reps"); do
  for config in single double; do
    if [[ $config == single ]]; then
      a=$(start_server "$port" $((port + 99)))
      extra=(); servers=("$a")
    else
      a=$(start_server "$port" $((port + 99)) --redis "127.0.0.1:$redis_port")
      b=$(start_server $((port + 1)) $((port + 98)) --redis "127.0.0.1:$redis_port")
      extra=(--other-port $((port + 1))); servers=("$a" "$b")
    fi
    r0=$(cpu_seconds "$redis_pid"); t0=$(date +%s.%N)
    line=$("${pin_load[@]}" "$loadgen" --mode broadcast --port "$port" --stats-port $((port + 99)) --receivers "$total" --senders 1 \
      -p "$in_flight" -s 64 --binary -w "$warmup" -d "$duration" --label "$config" "${extra[@]}" 2>>"$out/loadgen.log" || echo '{}')
    r1=$(cpu_seconds "$redis_pid"); t1=$(date +%s.%N)
    redis_cpu=$(awk -v a="$r0" -v b="$r1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.3f", (b - a) / (e - s) }')
    echo "${line%\}},\"redisCpu\":$redis_cpu}" >>"$results"
    stop_servers "${servers[@]}"
    sleep 1
  done
  echo "repetition $rep of $reps done" >&2
done

echo "Cross-node broadcast, 64 B binary, 1 sender x $in_flight in flight, $per_node receivers per node; medians of $reps runs."
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip() and l.strip() != '{}']
def med(config, key):
    values = [r[key] for r in rows if r.get("label") == config and isinstance(r.get(key), (int, float))]
    return statistics.median(values) if values else float("nan")
keys = ["deliveriesPerSec", "p50us", "p99us", "deliveryP50us", "deliveryP99us", "gaps", "errors", "serverCpu", "clientCpu", "redisCpu"]
print("config  " + "  ".join(f"{k:>16}" for k in keys))
for config in ("single", "double"):
    print(f"{config:7} " + "  ".join(f"{med(config, k):>16.2f}" for k in keys))
print("p50us/p99us: send to the last receiver (two nodes: through Redis); serverCpu: the first node only.")
ratio = med("double", "deliveriesPerSec") / med("single", "deliveriesPerSec")
print(f"two nodes / one node, deliveries/s: {ratio:.2f}x")
PY
echo "raw results: $results"
