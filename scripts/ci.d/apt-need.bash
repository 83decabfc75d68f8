# Sourced by the scripts/ci.d installers (not an installer itself: the glob they are run by is *.sh).
# apt_need PKG...: installs those of the packages that are not installed yet. When every one is, it runs no
# apt-get at all, so scripts/test can run every installer each time and spend about a second on them.
# APT_NEED_RELEASE=bookworm-backports installs from that release (apt-get -t).

apt_missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

apt_need() {
  local missing
  mapfile -t missing < <(apt_missing "$@")
  ((${#missing[@]})) || return 0
  local who=${0##*/}
  [ "$(id -u)" = 0 ] || { echo "$who: missing packages: ${missing[*]}; run as root to install them" >&2; return 1; }
  echo "$who: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  local opts=(-y --no-install-recommends -o DPkg::Lock::Timeout=900)
  [ -z "${APT_NEED_RELEASE:-}" ] || opts+=(-t "$APT_NEED_RELEASE")
  # Package lists that are missing or too old to know a package: refresh them once and try again.
  apt-get install "${opts[@]}" "${missing[@]}" || { apt-get update -qq -o DPkg::Lock::Timeout=900 && apt-get install "${opts[@]}" "${missing[@]}"; }
}
