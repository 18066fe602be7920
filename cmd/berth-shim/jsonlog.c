/* The json-file log driver: docker's line format, max-size/max-file
 * rotation with docker's file names (path, path.1, ... path.N-1), exactly as
 * internal/logger/jsonfile writes it, so its reader (and docker's) reads the
 * files the shim writes. */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* parse_size reads a size as github.com/docker/go-units RAMInBytes does:
 * a decimal number, an optional space, an optional k/m/g/t/p unit (powers
 * of 1024), an optional "i" and an optional "b", case-insensitive. */
static int parse_size(const char *s, long long *out)
{
	const char *p = s;
	double v = 0;
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	if (*p == '.') {
		double f = 0.1;
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9') {
			v += (*p++ - '0') * f;
			f /= 10;
		}
	}
	if (*p == ' ')
		p++;
	double mult = 1;
	switch (*p | 0x20) {
	case 'k': mult = 1024.0; p++; break;
	case 'm': mult = 1024.0 * 1024; p++; break;
	case 'g': mult = 1024.0 * 1024 * 1024; p++; break;
	case 't': mult = 1024.0 * 1024 * 1024 * 1024; p++; break;
	case 'p': mult = 1024.0 * 1024 * 1024 * 1024 * 1024; p++; break;
	}
	if ((*p | 0x20) == 'i')
		p++;
	if ((*p | 0x20) == 'b')
		p++;
	if (*p)
		return -1;
	*out = (long long)(v * mult);
	return 0;
}

int jlog_parse_opt(struct jlog *l, const char *kv, char *errmsg, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	if (!eq) {
		snprintf(errmsg, errlen, "log-opt %s: want key=value", kv);
		return -1;
	}
	const char *v = eq + 1;
	size_t kl = (size_t)(eq - kv);
	if (kl == 8 && memcmp(kv, "max-size", 8) == 0) {
		if (strcmp(v, "-1") == 0) {
			l->max_size = -1;
			return 0;
		}
		long long n;
		if (parse_size(v, &n) < 0) {
			snprintf(errmsg, errlen, "json-file: max-size \"%s\": invalid size", v);
			return -1;
		}
		if (n <= 0) {
			snprintf(errmsg, errlen, "json-file: max-size \"%s\" must be positive", v);
			return -1;
		}
		l->max_size = n;
	} else if (kl == 8 && memcmp(kv, "max-file", 8) == 0) {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (errno || *end || end == v || n < 1 || n > 100000) {
			snprintf(errmsg, errlen, "json-file: max-file \"%s\" must be a positive integer", v);
			return -1;
		}
		l->max_file = (int)n;
	} else {
		snprintf(errmsg, errlen, "json-file: unknown log opt \"%.*s\"", (int)kl, kv);
		return -1;
	}
	return 0;
}

int jlog_check_opts(struct jlog *l, char *errmsg, size_t errlen)
{
	if (l->max_file > 1 && l->max_size <= 0) {
		snprintf(errmsg, errlen, "json-file: max-file needs max-size");
		return -1;
	}
	if (l->max_file < 1)
		l->max_file = 1;
	return 0;
}

int jlog_open(struct jlog *l)
{
	l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (l->fd < 0)
		return -1;
	struct stat st;
	if (fstat(l->fd, &st) < 0)
		return -1;
	l->size = st.st_size;
	return 0;
}

static void rotated(char *out, size_t cap, const char *path, int i)
{
	snprintf(out, cap, "%s.%d", path, i);
}

/* rotate shifts path.(i) to path.(i+1), dropping the oldest, and starts an
 * empty live file; with max-file 1 the live file is truncated. */
static int rotate(struct jlog *l)
{
	if (l->max_file < 2) {
		if (ftruncate(l->fd, 0) < 0)
			return -1;
		l->size = 0;
		return 0;
	}
	size_t cap = strlen(l->path) + 16;
	char *a = malloc(cap), *b = malloc(cap);
	int rc = -1;
	if (!a || !b)
		goto out;
	for (int i = l->max_file - 1; i > 1; i--) {
		rotated(a, cap, l->path, i - 1);
		rotated(b, cap, l->path, i);
		if (rename(a, b) < 0 && errno != ENOENT)
			goto out;
	}
	rotated(b, cap, l->path, 1);
	if (rename(l->path, b) < 0)
		goto out;
	int fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		goto out;
	close(l->fd);
	l->fd = fd;
	l->size = 0;
	rc = 0;
out:
	free(a);
	free(b);
	return rc;
}

void jlog_write(struct jlog *l, const char *stream, const char *data, size_t n, bool partial,
		const struct timespec *at)
{
	if (l->fd < 0)
		return;
	struct buf b = {0};
	char ts[40];
	rfc3339nano(at, ts);
	buf_str(&b, "{\"log\":\"");
	json_escape(&b, data, n);
	if (!partial)
		buf_str(&b, "\\n");
	buf_fmt(&b, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", stream, ts);
	/* Docker checks the size before each write, so a file may exceed
	 * max-size by one entry. */
	if (l->max_size > 0 && l->size >= l->max_size && rotate(l) < 0)
		fprintf(stderr, "berth-shim: json-file: rotate: %s\n", strerror(errno));
	size_t off = 0;
	while (off < b.len) {
		ssize_t w = write(l->fd, b.p + off, b.len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (!l->failing)
				fprintf(stderr, "berth-shim: json-file: %s (further errors not reported until a write succeeds)\n",
					strerror(errno));
			l->failing = true;
			break;
		}
		off += (size_t)w;
	}
	if (off == b.len)
		l->failing = false;
	l->size += (long long)off;
	buf_free(&b);
}

void jlog_close(struct jlog *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}
