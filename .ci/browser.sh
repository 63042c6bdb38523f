#!/usr/bin/env bash
# The HTML report in a real browser: installs Debian's Chromium when it is missing (CI runs as
# root), then runs the one browser test, which `cargo test --workspace` skips (#[ignore]), and
# fails unless it ran and passed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

echo "== the HTML report in headless Chromium"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test -p backprop-cli --test browser -- --ignored 2>&1 | tee "$log"
if ! grep -q "test result: ok. 1 passed" "$log"; then
  echo "error: the browser test did not run and pass" >&2
  exit 1
fi
