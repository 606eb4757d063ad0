#!/usr/bin/env bash
# Regenerates the protobuf code and fails if that changes anything committed.
set -euo pipefail
cd "$(dirname "$0")/.."
pnpm --filter @nokv/pd-proto generate >/dev/null
if ! git diff --quiet -- proto/src/gen || [ -n "$(git ls-files --others --exclude-standard proto/src/gen)" ]; then
  echo "check-generated: proto/src/gen differs from what 'pnpm generate' produces; regenerate and commit:" >&2
  git status --short -- proto/src/gen >&2
  exit 1
fi
# The decoders must carry the strict-decode rewrite (merge, malformed tags refused),
# even if someone regenerated and committed without it.
node proto/scripts/strict-decode.mjs --check proto/src/gen
echo "check-generated: proto/src/gen is up to date"
