#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, as root: install what is
# needed, build berth, make a busybox OCI bundle and run it with
# berth-runtime. Everything it makes is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

scripts/deps.sh
make build

work=$(mktemp -d /tmp/berth-demo.XXXXXX)
trap 'bin/berth-runtime --root "$work/state" delete --force demo >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for d in proc sys dev tmp etc; do mkdir -p "$bundle/rootfs/$d"; done
chroot "$bundle/rootfs" /bin/busybox --install -s /bin
echo 'root:x:0:0:root:/root:/bin/sh' > "$bundle/rootfs/etc/passwd"

bin/berth-runtime spec --bundle "$bundle"
# The default spec wants a terminal and runs sh: print something and exit.
sed -i 's/"terminal": true/"terminal": false/; s/^\(\s*\)"sh"$/\1"sh", "-c", "echo hello from a berth container; hostname; id; ls \/"/' "$bundle/config.json"
bin/berth-runtime --root "$work/state" run --bundle "$bundle" demo
