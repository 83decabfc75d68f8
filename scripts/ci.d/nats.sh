#!/usr/bin/env bash
# Kraud.Nats tests run real nats-server processes (2.9.10 on bookworm) and make TLS certificates with openssl.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if ((${#need[@]})); then
  apt-get install -y --no-install-recommends "${need[@]}"
fi
