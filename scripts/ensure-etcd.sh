#!/usr/bin/env bash
# The distributed-mode tests start real etcd members; make sure the binary exists.
set -euo pipefail
if command -v etcd >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-etcd: installing etcd-server" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >&2
  # Debian may start a system etcd on 2379; the tests use their own ports, but PD's default is 2379.
  (command -v service >/dev/null 2>&1 && service etcd stop >/dev/null 2>&1) || true
  exit 0
fi
echo "ensure-etcd: etcd is not installed; install etcd-server (Debian: sudo apt-get install etcd-server)" >&2
exit 1
