/*
 * berth-shim: the per-container monitor, a small single-threaded C program.
 * Its memory is multiplied by the number of running containers, so it uses
 * plain libc, no threads and allocates buffers only while they hold data.
 * The protocol it serves is documented in internal/shim/shimapi/shimapi.go.
 */
#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A growable byte buffer; p is NULL until something is added. */
struct buf {
	char *p;
	size_t len, cap;
};

void buf_add(struct buf *b, const void *p, size_t n);
void buf_str(struct buf *b, const char *s);
void buf_fmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);

/* json_escape appends s[0..n) as the inside of a JSON string, escaped the
 * way Go's encoding/json does (docker's json-file lines must be identical
 * to what internal/logger/jsonfile writes): HTML characters, U+2028/9 and
 * control characters escaped, invalid UTF-8 replaced by U+FFFD. */
void json_escape(struct buf *b, const char *s, size_t n);
void json_qstr(struct buf *b, const char *s); /* "escaped" with quotes */

/* rfc3339nano formats t (UTC) as Go's time.RFC3339Nano does: fraction
 * without trailing zeros, none when zero. out has room for 40 bytes. */
void rfc3339nano(const struct timespec *t, char *out);

#define REQ_STR_MAX 4096
#define REQ_ID_MAX 128

/* One request line: shimapi.Request. */
struct req {
	long long version;
	char op[32];
	long long signal;
	bool all, force;
	long long width, height;
	char exec_id[REQ_ID_MAX];
	char path[REQ_STR_MAX];
	bool in, out, err, close_stdin, terminal;
};

/* req_parse parses one flat JSON object into r. It returns 0, or -1 with a
 * message in errmsg (the request is then answered with kind "invalid"). */
int req_parse(const char *s, size_t n, struct req *r, char *errmsg, size_t errlen);

/* The json-file log driver (docker's format and rotation). */
struct jlog {
	int fd;
	const char *path;
	long long max_size; /* <= 0: never rotate */
	int max_file;
	long long size;
	bool failing; /* a write failed: say so once, not for every line */
};

int jlog_parse_opt(struct jlog *l, const char *kv, char *errmsg, size_t errlen);
int jlog_check_opts(struct jlog *l, char *errmsg, size_t errlen);
int jlog_open(struct jlog *l);
/* jlog_write appends one message; partial is docker's "no newline". */
void jlog_write(struct jlog *l, const char *stream, const char *data, size_t n, bool partial,
		const struct timespec *at);
void jlog_close(struct jlog *l);

#endif
