#!/usr/bin/env bash
# runtime-validation.sh runs the OCI runtime validation suite (runtime-tools'
# validation/*.t programs) against one runtime binary and judges the result.
#
#   scripts/runtime-validation.sh [flags] [RUNTIME]
#
# RUNTIME is a path or a command name (default: runc). Flags:
#   --baseline FILE        fail if any test listed in FILE (lines "file<TAB>number<TAB>description",
#                          '#' comments allowed) is not a plain "ok" now
#   --write-baseline FILE  write this run's plain "ok" tests in that format
#   --min-ok N             fail if fewer than N tests are ok
#   --max-not-ok N         fail if more than N tests are not ok
#   --timeout SECONDS      per test file (default 180)
#   --only REGEX           run only test files whose name (e.g. "linux_sysctl") matches
#   --out DIR              where TAP output goes (default: a new /tmp/berth-validation-<runtime>.XXXXXX)
#   --build-only           install/build the suite and exit
#
# Environment: BERTH_TOOLS_DIR overrides the cached suite build
# (default /var/cache/berth-tools/runtime-tools-<version>).
#
# Isolation and cleanup. The suite calls the runtime without --root, so the
# runtime is given to it through a one-line wrapper that adds a private --root:
# every container in that root is the suite's. Bundles land in a private
# TMPDIR. Each test file runs in its own process group (coreutils timeout makes
# one) so that the "unshare ... sleep 10000" helpers some tests spawn cannot
# outlive it. After each file the script force-deletes the containers left in
# the private root, kills what is left of the process group, removes the
# suite's fixed cgroup directories (cgroupsPath "/cgrouptest" and the relative
# "testdir/cgrouptest/container") if it left them empty, and unmounts
# anything still mounted under the private TMPDIR.
set -euo pipefail

readonly RT_MODULE=github.com/opencontainers/runtime-tools
readonly RT_VERSION=v0.9.1-0.20260316125833-8a4db579f5c8
# Test files whose outcome depends on timing or address-space layout, for
# any runtime; they get up to 3 attempts (the one with the most oks counts).
#  - killsig sends its signal as soon as `state` says running, which can be
#    before the container's shell has installed its trap: pid 1 then ignores
#    the signal and the test times out.
#  - process_rlimits sets a 1 GiB soft RLIMIT_AS; a runtime that applies it
#    before its own (Go) init is done can fail with ENOMEM ("error adding
#    seccomp filter rule ...: cannot allocate memory" from runc, 2 runs in 7).
readonly FLAKY_FILES="killsig process_rlimits"

die() { echo "runtime-validation: $*" >&2; exit 2; }
log() { echo "runtime-validation: $*" >&2; }

baseline="" write_baseline="" min_ok="" max_not_ok="" per_test_timeout=180 only="" out="" build_only=0
runtime_arg=runc
while [ $# -gt 0 ]; do
	case "$1" in
	--baseline) baseline=${2:?}; shift 2 ;;
	--write-baseline) write_baseline=${2:?}; shift 2 ;;
	--min-ok) min_ok=${2:?}; shift 2 ;;
	--max-not-ok) max_not_ok=${2:?}; shift 2 ;;
	--timeout) per_test_timeout=${2:?}; shift 2 ;;
	--only) only=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--build-only) build_only=1; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown flag $1" ;;
	*) runtime_arg=$1; shift ;;
	esac
done
[ -z "$baseline" ] || [ -r "$baseline" ] || die "baseline $baseline not readable"
[ -z "$baseline" ] || baseline=$(realpath "$baseline")
[ -z "$write_baseline" ] || write_baseline=$(realpath -m "$write_baseline")

tools_dir=${BERTH_TOOLS_DIR:-/var/cache/berth-tools/runtime-tools-$RT_VERSION}

