#!/usr/bin/env bash
# The fault-injection suite (tests/faults) delays one PD's LOCK handling with
# strace in some of its races; make sure the binary exists.
set -euo pipefail
if command -v strace >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-strace: installing strace" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >&2
  exit 0
fi
# Not fatal: those races are skipped (with a message) without strace.
echo "ensure-strace: strace is not installed; the strace-delayed lock races will be skipped (Debian: sudo apt-get install strace)" >&2
