#!/usr/bin/env bash
# Installs what the test suites need beyond the .NET SDK, on a fresh Debian machine. Idempotent: skips what is
# present. Interop tests use real third-party clients: Python's websockets (Debian's python3-websockets) and
# Node's ws (from npm, into test/interop/node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
/usr/bin/python3 -c "import websockets" 2>/dev/null || apt_packages+=(python3-websockets)
command -v node >/dev/null 2>&1 || apt_packages+=(nodejs npm)

if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "installing: ${apt_packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

if [ -f test/interop/package.json ] && [ ! -d test/interop/node_modules/ws ]; then
  echo "installing node test packages"
  (cd test/interop && npm install --no-audit --no-fund --no-package-lock --silent)
fi

echo "test dependencies: ok"
