#!/usr/bin/env bash
# The dashboard's browser test (dashboard.test.mjs) as ctest runs it: installs playwright-core
# from package-lock.json into WORK_DIR with `npm ci` (only when the lock file changed since the
# last install, so a second run downloads nothing), then runs the test with node's test runner.
# Needs Debian's chromium (/usr/bin/chromium, or $CHROMIUM) and node with npm: when one is
# missing it runs scripts/install-deps as root, and skips (exit 77) only when that cannot work
# (not root, or no apt-get).
# Usage: run.sh WORK_DIR, with CORVEE_BIN set (ctest sets both). Optional: DASHBOARD_SCREENSHOT=FILE.png.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$1
: "${CORVEE_BIN:?CORVEE_BIN must name the corvee binary}"
chromium=${CHROMIUM:-/usr/bin/chromium}
skip() { echo "dashboard_test: SKIP: $*"; exit 77; }

if [ ! -x "$chromium" ] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "dashboard_test: chromium, node or npm is missing; running scripts/install-deps"
    "$here/../../scripts/install-deps" || skip "scripts/install-deps could not install chromium, node and npm"
  fi
  [ -x "$chromium" ] || skip "no $chromium (Debian's chromium package): run scripts/install-deps as root"
  command -v node >/dev/null || skip "no node: run scripts/install-deps as root"
  command -v npm >/dev/null || skip "no npm: run scripts/install-deps as root"
fi

mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$here/dashboard.test.mjs" "$work/"
stamp="$work/node_modules/.corvee-lock.sha256"
lock_hash=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "dashboard_test: npm ci (playwright-core) into $work"
  (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" >"$stamp"
fi

cd "$work"
export CHROMIUM="$chromium"
exec node --test --test-reporter=spec dashboard.test.mjs
