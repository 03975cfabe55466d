#!/usr/bin/env bash
# Installs what the test suites need beyond the .NET SDK, on a fresh Debian machine. Idempotent: skips what is
# present. Interop tests use real third-party clients: Python's websockets (Debian's python3-websockets), Node's ws
# and playwright-core (from npm, into test/interop/node_modules), and Debian's headless Chromium, which
# playwright-core drives through its executable path: it never downloads a browser of its own. The backplane and chat
# tests start Debian's redis-server themselves (a free port, a temporary directory) and stop it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
/usr/bin/python3 -c "import websockets" 2>/dev/null || apt_packages+=(python3-websockets)
command -v node >/dev/null 2>&1 || apt_packages+=(nodejs npm)
[ -x /usr/bin/chromium ] || apt_packages+=(chromium)
command -v redis-server >/dev/null 2>&1 || apt_packages+=(redis-server)

if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "installing: ${apt_packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

# Every dependency of package.json must be installed at its pinned version, so a package added or bumped later also
# installs into an existing node_modules.
node_packages_ok() {
  (cd test/interop && node -e '
    const fs = require("node:fs");
    for (const [name, version] of Object.entries(require("./package.json").dependencies ?? {})) {
      const file = `node_modules/${name}/package.json`;
      if (!fs.existsSync(file) || JSON.parse(fs.readFileSync(file, "utf8")).version !== version) process.exit(1);
    }')
}
if [ -f test/interop/package.json ] && ! node_packages_ok; then
  echo "installing node test packages"
  # Nothing may fetch a browser build: Debian's chromium is the one the tests use.
  (cd test/interop && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --no-package-lock --silent)
fi

echo "test dependencies: ok"
