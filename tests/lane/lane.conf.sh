# Shared settings of the kernel lane scripts (sourced, not run).
# The Debian kernel the lane boots; it comes from bookworm-backports. Override with LANE_KVER.
LANE_KVER=${LANE_KVER:-6.12.95+deb12-amd64}
# Built artefacts (the initramfs per kernel) live here, outside any worktree, shared by all checkouts.
LANE_CACHE=${LANE_CACHE:-/var/cache/kraud-lane}
LANE_INITRD="$LANE_CACHE/initrd-$LANE_KVER.img"
LANE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Modules the initramfs needs before the host root is reachable (9p over virtio, then overlayfs).
LANE_EARLY_MODULES="9pnet_virtio 9p overlay"
