#!/usr/bin/env bash
# Installs what the test suites need beyond the .NET SDK. Idempotent: skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "test dependencies: ok"
