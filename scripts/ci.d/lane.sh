#!/bin/bash
# CI installer for the kernel lane: apt packages, the backports kernel, zfs via DKMS and the lane's
# initramfs (tests/lane/prepare; each step is skipped when already done). Sourced by .ci/run after
# apt-get update, so it runs prepare as a child and leaves the caller's shell options alone.
set -euo pipefail
"$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tests/lane/prepare"
