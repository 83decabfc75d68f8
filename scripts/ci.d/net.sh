#!/usr/bin/env bash
# Net tests: userspace WireGuard (wireguard-go + wg), iproute2 for namespaces and the benchmark peer, ping.
set -euo pipefail
source "$(dirname "$0")/apt-need.bash"
apt_need wireguard-go wireguard-tools iproute2 iputils-ping
