#!/usr/bin/env bash
# Sets tswarm up on a fresh Debian 12 machine: the host tools the engine and the lab use (when
# run as root with apt), the npm dependencies (Node 24 among them, pinned as a package), a build.
set -euo pipefail
cd "$(dirname "$0")/.."

# iproute2/util-linux: namespaces, links, nsenter, mount (the lab). crun/conmon/catatonit, nftables,
# iptables: the engine's runtime, its monitor, an init for --init, and load balancing / NAT.
# docker-registry/skopeo/umoci/busybox-static: the real registry and test images the tests use.
# etcd-server: the baseline the Raft benchmark measures tswarm against.
# python3: tswarmd's command launcher (lib/process/launcher-child.py), standard library only.
APT_PACKAGES=(iproute2 util-linux procps crun conmon catatonit nftables iptables python3 docker-registry skopeo umoci busybox-static attr etcd-server)
# --bench: also podman and runc, which the engine benchmark runs beside tswarm, and docker.io
# (dockerd, containerd), whose Docker Swarm the services benchmark runs beside tswarm on lab hosts
# of its own. The benchmarks skip a baseline that is absent; CI does not run benchmarks, so none of
# these is installed by default.
if [ "${1:-}" = "--bench" ]; then APT_PACKAGES+=(podman runc docker.io); fi
# The Engine API's tests drive tswarmd with clients nobody here wrote: a docker CLI and the Python
# docker SDK. Where the machine has none, Debian's (docker.io: API 1.41; python3-docker) serve. A
# docker CLI already on PATH (e.g. /usr/local/bin/docker) stays first: docker.io's is /usr/bin/docker.
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
  # docker.io and containerd would start a system dockerd and containerd: tswarm never uses them,
  # and the benchmark starts its own per lab host. A system dockerd would hold /var/run/docker.sock,
  # add iptables rules and, once in a swarm, port 2377, which tswarm needs. Debian's packages ask
  # policy-rc.d before starting a service; where the machine has none, one refuses every start
  # (exit 101) for the length of the install.
  policy=/usr/sbin/policy-rc.d
  temporary_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && temporary_policy="$policy"
    trap 'if [ -n "$temporary_policy" ]; then rm -f "$temporary_policy"; fi' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$temporary_policy" ]; then rm -f "$temporary_policy" && temporary_policy=""; fi
  # And they stay off across reboots: disabled (not masked, so an operator can still start them
  # by hand). Only packages this run installed are touched, never a docker the machine already had.
  if [[ " ${missing[*]} " == *" docker.io "* ]]; then
    if [ -d /run/systemd/system ]; then
      systemctl disable --now docker.socket docker.service containerd.service >/dev/null 2>&1 || true
    elif command -v update-rc.d >/dev/null; then
      update-rc.d docker disable >/dev/null 2>&1 || true
    fi
  fi
fi

if ! command -v npm >/dev/null; then
  echo "Error: npm is not installed. Install Node.js and npm (Debian: apt-get install npm) and run this again." >&2
  exit 1
fi
npm ci --no-audit --no-fund
# From here on, npm scripts run on the Node 24 that `npm ci` just installed (node_modules/.bin).
npm run build
