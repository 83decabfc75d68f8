#!/usr/bin/env bash
# Base packages for building and testing the agent on a fresh Debian 12 (as root). Installs only what is missing.
set -euo pipefail
source "$(dirname "$0")/apt-need.bash"
# gcc + zlib1g-dev: the Native AOT linker step. nats-server: `dev` and the NATS tests. iproute2: namespaces.
apt_need gcc libc6-dev zlib1g-dev nats-server iproute2 iputils-ping procps ca-certificates
