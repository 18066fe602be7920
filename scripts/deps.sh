#!/usr/bin/env bash
# Installs what building and testing berth needs on a fresh Debian 12
# machine (as root). Idempotent; `apt-get update` runs once per call.
set -euo pipefail

pkgs=(
	gcc libc6-dev make git pkg-config libseccomp-dev  # cgo, libseccomp; static libc for test probes
	musl-tools                               # berth-runtime is linked against musl (see the Makefile)
	busybox-static                           # fixture root filesystems
	runc crun                                # reference runtimes: comparison table and bench
	iproute2 procps util-linux kmod          # ip, ps, unshare/nsenter
	docker-registry apache2-utils            # local registry (distribution 2.8) and htpasswd for its auth
	iptables nftables curl                   # firewall backends (binaries for tests); curl for published-port tests
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	echo "note: Go is at /usr/local/go/bin; add it to PATH" >&2
fi
