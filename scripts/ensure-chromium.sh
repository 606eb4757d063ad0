#!/usr/bin/env bash
# The status page's browser tests (tests/browser) drive Debian's Chromium
# through playwright-core, which downloads no browser: make sure it exists.
set -euo pipefail
chromium="${PD_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing chromium" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  exit 0
fi
echo "ensure-chromium: $chromium is not installed; install chromium (Debian: sudo apt-get install chromium); the browser tests are skipped without it" >&2
exit 0
