#!/usr/bin/env bash
# ZFS area: the userland the kernel-lane tests and the benchmark drive (the lane's own prepare builds zfs-dkms
# for the lane kernel). zfsutils-linux 2.3 comes from bookworm-backports, contrib; the lane's installer adds
# those sources. libzfs6linux brings libzfs_core.so.3 and libnvpair.so.3 (the agent's P/Invoke targets).
# nfs-kernel-server: exportfs, rpc.nfsd, rpc.mountd; nfs-common: mount.nfs for the NFS test.
# sanoid: the benchmark's peer.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends nfs-kernel-server nfs-common rpcbind sanoid
if apt-cache policy zfsutils-linux | grep -q 'Candidate: 2\.'; then
  apt-get install -y --no-install-recommends zfsutils-linux libzfs6linux libnvpair3linux
else
  echo "ci.d/zfs.sh: zfsutils-linux is not available (needs contrib + bookworm-backports; tests/lane/prepare sets them up)" >&2
fi
