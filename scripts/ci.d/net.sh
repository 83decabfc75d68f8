#!/usr/bin/env bash
# Net tests: userspace WireGuard (wireguard-go + wg), iproute2 for namespaces and the benchmark peer, ping.
set -euo pipefail
need=()
for p in wireguard-go wireguard-tools iproute2 iputils-ping; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi
