#!/bin/sh
# Makes DIR/include and DIR/lib: what a musl-linked berth-runtime needs
# beyond musl's own headers and libc, and nothing else from the glibc side
# (musl-gcc searches only these, so glibc's libc.a can never slip into the
# link): the kernel's uapi headers, libseccomp's headers and its static
# library. Used by the Makefile; links only, so it is cheap to re-run.
set -eu
dir=${1:?usage: musl-sysroot.sh DIR}
multiarch=$(gcc -print-multiarch)
libdir=$(pkg-config --variable=libdir libseccomp)
mkdir -p "$dir/include" "$dir/lib"
ln -sfn /usr/include/linux "$dir/include/linux"
ln -sfn /usr/include/asm-generic "$dir/include/asm-generic"
ln -sfn "/usr/include/$multiarch/asm" "$dir/include/asm"
for h in seccomp.h seccomp-syscalls.h; do
	ln -sfn "/usr/include/$h" "$dir/include/$h"
done
[ -f "$libdir/libseccomp.a" ] || { echo "musl-sysroot.sh: $libdir/libseccomp.a missing (apt-get install libseccomp-dev)" >&2; exit 1; }
ln -sfn "$libdir/libseccomp.a" "$dir/lib/libseccomp.a"
