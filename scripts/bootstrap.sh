#!/usr/bin/env bash
# Brings a machine that has only Node 20 and npm to a built workspace:
# pnpm 12.4.2, the locked dependencies, every package built. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

want_pnpm=12.4.2
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$want_pnpm" ]; then
  echo "bootstrap: installing pnpm@$want_pnpm" >&2
  npm install --global --no-fund --no-audit "pnpm@$want_pnpm" >&2
fi
pnpm install --frozen-lockfile --reporter=silent
pnpm build --output-logs=errors-only >&2
