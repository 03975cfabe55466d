#!/usr/bin/env bash
# Runs every test suite on a fresh machine: installs what the tests need, builds once,
# runs each test project, and ends with one line "N passed, N failed".
# Usage: scripts/test.sh [extra dotnet test arguments, e.g. --filter Category!=Slow]
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

configuration=${CONFIGURATION:-Release}
results=$(mktemp -d)
if ! dotnet build Shockwave.sln -c "$configuration" -warnaserror 2>&1 | tail -n 3; then
  echo "0 passed, 1 failed"; exit 1
fi

# The transport tests hold 10,000 server connections (their clients are a separate process): raise the soft limit on
# open files to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

passed=0; failed=0; skipped=0; status=0
# run_suite PROJECT LABEL [ENVIRONMENT...]: one test project, its summary added to the totals.
run_suite() {
  local project="$1" label="$2"; shift 2
  local log="$results/$label.log"
  env "$@" dotnet test "$project" -c "$configuration" --no-build --logger "console;verbosity=minimal" \
    --blame-hang-timeout 5m "${test_args[@]}" 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  # The VSTest summary: "Passed!  - Failed:     0, Passed:    12, Skipped:     0, Total:    12, ..."
  local summary
  summary=$(grep -E '^\s*(Passed|Failed)!\s+-\s+Failed:' "$log" | tail -n 1)
  if [ -z "$summary" ]; then
    echo "no test summary from $label"; failed=$((failed + 1)); status=1; return
  fi
  local f p s
  f=$(sed -E 's/.*Failed:\s*([0-9]+).*/\1/' <<<"$summary")
  p=$(sed -E 's/.*Passed:\s*([0-9]+).*/\1/' <<<"$summary")
  s=$(sed -E 's/.*Skipped:\s*([0-9]+).*/\1/' <<<"$summary")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

test_args=("$@")
for project in test/*/*.csproj; do
  run_suite "$project" "$(basename "$project" .csproj)"
done

# The same suites once more on the other Kestrel transport (test/Shared/TestTransport.cs): the middleware and interop
# servers use Kestrel's sockets by default and run here on the Shockwave transport; the conformance target
# (samples/Echo) ships on the Shockwave transport and runs here on Kestrel's sockets.
run_suite test/Shockwave.Middleware.Tests/Shockwave.Middleware.Tests.csproj Middleware-on-shockwave-transport SHOCKWAVE_TEST_TRANSPORT=shockwave
run_suite test/Shockwave.Interop.Tests/Shockwave.Interop.Tests.csproj Interop-on-shockwave-transport SHOCKWAVE_TEST_TRANSPORT=shockwave
run_suite test/Shockwave.Conformance.Tests/Shockwave.Conformance.Tests.csproj Conformance-on-kestrel-sockets SHOCKWAVE_TEST_TRANSPORT=sockets
rm -rf "$results"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
