#!/usr/bin/env bash
# Kestrel's socket transport knobs, for both stacks in one run: msg/s and system calls per message for the 64 B echo
# (run-e2e.sh scenario 1), and memory per idle connection.
#
#   bench/run-knobs.sh [--quick] [--reps N] [--idle-conns N] [--knobs "default transport"] [--echo "-c 10 -p 4 -s 16384"]
#
# Configurations: default; WaitForDataBeforeAllocatingBuffer=false; IOQueueCount=0; IOQueueCount=1;
# UnsafePreferInlineScheduling with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1; the last two together with
# WaitForData off; transport: the Shockwave transport (UseShockwaveTransport) instead of Kestrel's sockets. --knobs
# picks some of them, --echo replaces the echo load (default "-c 100 -p 16 -s 64 --text", scenario 1); --idle-conns 0
# skips the idle measurement. System calls are counted on the server process with perf's syscall tracepoints over the middle of the
# measured window and divided by the messages echoed in it (one message = one received and one sent WebSocket message).
# Server on core 0, load generator on core 1. Environment: KNOBS_OUT (default artifacts/knobs), KNOBS_PORT (9700).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${KNOBS_OUT:-$repo/artifacts/knobs}"
port="${KNOBS_PORT:-9700}"; stats=$((port + 99))
reps=1; quick=0; idle_conns=5000
selected=""; echo_load="-c 100 -p 16 -s 64 --text"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --reps) reps="$2"; shift ;;
    --idle-conns) idle_conns="$2"; shift ;;
    --knobs) selected="$2"; shift ;;
    --echo) echo_load="$2"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ $quick == 1 ]]; then warmup=3; duration=4; else warmup=5; duration=10; fi
command -v perf >/dev/null || { echo "perf is missing (apt-get install linux-perf)" >&2; exit 2; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_TC_CallCountingDelayMs=0
mkdir -p "$out"
for project in Shockwave.LoadServer Shockwave.LoadGen; do
  dotnet publish "$repo/bench/$project/$project.csproj" -c Release --nologo -v q --artifacts-path "$out/build" -o "$out/$project" >&2
done
server="$out/Shockwave.LoadServer/Shockwave.LoadServer"; loadgen="$out/Shockwave.LoadGen/Shockwave.LoadGen"
if [[ $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then pin_server=(taskset -c 0); pin_load=(taskset -c 1); else pin_server=(); pin_load=(); fi
ulimit -n "$(ulimit -Hn | sed 's/unlimited/65536/')" || true

declare -A knobs=(
  [default]=""
  [no-wait]="--no-wait-for-data"
  [ioq0]="--io-queues 0"
  [ioq1]="--io-queues 1"
  [inline]="--inline-scheduling"
  [inline+no-wait]="--inline-scheduling --no-wait-for-data"
  [transport]="--transport shockwave"
)
order=(default no-wait ioq0 ioq1 inline inline+no-wait transport)
if [[ -n $selected ]]; then read -r -a order <<<"$selected"; fi
events="syscalls:sys_enter_recvfrom,syscalls:sys_enter_recvmsg,syscalls:sys_enter_read,syscalls:sys_enter_readv,syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_futex"
results="$out/results-$(date +%Y%m%d-%H%M%S).jsonl"; : >"$results"
spid=""
cleanup() { if [[ -n $spid ]]; then kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi; }
trap cleanup EXIT

start() { # stack knob-args...
  local env=()
  [[ "$*" == *--inline-scheduling* ]] && env=(env DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1)
  # shellcheck disable=SC2068
  "${env[@]}" "${pin_server[@]}" "$server" --stack "$1" ${@:2} --port "$port" --stats-port "$stats" >>"$out/servers.log" 2>&1 &
  spid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$stats/stats" >/dev/null 2>&1 && break; sleep 0.1; done
}
stop() { kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; spid=""; sleep 1; }

for rep in $(seq "$reps"); do
  for knob in "${order[@]}"; do
    for stack in shockwave stock; do
      # shellcheck disable=SC2086
      start "$stack" ${knobs[$knob]}
      # shellcheck disable=SC2086
      "${pin_load[@]}" "$loadgen" --mode echo --port "$port" --stats-port "$stats" $echo_load \
        -w "$warmup" -d "$duration" --label "$knob|$stack" >"$out/echo.json" 2>>"$out/loadgen.log" &
      lpid=$!
      sleep $((warmup + 1))
      window=$((duration - 2))
      perf stat -x, -e "$events" -p "$spid" -- sleep "$window" 2>"$out/perf.csv" >/dev/null || true
      wait "$lpid" || true
      python3 - "$out/echo.json" "$out/perf.csv" "$window" >>"$results" <<'PY'
import json, sys
echo = json.loads(open(sys.argv[1]).read() or "{}")
window = float(sys.argv[3])
counts = {}
for line in open(sys.argv[2]):
    parts = line.strip().split(",")
    if len(parts) > 2 and parts[2].startswith("syscalls:sys_enter_"):
        try: counts[parts[2].removeprefix("syscalls:sys_enter_")] = int(parts[0])
        except ValueError: pass
msgs = echo.get("msgsPerSec", 0) * window
def per(names): return round(sum(counts.get(n, 0) for n in names) / msgs, 3) if msgs else None
echo["recvPerMsg"] = per(["recvfrom", "recvmsg", "read", "readv"])
echo["sendPerMsg"] = per(["sendto", "sendmsg", "write", "writev"])
echo["epollPerMsg"] = per(["epoll_wait", "epoll_ctl"])
echo["futexPerMsg"] = per(["futex"])
print(json.dumps(echo))
PY
      stop
      [[ $idle_conns -gt 0 ]] || continue
      # shellcheck disable=SC2086
      start "$stack" ${knobs[$knob]}
      "${pin_load[@]}" "$loadgen" --mode idle --port "$port" --stats-port "$stats" -c "$idle_conns" --rate 5000 --concurrency 64 \
        --hold 2 --sources 8 --label "$knob|$stack" >>"$results" 2>>"$out/loadgen.log" || true
      stop
    done
  done
  echo "repetition $rep of $reps done" >&2
done

python3 - "$results" "${order[*]}" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(label, mode, key):
    v = [r[key] for r in rows if r.get("label") == label and r.get("mode") == mode and isinstance(r.get(key), (int, float))]
    return statistics.median(v) if v else float("nan")
print(f"{'knobs':16} {'stack':9} {'msg/s':>9} {'vs stock':>8} {'recv/msg':>8} {'send/msg':>8} {'epoll/msg':>9} {'futex/msg':>9} {'srv CPU':>7} {'idle KiB/conn':>13}")
for knob in sys.argv[2].split():
    stock = med(f"{knob}|stock", "echo", "msgsPerSec")
    default_stock = med("default|stock", "echo", "msgsPerSec")
    for stack in ["shockwave", "stock"]:
        label = f"{knob}|{stack}"
        rate = med(label, "echo", "msgsPerSec")
        print(f"{knob:16} {stack:9} {rate:>9.0f} {rate / default_stock:>7.2f}x {med(label, 'echo', 'recvPerMsg'):>8.2f} {med(label, 'echo', 'sendPerMsg'):>8.2f} "
              f"{med(label, 'echo', 'epollPerMsg'):>9.2f} {med(label, 'echo', 'futexPerMsg'):>9.2f} {med(label, 'echo', 'serverCpu'):>7.2f} {med(label, 'idle', 'rssKiBPerConn'):>13.2f}")
print("vs stock: msg/s against the stock stack with default settings in the same run.")
PY
echo "raw results: $results"
