#!/usr/bin/env bash
# The KVM tests build their freestanding guests with gcc and make (tests/guests/Makefile; objcopy from binutils),
# create taps with iproute2, loop devices with losetup (mount), serve virtio-fs shares with Debian's virtiofsd
# (/usr/lib/qemu/virtiofsd, in qemu-system-common), and need /dev/kvm and /dev/net/tun on the host.
set -euo pipefail
source "$(dirname "$0")/apt-need.bash"
apt_need gcc make binutils libc6-dev iproute2 mount qemu-system-common