# make_rootfs_tarball writes an equivalent of the suite's rootfs-<arch>.tar.gz
# (a static busybox, one symlink per applet in /bin, /etc/passwd and
# /etc/group, empty /dev /proc /sys) from Debian's busybox-static. Used only
# when the module source lacks the tarball.
make_rootfs_tarball() {
	local dest=$1 bb=/bin/busybox dir applet
	[ -x "$bb" ] || die "rootfs tarball missing and $bb not found (apt-get install busybox-static)"
	dir=$(mktemp -d)
	mkdir -p "$dir/bin" "$dir/etc" "$dir/dev" "$dir/proc" "$dir/sys"
	cp "$bb" "$dir/bin/busybox"
	for applet in $("$bb" --list); do
		[ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/sbin:/bin/false\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$dir/etc/passwd"
	printf 'root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n' >"$dir/etc/group"
	tar -C "$dir" --numeric-owner --owner=0 --group=0 -czf "$dest" .
	rm -rf "$dir"
}

# install_suite copies the module source into $tools_dir and builds the
# runtimetest helper and every validation/*.t program. A stamp file marks a
# finished build, so an interrupted one is redone.
install_suite() {
	if [ -f "$tools_dir/.berth-built" ] && [ -x "$tools_dir/runtimetest" ]; then
		return
	fi
	command -v go >/dev/null || die "go not found"
	command -v make >/dev/null || die "make not found"
	log "building $RT_MODULE@$RT_VERSION into $tools_dir"
	local src tmpgo
	tmpgo=$(mktemp -d)
	# Outside any module so that our go.mod is neither read nor changed.
	src=$(cd "$tmpgo" && GOFLAGS=-mod=mod go mod download -json "$RT_MODULE@$RT_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	rmdir "$tmpgo"
	[ -n "$src" ] && [ -d "$src" ] || die "go mod download $RT_MODULE@$RT_VERSION gave no source dir"
	mkdir -p "$(dirname "$tools_dir")"
	local stage="$tools_dir.tmp.$$"
	rm -rf "$stage"
	cp -r "$src" "$stage"
	chmod -R u+w "$stage"
	# Module zips may carry a vendor/ tree that does not match go.mod; build with -mod=mod.
	rm -rf "$stage/vendor"
	if [ ! -f "$stage/rootfs-$(go env GOARCH).tar.gz" ]; then
		log "module has no rootfs-$(go env GOARCH).tar.gz; making one from busybox-static"
		make_rootfs_tarball "$stage/rootfs-$(go env GOARCH).tar.gz"
	fi
	(cd "$stage" && make EXTRA_FLAGS=-mod=mod runtimetest validation-executables >build.log 2>&1) ||
		{ tail -30 "$stage/build.log" >&2; die "suite build failed (log: $stage/build.log)"; }
	touch "$stage/.berth-built"
	rm -rf "$tools_dir"
	mv "$stage" "$tools_dir"
}

install_suite
[ "$build_only" = 1 ] && { echo "$tools_dir"; exit 0; }

[ "$(id -u)" = 0 ] || die "must run as root"
case "$runtime_arg" in
*/*) runtime=$(realpath "$runtime_arg") ;;
*) runtime=$(command -v "$runtime_arg") || die "runtime $runtime_arg not found" ;;
esac
[ -x "$runtime" ] || die "runtime $runtime is not executable"
rt_name=$(basename "$runtime")

# Two runs at once would fight over the suite's fixed cgroup paths.
exec 9>"$tools_dir/.run.lock"
flock -n 9 || { log "another validation run holds $tools_dir/.run.lock; waiting"; flock 9; }

[ -n "$out" ] || out=$(mktemp -d "/tmp/berth-validation-$rt_name.XXXXXX")
mkdir -p "$out"
out=$(realpath "$out")
work=$(mktemp -d /tmp/berth-validation-work.XXXXXX)
state="$work/state"     # the runtime's private --root
scratch="$work/tmp"     # TMPDIR for the suite's bundles
mkdir -p "$state" "$scratch" "$work/bin"
# Bundles must be reachable by a container's (user-namespace-mapped) root, as
# they would be under the default TMPDIR=/tmp.
chmod 755 "$work" "$scratch"
# The wrapper keeps the runtime's base name: some runtimes look at argv[0].
wrapper="$work/bin/$rt_name"
printf '#!/bin/sh\nexec %q --root %q "$@"\n' "$runtime" "$state" >"$wrapper"
chmod 755 "$wrapper"

# Cgroup directories the suite names itself (validation/*cgroups*: AbsCgroupPath, RelCgroupPath).
suite_cgroup_dirs() {
	local base
	for base in /sys/fs/cgroup/*/ /sys/fs/cgroup/unified/; do
		[ -d "$base" ] || continue
		[ -d "$base/cgrouptest" ] && echo "$base/cgrouptest"
		# A relative cgroupsPath lands below the runtime's own cgroup, wherever that is.
		find "$base" -mindepth 1 -maxdepth 6 -type d -name testdir -path '*/testdir' 2>/dev/null |
			while read -r d; do [ -d "$d/cgrouptest" ] && echo "$d"; done
	done | sort -u
}

cleanup_after_test() {
	local pgid=$1 id pids d m
	# Containers: everything in the private root is the suite's.
	for id in $( ("$runtime" --root "$state" list -q 2>/dev/null || true; ls -1 "$state" 2>/dev/null) | sort -u); do
		"$runtime" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
	done
	# Leftover processes of this test's process group (unshare/sleep helpers).
	pids=""
	[ "$pgid" -gt 1 ] && pids=$(pgrep -g "$pgid" 2>/dev/null || true)
	if [ -n "$pids" ]; then
		log "killing leftover processes of group $pgid: $(echo $pids)"
		kill -KILL $pids 2>/dev/null || true
	fi
	# Cgroups: remove the suite's directories bottom-up; rmdir fails on a busy one, which is reported.
	# (runc removes only the leaf of a relative cgroupsPath, so testdir/cgrouptest stays behind.)
	local removed=0
	for d in $(suite_cgroup_dirs); do
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
		if [ -d "$d" ]; then log "cgroup $d left by the suite is busy"; else removed=$((removed + 1)); fi
	done
	[ "$removed" = 0 ] || log "removed $removed cgroup directories the suite left (cgrouptest, testdir)"
	# Mounts under our scratch dir (a container that was not deleted).
	while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done < <(awk -v p="$work/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r)
	# ocitest bundles the suite failed to remove.
	if ! awk -v p="$work/" 'index($5, p) == 1 {f=1} END {exit !f}' /proc/self/mountinfo; then
		find "$scratch" -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null || true
	fi
}

finish() {
	cleanup_after_test 0 2>/dev/null || true
	if awk -v p="$work/" 'index($5, p) == 1 {f=1} END {exit !f}' /proc/self/mountinfo; then
		log "mounts remain under $work; leaving it"
	else
		rm -rf "$work"
	fi
}
trap finish EXIT
trap 'exit 130' INT TERM

mapfile -t tests < <(cd "$tools_dir" && find validation -name '*.t' -type f | sort)
[ -n "$only" ] && mapfile -t tests < <(printf '%s\n' "${tests[@]}" | grep -E "$only" || true)
[ ${#tests[@]} -gt 0 ] || die "no test files selected"

# test_name turns validation/kill/kill.t into "kill" and
# validation/a/b/c.t into "a/b/c" (subdirectory variants keep their path).
test_name() {
	local n=${1#validation/}
	n=${n%.t}
	if [ "$(dirname "$n")" = "$(basename "$n")" ]; then n=$(basename "$n"); fi
	echo "$n"
}

log "runtime $runtime, suite $tools_dir, output $out"
total_ok=0 total_not_ok=0 total_skip=0 bad_files=0
refused_ok=()
start_all=$(date +%s.%N)
# run_once runs test file $1 once, writing $2.tap and $2.stderr, and sets rc,
# dt and the counts n_ok n_not_ok n_skip plan nplans diag_error.
run_once() {
	local t=$1 base=$2 t0 pgid
	t0=$(date +%s.%N)
	# The programs read rootfs-<arch>.tar.gz and runtimetest from the working directory.
	(cd "$tools_dir" && exec env RUNTIME="$wrapper" TMPDIR="$scratch" \
		timeout -k 10 "$per_test_timeout" "./$t" >"$base.tap" 2>"$base.stderr") &
	pgid=$!
	rc=0
	wait "$pgid" || rc=$?
	dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	cleanup_after_test "$pgid"
	# Count top-level "ok"/"not ok" lines only: indented lines are YAML
	# diagnostics, which may quote an inner container's TAP. Some programs
	# print two TAP streams (two plans): plans are added up.
	read -r n_ok n_not_ok n_skip plan nplans diag_error < <(awk '
		/^(not )?ok( |$)/ {
			skip = ($0 ~ /^(not )?ok[^#]*#[ \t]*[Ss][Kk][Ii][Pp]/)
			if (skip) s++; else if ($1 == "not") f++; else o++
		}
		/^1\.\.[0-9]+/ { sub(/^1\.\./, ""); p += $1; np++ }
		/^    "error": / { e = 1 }
		END { printf "%d %d %d %d %d %d\n", o, f, s, p, np, e }' "$base.tap")
}

for t in "${tests[@]}"; do
	name=$(test_name "$t")
	mkdir -p "$(dirname "$out/$name")"
	attempts=1
	case " $FLAKY_FILES " in *" $name "*) attempts=3 ;; esac
	best=-1 tried=0
	for ((a = 1; a <= attempts; a++)); do
		tried=$a
		run_once "$t" "$out/$name.attempt"
		if [ "$n_ok" -gt "$best" ]; then
			best=$n_ok
			mv "$out/$name.attempt.tap" "$out/$name.tap"
			mv "$out/$name.attempt.stderr" "$out/$name.stderr"
			kept=("$rc" "$dt" "$n_ok" "$n_not_ok" "$n_skip" "$plan" "$nplans" "$diag_error")
		fi
		rm -f "$out/$name.attempt.tap" "$out/$name.attempt.stderr"
		if [ "$rc" = 0 ] && [ "$n_not_ok" = 0 ]; then break; fi
	done
	read -r rc dt n_ok n_not_ok n_skip plan nplans diag_error <<<"${kept[*]}"
	note=""
	case "$rc" in
	0) ;;
	124 | 137) note=" TIMEOUT" ;;
	*) note=" exit=$rc" ;;
	esac
	# A *_fail program that sees the expected error prints nothing at all.
	if [ "$nplans" = 0 ]; then
		if [ $((n_ok + n_not_ok + n_skip)) != 0 ]; then note="$note no-plan"; fi
	elif [ "$plan" != $((n_ok + n_not_ok + n_skip)) ]; then
		note="$note plan=$plan"
	fi
	# The lifecycle/hook programs report a failure only as an "error" diagnostic with no test line.
	if [ $((n_ok + n_not_ok + n_skip)) = 0 ] && [ "$diag_error" = 1 ]; then
		note="$note error-diagnostic"
	fi
	status=PASS
	if [ -n "$note" ]; then
		status=FAIL
		bad_files=$((bad_files + 1))
	elif [ "$n_not_ok" -gt 0 ]; then
		status=FAIL
	fi
	# A *_fail program checks that the runtime refuses a bad config. When it
	# passes, any TAP lines a baseline has for it came from runtimetest
	# running inside a container that the baseline runtime should not have
	# created (runc 1.1.5 ignores an unknown capability): they are moot.
	case "$name" in *_fail) [ "$status" = PASS ] && refused_ok+=("$name") ;; esac
	if [ "$tried" -gt 1 ]; then note="$note (best of $tried attempts)"; fi
	printf '%-4s %-32s %4d ok %3d not ok %4d skipped %6ss%s\n' "$status" "$name" "$n_ok" "$n_not_ok" "$n_skip" "$dt" "$note"
	total_ok=$((total_ok + n_ok)) total_not_ok=$((total_not_ok + n_not_ok)) total_skip=$((total_skip + n_skip))
done
elapsed=$(awk -v a="$start_all" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')

# passes lists "file<TAB>number<TAB>description" for every plain ok line.
passes() {
	local t name
	for t in "${tests[@]}"; do
		name=$(test_name "$t")
		awk -v f="$name" '
			/^ok / && $0 !~ /^ok[^#]*#[ \t]*[Ss][Kk][Ii][Pp]/ {
				n = $2; d = $0
				sub(/^ok [0-9]+ ?(- )?/, "", d)
				printf "%s\t%s\t%s\n", f, n, d
			}' "$out/$name.tap"
	done
}
passes >"$out/passes.tsv"
if [ -n "$write_baseline" ]; then
	{
		echo "# OCI runtime validation tests ($RT_MODULE@$RT_VERSION) that"
		echo "# $("$runtime" --version 2>/dev/null | head -1) passes on this host; written by"
		echo "# scripts/runtime-validation.sh --write-baseline. Format: file<TAB>test number<TAB>description."
		echo "# Tests are matched by file and description (counting repeats): runtimetest walks Go maps,"
		echo "# so the numbers of its symlink and mount checks change from run to run."
		cat "$out/passes.tsv"
	} >"$write_baseline"
	log "wrote $(wc -l <"$out/passes.tsv") passes to $write_baseline"
fi

echo "validation: $total_ok ok, $total_not_ok not ok, $total_skip skipped"
echo "($elapsed s; $bad_files test files exited non-zero, timed out or reported a failure outside TAP test lines; TAP in $out)"

fail=0
if [ -n "$baseline" ]; then
	# Only files that were run count: --only narrows the baseline too. A
	# baseline line is a regression when fewer ok lines with its file and
	# description exist now than in the baseline.
	for f in "${refused_ok[@]}"; do
		n=$(awk -F'\t' -v f="$f" '$1 == f' "$baseline" | wc -l)
		[ "$n" -gt 0 ] && echo "baseline: $f passes (the runtime refused the config, as the test requires); its $n baseline lines came from a container the baseline runtime should have refused, and are not counted"
	done
	regressions=$(awk -F'\t' -v sel="$(for t in "${tests[@]}"; do test_name "$t"; done | paste -sd' ')" -v moot="${refused_ok[*]}" '
		BEGIN { n = split(sel, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1
			m = split(moot, b, " "); for (i = 1; i <= m; i++) { delete want[b[i]] } }
		FILENAME == ARGV[1] { now[$1 FS $3]++; next }
		/^#/ || NF < 3 || !($1 in want) { next }
		{ k = $1 FS $3; if (++seen[k] > now[k]) print }' "$out/passes.tsv" "$baseline")
	if [ -n "$regressions" ]; then
		echo "regressions against $baseline ($(echo "$regressions" | wc -l) tests):"
		echo "$regressions" | sed 's/^/  /'
		fail=1
	else
		echo "baseline: every test in $(basename "$baseline") still passes"
	fi
fi
if [ -n "$min_ok" ] && [ "$total_ok" -lt "$min_ok" ]; then
	echo "FAIL: $total_ok ok < --min-ok $min_ok"
	fail=1
fi
if [ -n "$max_not_ok" ] && [ "$total_not_ok" -gt "$max_not_ok" ]; then
	echo "FAIL: $total_not_ok not ok > --max-not-ok $max_not_ok"
	fail=1
fi
exit $fail
