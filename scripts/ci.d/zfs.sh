#!/usr/bin/env bash
# ZFS area: the userland the kernel-lane tests and the benchmark drive (the lane's own prepare builds zfs-dkms
# for the lane kernel). zfsutils-linux 2.3 comes from bookworm-backports, contrib; the lane's installer
# (ci.d/lane.sh, which runs before this one) adds those sources. libzfs6linux brings libzfs_core.so.3 and
# libnvpair.so.3 (the agent's P/Invoke targets). nfs-kernel-server: exportfs, rpc.nfsd, rpc.mountd;
# nfs-common: mount.nfs for the NFS test. sanoid and socat: the replication benchmark's peers.
set -euo pipefail
source "$(dirname "$0")/apt-need.bash"
apt_need nfs-kernel-server nfs-common rpcbind sanoid socat
zfs_pkgs=(zfsutils-linux libzfs6linux libnvpair3linux)
if [ -z "$(apt_missing "${zfs_pkgs[@]}")" ]; then
  : # installed
elif apt-cache policy zfsutils-linux | grep -q 'Candidate: 2\.'; then
  APT_NEED_RELEASE=bookworm-backports apt_need "${zfs_pkgs[@]}"
else
  echo "ci.d/zfs.sh: zfsutils-linux 2.x is not available (needs contrib + bookworm-backports; tests/lane/prepare sets them up)" >&2
  exit 1
fi
