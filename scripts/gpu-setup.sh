#!/usr/bin/env bash
# Prepares a Vulkan adapter for the WebGPU backend's conformance tests (test/gpu/) on a machine with no GPU:
# Mesa's software Vulkan (lavapipe) from Mesa 25 or later. Debian 12's own Mesa 22.3 is refused by Dawn
# (it lacks shaderUniform*ArrayDynamicIndexing), so Mesa comes from bookworm-backports.
#
# The backports suite is added by reusing the mirror this machine already uses for Debian itself (the
# `URIs:`, `Components:` and `Signed-By:` of the main suite's stanza in /etc/apt/sources.list.d/debian.sources),
# so no repository host is written in this project.
#
# Idempotent: when Mesa ≥ 25's lavapipe and libvulkan are installed it changes nothing and takes well under a
# second. Needs root for the install; without root, on a system that is not Debian 12, or when apt cannot
# install the packages (no backports on the mirror, no network), it says what is
# missing and exits 0 (the conformance tests then skip with that reason). Progress goes to stderr.
set -euo pipefail

MIN_MESA_MAJOR=25
SOURCES=/etc/apt/sources.list.d/debian.sources
PACKAGES=(mesa-vulkan-drivers libvulkan1)

log() { printf 'gpu-setup: %s\n' "$*" >&2; }

mesa_major() {
  local v
  v=$(dpkg-query -W -f='${Status} ${Version}' mesa-vulkan-drivers 2>/dev/null | sed -n 's/^install ok installed \([0-9]*\).*/\1/p')
  echo "${v:-0}"
}

ready() {
  [ "$(mesa_major)" -ge "$MIN_MESA_MAJOR" ] &&
    dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q 'install ok installed' &&
    ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1
}

if ready; then
  log "Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) lavapipe already installed"
  exit 0
fi

# shellcheck disable=SC1091
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
if [ "$codename" != bookworm ] || [ ! -f "$SOURCES" ]; then
  log "not Debian 12 with $SOURCES: install Mesa >= $MIN_MESA_MAJOR's Vulkan drivers (lavapipe) and libvulkan by hand"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  log "Mesa >= $MIN_MESA_MAJOR lavapipe missing (have mesa-vulkan-drivers major $(mesa_major)); run this script as root"
  exit 0
fi

# The stanza of debian.sources whose Suites name the release itself (not -security): its mirror, components, key.
field() {
  awk -v want="$1" -v suite="$codename" '
    BEGIN { RS = ""; FS = "\n" }
    {
      main = 0; value = ""
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^Suites:/) { n = split(substr($i, 8), s, " "); for (j = 1; j <= n; j++) if (s[j] == suite) main = 1 }
        if (index($i, want ":") == 1) value = substr($i, length(want) + 2)
      }
      if (main) { sub(/^[ \t]+/, "", value); print value; exit }
    }' "$SOURCES"
}
uris=$(field URIs)
components=$(field Components)
signed_by=$(field Signed-By)
if [ -z "$uris" ]; then
  log "no stanza for suite $codename in $SOURCES: cannot add $codename-backports"
  exit 0
fi

backports=/etc/apt/sources.list.d/influence-lens-$codename-backports.sources
if [ ! -f "$backports" ]; then
  log "adding $codename-backports (same mirror as $codename) in $backports"
  tmp=$(mktemp "$backports.XXXXXX")
  {
    echo "Types: deb"
    echo "URIs: $uris"
    echo "Suites: $codename-backports"
    echo "Components: ${components:-main}"
    [ -n "$signed_by" ] && echo "Signed-By: $signed_by"
  } >"$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$backports"
fi

export DEBIAN_FRONTEND=noninteractive
log "installing ${PACKAGES[*]} from $codename-backports"
# A mirror without backports, or no network: say so and carry on (the conformance tests skip with the reason).
if ! apt-get update -qq >&2; then
  log "apt-get update failed: the software Vulkan adapter (Mesa >= $MIN_MESA_MAJOR lavapipe) is unavailable"
  exit 0
fi
if ! apt-get install -y -qq --no-install-recommends -t "$codename-backports" "${PACKAGES[@]}" >&2; then
  log "cannot install ${PACKAGES[*]} from $codename-backports: the software Vulkan adapter (Mesa >= $MIN_MESA_MAJOR lavapipe) is unavailable"
  exit 0
fi

if ready; then
  log "Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) lavapipe installed"
else
  log "installed, but Mesa >= $MIN_MESA_MAJOR lavapipe is still not there (mesa-vulkan-drivers major $(mesa_major)): the software Vulkan adapter is unavailable"
fi
