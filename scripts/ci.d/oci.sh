#!/usr/bin/env bash
# The OCI image tests (tests/Kraud.Oci.Tests) and bench/oci: a real registry (Debian's docker-registry, run by the
# tests themselves, never as a service), skopeo to put images into it (the tests write OCI layouts by hand), htpasswd
# (apache2-utils) for the registry's bcrypt basic-auth file, openssl for the TLS CA and certificates.
set -euo pipefail
source "$(dirname "$0")/apt-need.bash"
apt_need docker-registry skopeo apache2-utils openssl
# The package enables and starts its own systemd service; where systemd runs, stop it so port 5000 stays free.
if [ -d /run/systemd/system ] && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
