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

passed=0; failed=0; skipped=0; status=0
for project in test/*/*.csproj; do
  name=$(basename "$project" .csproj)
  log="$results/$name.log"
  dotnet test "$project" -c "$configuration" --no-build --logger "console;verbosity=minimal" \
    --blame-hang-timeout 5m "$@" 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  # The VSTest summary: "Passed!  - Failed:     0, Passed:    12, Skipped:     0, Total:    12, ..."
  summary=$(grep -E '^\s*(Passed|Failed)!\s+-\s+Failed:' "$log" | tail -n 1)
  if [ -z "$summary" ]; then
    echo "no test summary from $name"; failed=$((failed + 1)); status=1; continue
  fi
  f=$(sed -E 's/.*Failed:\s*([0-9]+).*/\1/' <<<"$summary")
  p=$(sed -E 's/.*Passed:\s*([0-9]+).*/\1/' <<<"$summary")
  s=$(sed -E 's/.*Skipped:\s*([0-9]+).*/\1/' <<<"$summary")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done
rm -rf "$results"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
