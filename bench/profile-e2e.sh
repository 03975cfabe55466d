#!/usr/bin/env bash
# Where the server's CPU goes in one end-to-end scenario: kernel, libc, the runtime, jitted code, zlib.
#
#   bench/profile-e2e.sh [--warmup S] [--seconds S] SERVER_ARGS -- LOADGEN_ARGS
#   bench/profile-e2e.sh --stack shockwave -- --mode echo -c 100 -p 16 -s 64 --text
#   bench/profile-e2e.sh --stack stock --deflate -- --mode echo -c 10 -p 8 -s 1024 --json --deflate
#
# Runs the load server on core 0 and the load generator on core 1 (as bench/run-e2e.sh does), waits for steady state,
# samples the server with `perf record -e cpu-clock` and prints the share of samples per binary, the top symbols and the
# send/receive system calls per message. Needs perf and kernel.perf_event_paranoid <= 1 (as root:
# sysctl kernel.perf_event_paranoid=1). Jitted code shows as one block unless DOTNET_EnableWriteXorExecute=0 is set,
# which lets perf read the runtime's perf map (DOTNET_PerfMapEnabled=1, set here) and name managed methods.
# Environment: E2E_OUT (default artifacts/e2e, where bench/run-e2e.sh publishes the binaries), E2E_PORT (default 9300).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${E2E_OUT:-$repo/artifacts/e2e}"
port="${E2E_PORT:-9300}"
stats=$((port + 99))
warmup=5
seconds=4
server_args=()
while [[ $# -gt 0 && $1 != -- ]]; do
  case "$1" in
    --warmup) warmup="$2"; shift ;;
    --seconds) seconds="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) server_args+=("$1") ;;
  esac
  shift
done
[[ $# -gt 0 ]] && shift
loadgen_args=("$@")
if [[ ${#loadgen_args[@]} -eq 0 ]]; then sed -n '2,14p' "$0" >&2; exit 2; fi
command -v perf >/dev/null || { echo "perf is not installed" >&2; exit 2; }

if [[ ! -x $out/Shockwave.LoadServer/Shockwave.LoadServer || ! -x $out/Shockwave.LoadGen/Shockwave.LoadGen ]]; then
  for project in Shockwave.LoadServer Shockwave.LoadGen; do
    dotnet publish "$repo/bench/$project/$project.csproj" -c Release --nologo -v q \
      --artifacts-path "$out/build" -o "$out/$project" >&2
  done
fi

# The same tiering setting as bench/run-e2e.sh, so the profile is of steady-state code.
export DOTNET_TC_CallCountingDelayMs=0 DOTNET_PerfMapEnabled=1
work="$(mktemp -d)"
spid=""
cleanup() { if [[ -n $spid ]]; then kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

taskset -c 0 "$out/Shockwave.LoadServer/Shockwave.LoadServer" "${server_args[@]}" --port "$port" --stats-port "$stats" >"$work/server.log" 2>&1 &
spid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$stats/stats" >/dev/null 2>&1 && break; sleep 0.1; done
taskset -c 1 "$out/Shockwave.LoadGen/Shockwave.LoadGen" --port "$port" --stats-port "$stats" --label profile \
  "${loadgen_args[@]}" -w "$warmup" -d $((seconds * 2 + 2)) >"$work/result.json" 2>"$work/loadgen.log" &
lpid=$!
sleep $((warmup + 1))
taskset -c 1 perf record -e cpu-clock -F 1999 -g -p "$spid" -o "$work/perf.data" -- sleep "$seconds" >/dev/null 2>&1
taskset -c 1 perf stat -x, -e 'syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_recvfrom' \
  -p "$spid" -o "$work/syscalls.csv" -- sleep "$seconds" >/dev/null || true
wait "$lpid" || true

echo "== load: $(cat "$work/result.json")"
echo "== share of server CPU samples per binary"
# (|| true: head closing the pipe early is not a failure)
perf report -i "$work/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 || true
echo "== top symbols"
perf report -i "$work/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25 | cut -c1-160 || true
if [[ -s $work/syscalls.csv ]]; then
  echo "== system calls in $seconds s (messages/s x $seconds gives the messages they carried)"
  grep syscalls "$work/syscalls.csv" | awk -F, '{ printf "%12s  %s\n", $1, $3 }'
fi
