#!/usr/bin/env bash
# Sets tswarm up on a fresh Debian 12 machine: the host tools the engine and the lab use (when
# run as root with apt), the npm dependencies (Node 24 among them, pinned as a package), a build.
set -euo pipefail
cd "$(dirname "$0")/.."

# iproute2/util-linux: namespaces, links, nsenter, mount (the lab). crun/conmon/catatonit, nftables,
# iptables: the engine's runtime, its monitor, an init for --init, and load balancing / NAT.
# docker-registry/skopeo/umoci/busybox-static: the real registry and test images the tests use.
# etcd-server: the baseline the Raft benchmark measures tswarm against.
APT_PACKAGES=(iproute2 util-linux procps crun conmon catatonit nftables iptables docker-registry skopeo umoci busybox-static attr etcd-server)
# --bench: also podman and runc, which the engine benchmark runs beside tswarm (it skips podman
# when absent; CI does not run benchmarks, so they are not installed by default).
if [ "${1:-}" = "--bench" ]; then APT_PACKAGES+=(podman runc); fi
# The Engine API's tests drive tswarmd with clients nobody here wrote: a docker CLI and the Python
# docker SDK. Where the machine has none, Debian's (docker.io: API 1.41; python3-docker) serve; the
# docker.io package's own daemon is not used.
command -v docker >/dev/null || APT_PACKAGES+=(docker.io)
python3 -c 'import docker' 2>/dev/null || APT_PACKAGES+=(python3-docker)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "Error: missing packages: ${missing[*]}. Install them (Debian: apt-get install ${missing[*]}) and run this again." >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v npm >/dev/null; then
  echo "Error: npm is not installed. Install Node.js and npm (Debian: apt-get install npm) and run this again." >&2
  exit 1
fi
npm ci --no-audit --no-fund
# From here on, npm scripts run on the Node 24 that `npm ci` just installed (node_modules/.bin).
npm run build
