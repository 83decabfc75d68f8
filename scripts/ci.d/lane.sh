#!/bin/bash
# Installer for the kernel lane: apt packages, the backports kernel, zfs via DKMS and the lane's initramfs
# (tests/lane/prepare; each step is skipped when already done). Run by scripts/test before the tests.
set -euo pipefail
"$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tests/lane/prepare"
