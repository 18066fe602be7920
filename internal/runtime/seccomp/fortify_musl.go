//go:build linux && cgo && musl

package seccomp

// Debian's static libseccomp is built with _FORTIFY_SOURCE, so its objects
// call glibc's checked fprintf (only on its debugging export path). musl has
// no fortified functions; a berth-runtime linked statically against musl
// (make's default where musl-gcc exists, see the Makefile) gets this one
// here, with the unchecked behaviour.

/*
#include <stdarg.h>
#include <stdio.h>

int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	va_list ap;
	int n;
	(void)flag;
	va_start(ap, fmt);
	n = vfprintf(f, fmt, ap);
	va_end(ap);
	return n;
}
*/
import "C"
