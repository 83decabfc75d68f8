#!/usr/bin/env bash
# The agent's NATS tests run real nats-server processes (2.9.10 on bookworm) and make TLS certificates with openssl.
set -euo pipefail
source "$(dirname "$0")/apt-need.bash"
apt_need nats-server openssl
