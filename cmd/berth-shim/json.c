/* Buffers, Go-compatible JSON string escaping and the strict request parser. */
#include "shim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void buf_grow(struct buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		/* Out of memory in a 1 MiB process: nothing sensible is left. */
		fputs("berth-shim: out of memory\n", stderr);
		abort();
	}
	b->p = p;
	b->cap = cap;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	buf_grow(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void buf_str(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

void buf_fmt(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if ((size_t)n < sizeof tmp) {
		buf_add(b, tmp, (size_t)n);
		return;
	}
	buf_grow(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		/* Idle buffers go back to malloc: idle memory is per container. */
		buf_free(b);
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* utf8_len returns the length of the valid UTF-8 sequence at s (at most n
 * bytes) and its code point, or 0 when invalid: the rules of Go's
 * utf8.DecodeRune (no overlong forms, no surrogates, at most U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

void json_escape(struct buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, start = 0;
	while (i < n) {
		unsigned c = s[i];
		const char *esc = NULL;
		char u[7];
		size_t adv = 1;
		if (c >= 0x80) {
			uint32_t cp;
			adv = utf8_len(s + i, n - i, &cp);
			if (adv == 0) {
				esc = "\\ufffd";
				adv = 1;
			} else if (cp == 0x2028) {
				esc = "\\u2028";
			} else if (cp == 0x2029) {
				esc = "\\u2029";
			}
		} else if (c == '"') {
			esc = "\\\"";
		} else if (c == '\\') {
			esc = "\\\\";
		} else if (c == '\n') {
			esc = "\\n";
		} else if (c == '\r') {
			esc = "\\r";
		} else if (c == '\t') {
			esc = "\\t";
		} else if (c == '\b') {
			esc = "\\b";
		} else if (c == '\f') {
			esc = "\\f";
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			/* Go's HTML-safe escaping, as docker's encoder does it. */
			u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0';
			u[4] = hex[c >> 4], u[5] = hex[c & 15], u[6] = 0;
			esc = u;
		}
		if (esc) {
			buf_add(b, s + start, i - start);
			buf_str(b, esc);
			start = i + adv;
		}
		i += adv;
	}
	buf_add(b, s + start, n - start);
}

void json_qstr(struct buf *b, const char *s)
{
	buf_add(b, "\"", 1);
	json_escape(b, s, strlen(s));
	buf_add(b, "\"", 1);
}

void rfc3339nano(const struct timespec *t, char *out)
{
	struct tm tm;
	time_t sec = t->tv_sec;
	gmtime_r(&sec, &tm);
	size_t n = strftime(out, 24, "%Y-%m-%dT%H:%M:%S", &tm);
	long ns = t->tv_nsec;
	if (ns > 0) {
		char frac[24];
		snprintf(frac, sizeof frac, ".%09ld", ns % 1000000000);
		size_t fl = 10;
		while (frac[fl - 1] == '0')
			fl--;
		memcpy(out + n, frac, fl);
		n += fl;
	}
	out[n++] = 'Z';
	out[n] = 0;
}

/* The parser: one JSON object whose values are strings, integers, booleans
 * (or null for keys this shim does not know). Nested values, fractions,
 * duplicate keys and trailing bytes are refused: a request is produced by
 * encoding/json, so anything else is a bug or an attack. */
struct parser {
	const char *s;
	size_t n, i;
	char *err;
	size_t errlen;
};

static int perr(struct parser *p, const char *msg)
{
	snprintf(p->err, p->errlen, "malformed request at byte %zu: %s", p->i, msg);
	return -1;
}

static void ws(struct parser *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static int hex4(struct parser *p, uint32_t *v)
{
	*v = 0;
	if (p->n - p->i < 4)
		return perr(p, "short \\u escape");
	for (int k = 0; k < 4; k++) {
		char c = p->s[p->i++];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t)(c - 'A' + 10);
		else
			return perr(p, "bad \\u escape");
	}
	return 0;
}

/* pstr reads a string into out (NUL-terminated, at most cap-1 bytes). */
static int pstr(struct parser *p, char *out, size_t cap)
{
	size_t o = 0;
	if (p->i >= p->n || p->s[p->i] != '"')
		return perr(p, "want a string");
	p->i++;
	for (;;) {
		if (p->i >= p->n)
			return perr(p, "unterminated string");
		unsigned char c = (unsigned char)p->s[p->i];
		char tmp[4];
		size_t tl = 0;
		if (c == '"') {
			p->i++;
			break;
		} else if (c < 0x20) {
			return perr(p, "control character in string");
		} else if (c == '\\') {
			if (++p->i >= p->n)
				return perr(p, "unterminated escape");
			char e = p->s[p->i++];
			uint32_t v;
			switch (e) {
			case '"': tmp[tl++] = '"'; break;
			case '\\': tmp[tl++] = '\\'; break;
			case '/': tmp[tl++] = '/'; break;
			case 'b': tmp[tl++] = '\b'; break;
			case 'f': tmp[tl++] = '\f'; break;
			case 'n': tmp[tl++] = '\n'; break;
			case 'r': tmp[tl++] = '\r'; break;
			case 't': tmp[tl++] = '\t'; break;
			case 'u':
				if (hex4(p, &v) < 0)
					return -1;
				if (v >= 0xd800 && v <= 0xdbff) {
					uint32_t lo;
					if (p->n - p->i < 6 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
						return perr(p, "lone surrogate");
					p->i += 2;
					if (hex4(p, &lo) < 0)
						return -1;
					if (lo < 0xdc00 || lo > 0xdfff)
						return perr(p, "bad surrogate pair");
					v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
				} else if (v >= 0xdc00 && v <= 0xdfff) {
					return perr(p, "lone surrogate");
				}
				if (v == 0)
					return perr(p, "NUL in string");
				if (v < 0x80) {
					tmp[tl++] = (char)v;
				} else if (v < 0x800) {
					tmp[tl++] = (char)(0xc0 | v >> 6);
					tmp[tl++] = (char)(0x80 | (v & 0x3f));
				} else if (v < 0x10000) {
					tmp[tl++] = (char)(0xe0 | v >> 12);
					tmp[tl++] = (char)(0x80 | ((v >> 6) & 0x3f));
					tmp[tl++] = (char)(0x80 | (v & 0x3f));
				} else {
					tmp[tl++] = (char)(0xf0 | v >> 18);
					tmp[tl++] = (char)(0x80 | ((v >> 12) & 0x3f));
					tmp[tl++] = (char)(0x80 | ((v >> 6) & 0x3f));
					tmp[tl++] = (char)(0x80 | (v & 0x3f));
				}
				break;
			default:
				return perr(p, "bad escape");
			}
		} else {
			tmp[tl++] = (char)c;
			p->i++;
		}
		if (o + tl >= cap)
			return perr(p, "string too long");
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	out[o] = 0;
	return 0;
}

static int pint(struct parser *p, long long *v, long long min, long long max)
{
	bool neg = false;
	long long x = 0;
	if (p->i < p->n && p->s[p->i] == '-')
		neg = true, p->i++;
	size_t start = p->i;
	while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
		if (x > 1000000000000LL)
			return perr(p, "number out of range");
		x = x * 10 + (p->s[p->i++] - '0');
	}
	if (p->i == start)
		return perr(p, "want a number");
	if (p->i - start > 1 && p->s[start] == '0')
		return perr(p, "leading zero");
	if (p->i < p->n && (p->s[p->i] == '.' || p->s[p->i] == 'e' || p->s[p->i] == 'E'))
		return perr(p, "want an integer");
	if (neg)
		x = -x;
	if (x < min || x > max)
		return perr(p, "number out of range");
	*v = x;
	return 0;
}

static int lit(struct parser *p, const char *w)
{
	size_t l = strlen(w);
	if (p->n - p->i < l || memcmp(p->s + p->i, w, l) != 0)
		return -1;
	p->i += l;
	return 0;
}

static int pbool(struct parser *p, bool *v)
{
	if (lit(p, "true") == 0)
		*v = true;
	else if (lit(p, "false") == 0)
		*v = false;
	else
		return perr(p, "want true or false");
	return 0;
}

/* skip reads a scalar value of a key this shim does not know: a newer
 * client may send optional fields (additions keep the protocol version). */
static int skip(struct parser *p)
{
	if (p->i >= p->n)
		return perr(p, "want a value");
	char c = p->s[p->i];
	if (c == '"') {
		char tmp[REQ_STR_MAX];
		return pstr(p, tmp, sizeof tmp);
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		long long v;
		return pint(p, &v, -(1LL << 53), 1LL << 53);
	}
	if (lit(p, "true") == 0 || lit(p, "false") == 0 || lit(p, "null") == 0)
		return 0;
	return perr(p, "only strings, integers and booleans are accepted");
}

enum { K_VERSION, K_OP, K_SIGNAL, K_ALL, K_FORCE, K_WIDTH, K_HEIGHT, K_EXEC_ID, K_PATH,
       K_STDIN, K_STDOUT, K_STDERR, K_CLOSE_STDIN, K_TERMINAL, K_COUNT };
static const char *const keys[K_COUNT] = {
	"version", "op", "signal", "all", "force", "width", "height", "exec_id", "path",
	"stdin", "stdout", "stderr", "close_stdin", "terminal",
};

int req_parse(const char *s, size_t n, struct req *r, char *errmsg, size_t errlen)
{
	struct parser p = {.s = s, .n = n, .err = errmsg, .errlen = errlen};
	bool seen[K_COUNT] = {0};
	memset(r, 0, sizeof *r);
	ws(&p);
	if (p.i >= p.n || s[p.i] != '{')
		return perr(&p, "want an object");
	p.i++;
	ws(&p);
	if (p.i < p.n && s[p.i] == '}') {
		p.i++;
		goto end;
	}
	for (;;) {
		char key[32];
		ws(&p);
		if (pstr(&p, key, sizeof key) < 0)
			return -1;
		ws(&p);
		if (p.i >= p.n || s[p.i] != ':')
			return perr(&p, "want ':'");
		p.i++;
		ws(&p);
		int k;
		for (k = 0; k < K_COUNT; k++)
			if (strcmp(key, keys[k]) == 0)
				break;
		if (k < K_COUNT) {
			if (seen[k])
				return perr(&p, "duplicate key");
			seen[k] = true;
		}
		int rc = 0;
		switch (k) {
		case K_VERSION: rc = pint(&p, &r->version, 0, 1000000); break;
		case K_OP: rc = pstr(&p, r->op, sizeof r->op); break;
		case K_SIGNAL: rc = pint(&p, &r->signal, -(1LL << 31), (1LL << 31) - 1); break;
		case K_ALL: rc = pbool(&p, &r->all); break;
		case K_FORCE: rc = pbool(&p, &r->force); break;
		case K_WIDTH: rc = pint(&p, &r->width, 0, 65535); break;
		case K_HEIGHT: rc = pint(&p, &r->height, 0, 65535); break;
		case K_EXEC_ID: rc = pstr(&p, r->exec_id, sizeof r->exec_id); break;
		case K_PATH: rc = pstr(&p, r->path, sizeof r->path); break;
		case K_STDIN: rc = pbool(&p, &r->in); break;
		case K_STDOUT: rc = pbool(&p, &r->out); break;
		case K_STDERR: rc = pbool(&p, &r->err); break;
		case K_CLOSE_STDIN: rc = pbool(&p, &r->close_stdin); break;
		case K_TERMINAL: rc = pbool(&p, &r->terminal); break;
		default: rc = skip(&p); break;
		}
		if (rc < 0)
			return -1;
		ws(&p);
		if (p.i < p.n && s[p.i] == ',') {
			p.i++;
			continue;
		}
		if (p.i < p.n && s[p.i] == '}') {
			p.i++;
			break;
		}
		return perr(&p, "want ',' or '}'");
	}
end:
	ws(&p);
	if (p.i != p.n)
		return perr(&p, "trailing data after the object");
	return 0;
}
