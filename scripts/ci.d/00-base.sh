#!/usr/bin/env bash
# Base packages for building and testing the agent on a fresh Debian 12 (as root, after apt-get update).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# gcc + zlib1g-dev: the Native AOT linker step. nats-server: `dev` and the NATS tests. iproute2: namespaces.
apt-get install -y --no-install-recommends gcc libc6-dev zlib1g-dev nats-server iproute2 iputils-ping procps ca-certificates
