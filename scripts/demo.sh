#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, as root: install what is
# needed, build berth, then
#   1. run a busybox OCI bundle directly with berth-runtime, and
#   2. start berthd on a private root and socket, make a busybox image on the
#      spot from Debian's busybox-static (no registry), and run a container
#      from it with the berth CLI, and
#   3. serve a file from a container on a user network: another container
#      finds it by name through the embedded DNS, the host through a port
#      published on 127.0.0.1.
# Everything it makes is removed at the end (berthd removes its bridge and
# firewall rules when it stops).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

scripts/deps.sh
make build

work=$(mktemp -d /tmp/berth-demo.XXXXXX)
berthd_pid=""
cleanup() {
	bin/berth-runtime --root "$work/state" delete --force demo >/dev/null 2>&1 || true
	if [ -n "$berthd_pid" ]; then
		kill "$berthd_pid" 2>/dev/null || true
		wait "$berthd_pid" 2>/dev/null || true
	fi
	rm -rf "$work" /run/berth-demo
}
trap cleanup EXIT

# A busybox root filesystem from Debian's busybox-static.
rootfs=$work/rootfs
mkdir -p "$rootfs/bin"
cp /bin/busybox "$rootfs/bin/busybox"
for d in proc sys dev tmp etc root; do mkdir -p "$rootfs/$d"; done
chroot "$rootfs" /bin/busybox --install -s /bin
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"

echo "== 1. berth-runtime runs an OCI bundle"
bundle=$work/bundle
mkdir -p "$bundle"
cp -a "$rootfs" "$bundle/rootfs"
bin/berth-runtime spec --bundle "$bundle"
# The default spec wants a terminal and runs sh: print something and exit.
sed -i 's/"terminal": true/"terminal": false/; s/^\(\s*\)"sh"$/\1"sh", "-c", "echo hello from a berth container; hostname; id; ls \/"/' "$bundle/config.json"
bin/berth-runtime --root "$work/state" run --bundle "$bundle" demo

echo "== 2. berthd + berth: an image made on the spot, a container from it"
sock=$work/berth.sock
bin/berthd --data-root "$work/data" --exec-root /run/berth-demo -H "unix://$sock" >"$work/berthd.log" 2>&1 &
berthd_pid=$!
export BERTH_HOST=unix://$sock
for _ in $(seq 100); do bin/berth version >/dev/null 2>&1 && break; sleep 0.1; done
tar -C "$rootfs" -c . | bin/berth image import -c 'CMD ["sh"]' - busybox:latest
bin/berth run --rm busybox sh -c 'echo hello from berthd; cat /proc/self/cgroup | head -2'
bin/berth images

echo "== 3. networking: a user network with its DNS, and a port published on 127.0.0.1"
bin/berth network create demo-net >/dev/null
bin/berth run -d --name demo-web --network demo-net -p 127.0.0.1::80 busybox \
	sh -c 'mkdir /www && echo hello from a published port > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
bin/berth run --rm --network demo-net busybox sh -c 'nslookup demo-web 127.0.0.11 | grep -A1 "^Name:"'
hostport=$(bin/berth port demo-web 80/tcp)
for _ in $(seq 50); do curl -fsS "http://$hostport/" && break; sleep 0.1; done
bin/berth rm -f demo-web >/dev/null
bin/berth network rm demo-net >/dev/null
