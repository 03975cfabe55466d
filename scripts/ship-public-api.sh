#!/usr/bin/env bash
# Run when releasing a version: moves every project's PublicAPI.Unshipped.txt entries into its PublicAPI.Shipped.txt,
# so the next change to the public surface shows up against what was released. Entries marked *REMOVED* in
# Unshipped take the matching line out of Shipped. Shipped keeps its '#nullable enable' header and is sorted; Unshipped
# is left empty. Commit the result with the release.
# Usage: scripts/ship-public-api.sh            (all projects under src/)
#        scripts/ship-public-api.sh src/Protocol (some of them)
set -euo pipefail
cd "$(dirname "$0")/.."

header='#nullable enable'
if [ $# -gt 0 ]; then projects=("$@"); else projects=(src/*/); fi

for project in "${projects[@]}"; do
  project=${project%/}
  ls "$project"/*.csproj >/dev/null 2>&1 || continue
  shipped="$project/PublicAPI.Shipped.txt"
  unshipped="$project/PublicAPI.Unshipped.txt"
  for file in "$shipped" "$unshipped"; do
    [ -f "$file" ] || { echo "$file is missing: every shipping project has both PublicAPI files (docs/install.md)" >&2; exit 1; }
  done

  removed=$(mktemp); kept=$(mktemp)
  grep -E '^\*REMOVED\*' "$unshipped" | sed -E 's/^\*REMOVED\*//' >"$removed" || true
  {
    grep -vxF "$header" "$shipped" | grep -vE '^\s*$' | grep -vxF -f "$removed" || true
    grep -vxF "$header" "$unshipped" | grep -vE '^\s*$' | grep -vE '^\*REMOVED\*' || true
  } | LC_ALL=C sort -u >"$kept"
  moved=$(grep -vxF "$header" "$unshipped" | grep -cvE '^\s*$' || true)

  { echo "$header"; cat "$kept"; } >"$shipped"
  : >"$unshipped"
  rm -f "$removed" "$kept"
  echo "$project: $moved entries shipped, $(($(wc -l <"$shipped") - 1)) in PublicAPI.Shipped.txt"
done
