/*
 * berth-shim: the monitor of one container.
 *
 * It is the container init's reaper (PR_SET_CHILD_SUBREAPER: the OCI
 * runtime's `create` forks the init and exits, so the kernel reparents the
 * init to us), owns its stdio pipes or pty master, copies the output to the
 * json-file log and to attached clients, records the exit status, and
 * serves berthd over a unix socket (one JSON request line, one JSON
 * response line per connection; attach and exec connections then become a
 * stream). The protocol is documented in internal/shim/shimapi/shimapi.go.
 *
 * One thread and one epoll loop. Runtime commands run synchronously (the
 * loop waits for that one child); everything else is non-blocking, so a
 * slow client can never stall the log or another client.
 */
#define _GNU_SOURCE
#include "shim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef BERTH_VERSION
#define BERTH_VERSION "dev"
#endif

#define PROTO_VERSION 1
#define MAX_LINE (16 * 1024)      /* docker's (and logger.MaxLineSize) partial-line limit */
#define MAX_REQ (64 * 1024)       /* a request line longer than this is refused */
#define MAX_CLIENT_QUEUE (1 << 20) /* a client this far behind is disconnected */
#define DRAIN_MS 2000             /* output drained at most this long after an exit */
#define MAX_EXECS 1024
#define DELETE_KILL_MS 10000
#define RUNTIME_TIMEOUT_MS 60000 /* one runtime command */

enum kind { H_LISTEN, H_SIGNAL, H_STREAM, H_CONN, H_STDIN };

struct proc;

/* A stream is one output fd of a process: a pipe, or the pty master. */
struct stream {
	enum kind kind;
	int fd;
	int which; /* 1 stdout, 2 stderr (docker's mux stream numbers) */
	struct proc *p;
	struct buf pend; /* an incomplete line, for the log */
};

/* A process's stdin in epoll: registered (EPOLLOUT) only while a client's
 * bytes wait for room in the pipe. */
struct stdin_h {
	enum kind kind;
	struct proc *p;
	bool watched;
};

struct proc {
	char id[REQ_ID_MAX]; /* exec id; "" for the init */
	bool is_init;
	int pid;
	struct stream out, err;
	int in_fd;   /* the process's stdin (pipe write end or pty master dup), -1 */
	struct stdin_h inh;
	bool terminal;
	bool exited; /* reaped */
	bool done;   /* reaped and output drained: exit is final */
	int code;
	char at[40];
	long long deadline; /* monotonic ms: end of the drain */
	struct proc *next;
};

enum conn_mode { C_REQ, C_WAIT, C_ATTACH, C_DELETE, C_CLOSING };

struct conn {
	enum kind kind;
	int fd;
	enum conn_mode mode;
	struct buf in, out;
	struct proc *p;
	bool a_in, a_out, a_err, close_stdin, in_eof;
	bool close_after_flush;
	bool unwatched; /* removed from epoll: a delete whose client hung up */
	unsigned events;
	struct buf stdin_pend; /* client bytes the process's stdin did not take yet */
	long long deadline;    /* C_DELETE: when to give up */
	struct conn *next;
};

/* The shim's state; one instance, passed around explicitly. */
struct shim {
	const char *id, *bundle, *exec_root, *rt_root, *log_path, *runtime, *log_driver;
	bool terminal, stdin_open;
	char *dir, *sock_path;
	int ep, lfd, sfd;
	struct jlog log;
	struct proc init;
	struct proc *execs;
	int nexecs;
	struct conn *conns;
	bool started, paused, ending;
	long long relisten; /* out of fds: the listener rests until then */
	bool exiting;       /* deleted or shut down: answering the last requests */
	long long exit_deadline;
};

static char readbuf[MAX_LINE];

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (!p)
		abort();
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void ep_add(struct shim *s, int fd, unsigned ev, void *ptr)
{
	struct epoll_event e = {.events = ev, .data.ptr = ptr};
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) < 0)
		fprintf(stderr, "berth-shim: epoll add %d: %s\n", fd, strerror(errno));
}

static void ep_mod(struct shim *s, int fd, unsigned ev, void *ptr)
{
	struct epoll_event e = {.events = ev, .data.ptr = ptr};
	epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &e);
}

/* valid_id accepts the runtime's container id characters; exec ids become
 * file names in the shim's directory, so they obey the same rule. */
static bool valid_id(const char *id, size_t max)
{
	size_t n = strlen(id);
	if (n == 0 || n > max || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || c == '+'))
			return false;
	}
	return true;
}

/* ---- running the OCI runtime ---------------------------------------- */

/* run_rt runs RUNTIME --root RTROOT argv... with the given stdio (-1:
 * /dev/null) and waits for it. Its stderr goes to errtext: to a memfd when
 * err is -1 (a file, not a pipe: the runtime's children may inherit it and
 * keep it open, and a full pipe would block the runtime while we wait), so
 * the error message the runtime prints can be passed on. Returns the wait
 * status, or -1. */
static int run_rt(struct shim *s, const char *const *argv, int in, int out, int err, struct buf *errtext)
{
	const char *av[24];
	int ac = 0;
	av[ac++] = s->runtime;
	av[ac++] = "--root";
	av[ac++] = s->rt_root;
	for (int i = 0; argv[i] && ac < 23; i++)
		av[ac++] = argv[i];
	av[ac] = NULL;
	int memfd = -1;
	if (err < 0) {
		memfd = memfd_create("runtime-stderr", MFD_CLOEXEC);
		err = memfd;
	}
	pid_t pid = fork();
	if (pid < 0) {
		if (memfd >= 0)
			close(memfd);
		buf_fmt(errtext, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* The shim blocks SIGCHLD (signalfd) and ignores SIGPIPE; the
		 * runtime and the container must start with the defaults. */
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		int null = open("/dev/null", O_RDWR);
		/* dup2 clears close-on-exec on the target: exactly these
		 * three fds cross the exec, every other fd is O_CLOEXEC. */
		dup2(in >= 0 ? in : null, 0);
		dup2(out >= 0 ? out : null, 1);
		dup2(err >= 0 ? err : null, 2);
		/* execvp: a bare name (--add-runtime crun=crun) is looked up in PATH. */
		execvp(s->runtime, (char *const *)av);
		dprintf(2, "exec %s: %s\n", s->runtime, strerror(errno));
		_exit(127);
	}
	/* A runtime that hangs (say, one stuck on a frozen cgroup) must not
	 * hold the loop forever: wait on a pidfd with a deadline, then kill
	 * it. The pidfd cannot be confused by pid reuse. */
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		struct pollfd pf = {.fd = pfd, .events = POLLIN};
		int r;
		while ((r = poll(&pf, 1, RUNTIME_TIMEOUT_MS)) < 0 && errno == EINTR)
			;
		if (r == 0) {
			kill(pid, SIGKILL);
			buf_fmt(errtext, "timed out after %d s; killed. ", RUNTIME_TIMEOUT_MS / 1000);
		}
		close(pfd);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			st = -1;
			break;
		}
	}
	if (memfd >= 0) {
		ssize_t n;
		lseek(memfd, 0, SEEK_SET);
		while ((n = read(memfd, readbuf, sizeof readbuf)) > 0 && errtext->len < 4096)
			buf_add(errtext, readbuf, (size_t)n);
		close(memfd);
	}
	return st;
}

/* rt_error formats a failed runtime command's message, trimmed. */
static void rt_error(struct buf *msg, const char *what, int st, struct buf *errtext)
{
	while (errtext->len && (errtext->p[errtext->len - 1] == '\n' || errtext->p[errtext->len - 1] == ' '))
		errtext->len--;
	if (errtext->len)
		buf_fmt(msg, "runtime %s: %.*s", what, (int)errtext->len, errtext->p);
	else if (st >= 0 && WIFEXITED(st))
		buf_fmt(msg, "runtime %s: exit status %d", what, WEXITSTATUS(st));
	else
		buf_fmt(msg, "runtime %s failed", what);
}

static bool rt_ok(int st) { return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0; }

/* drain_text reads what is queued in a non-blocking fd (a failed create's
 * or exec's stderr pipe: there the runtime's stderr is the process's). */
static void drain_text(int fd, struct buf *b)
{
	ssize_t n;
	while (fd >= 0 && b->len < 4096 && (n = read(fd, readbuf, sizeof readbuf)) > 0)
		buf_add(b, readbuf, (size_t)n);
}

static int read_pidfile(const char *path)
{
	char tmp[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, tmp, sizeof tmp - 1);
	close(fd);
	if (n <= 0)
		return -1;
	tmp[n] = 0;
	int pid = atoi(tmp);
	return pid > 0 ? pid : -1;
}

/* console_listen makes the socket the runtime sends the pty master to
 * (--console-socket): the runtime connects and passes the fd with
 * SCM_RIGHTS. The connection waits in the backlog while the runtime runs. */
static int console_listen(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof a.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a.sun_path, path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int console_recv(int lfd)
{
	set_nonblock(lfd);
	int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return -1;
	char data[256];
	struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b, .msg_controllen = sizeof cbuf.b};
	int fd = -1;
	if (recvmsg(c, &m, MSG_CMSG_CLOEXEC) >= 0) {
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(h), sizeof fd);
	}
	close(c);
	return fd;
}

/* proc_io is a process's stdio while its runtime command runs. */
struct proc_io {
	int out_r, out_w, err_r, err_w, in_r, in_w, console;
	char *console_path;
};

static void io_close(struct proc_io *io)
{
	int *fds[] = {&io->out_r, &io->out_w, &io->err_r, &io->err_w, &io->in_r, &io->in_w, &io->console};
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	if (io->console_path) {
		unlink(io->console_path);
		free(io->console_path);
		io->console_path = NULL;
	}
}

/* io_make creates the pipes (or the console socket) for a new process. */
static int io_make(struct shim *s, struct proc_io *io, bool terminal, bool stdin_open, const char *name)
{
	int p[2];
	*io = (struct proc_io){-1, -1, -1, -1, -1, -1, -1, NULL};
	if (terminal) {
		io->console_path = path_join(s->dir, name);
		io->console = console_listen(io->console_path);
		return io->console < 0 ? -1 : 0;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	io->out_r = p[0], io->out_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	io->err_r = p[0], io->err_w = p[1];
	if (stdin_open) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		io->in_r = p[0], io->in_w = p[1];
	}
	return 0;
}

/* proc_attach_io moves the io's shim ends into p and registers them. */
static int proc_take_io(struct shim *s, struct proc *p, struct proc_io *io, bool terminal, bool stdin_open)
{
	p->out = (struct stream){.kind = H_STREAM, .fd = -1, .which = 1, .p = p};
	p->err = (struct stream){.kind = H_STREAM, .fd = -1, .which = 2, .p = p};
	p->in_fd = -1;
	p->terminal = terminal;
	if (terminal) {
		int m = console_recv(io->console);
		if (m < 0)
			return -1;
		p->out.fd = m;
		/* A second descriptor for stdin so the output side keeps its
		 * own epoll registration. */
		if (stdin_open)
			p->in_fd = fcntl(m, F_DUPFD_CLOEXEC, 0);
	} else {
		p->out.fd = io->out_r, io->out_r = -1;
		p->err.fd = io->err_r, io->err_r = -1;
		p->in_fd = io->in_w, io->in_w = -1;
	}
	if (p->out.fd >= 0) {
		set_nonblock(p->out.fd);
		ep_add(s, p->out.fd, EPOLLIN, &p->out);
	}
	if (p->err.fd >= 0) {
		set_nonblock(p->err.fd);
		ep_add(s, p->err.fd, EPOLLIN, &p->err);
	}
	p->inh.kind = H_STDIN;
	p->inh.p = p;
	if (p->in_fd >= 0)
		set_nonblock(p->in_fd);
	return 0;
}

/* ---- connections ------------------------------------------------------ */

static void conn_close(struct shim *s, struct conn *c)
{
	for (struct conn **pp = &s->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->stdin_pend);
	free(c);
}

/* conn_events sets what the loop waits for on c. */
static void conn_events(struct shim *s, struct conn *c)
{
	unsigned ev = 0;
	if (c->unwatched)
		return;
	if (c->out.len)
		ev |= EPOLLOUT;
	if (c->mode == C_REQ || c->mode == C_WAIT || c->mode == C_DELETE || (c->mode == C_CLOSING && !c->in_eof))
		ev |= EPOLLIN;
	if (c->mode == C_ATTACH && !c->in_eof && !c->stdin_pend.len)
		ev |= EPOLLIN;
	if (ev != c->events) {
		c->events = ev;
		ep_mod(s, c->fd, ev, c);
	}
}

/* conn_flush writes what c has queued; false when c was closed. */
static bool conn_flush(struct shim *s, struct conn *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_close(s, c);
			return false;
		}
		buf_consume(&c->out, (size_t)n);
	}
	if (!c->out.len && c->close_after_flush) {
		conn_close(s, c);
		return false;
	}
	conn_events(s, c);
	return true;
}

/* conn_send queues data for c; a client too far behind is dropped, never
 * waited for. false when c was closed. */
static bool conn_send(struct shim *s, struct conn *c, const void *data, size_t n)
{
	if (c->out.len + n > MAX_CLIENT_QUEUE) {
		fprintf(stderr, "berth-shim: dropping a client %zu bytes behind\n", c->out.len);
		conn_close(s, c);
		return false;
	}
	buf_add(&c->out, data, n);
	return conn_flush(s, c);
}

static void respond(struct shim *s, struct conn *c, struct buf *body)
{
	buf_add(body, "}\n", 2);
	c->close_after_flush = c->mode != C_ATTACH;
	if (c->mode != C_ATTACH)
		c->mode = C_CLOSING;
	conn_send(s, c, body->p, body->len);
	buf_free(body);
}

static void respond_err(struct shim *s, struct conn *c, const char *kind, const char *msg)
{
	struct buf b = {0};
	buf_fmt(&b, "{\"version\":%d,\"error\":", PROTO_VERSION);
	json_qstr(&b, msg);
	buf_fmt(&b, ",\"kind\":\"%s\"", kind);
	c->mode = C_REQ;
	respond(s, c, &b);
}

static void respond_ok(struct shim *s, struct conn *c)
{
	struct buf b = {0};
	buf_fmt(&b, "{\"version\":%d", PROTO_VERSION);
	c->mode = C_REQ;
	respond(s, c, &b);
}

static void add_exit(struct buf *b, struct proc *p)
{
	buf_fmt(b, "\"exit\":{\"code\":%d,\"at\":\"%s\"}", p->code, p->at);
}

static void respond_exit(struct shim *s, struct conn *c, struct proc *p)
{
	struct buf b = {0};
	buf_fmt(&b, "{\"version\":%d", PROTO_VERSION);
	if (p->done) {
		buf_add(&b, ",", 1);
		add_exit(&b, p);
	}
	c->mode = C_REQ;
	respond(s, c, &b);
}

/* ---- output ---------------------------------------------------------- */

static void log_line(struct shim *s, struct stream *st, const char *d, size_t n, bool partial)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	jlog_write(&s->log, st->which == 1 ? "stdout" : "stderr", d, n, partial, &now);
}

/* log_feed splits the init's output into docker's messages: one per line,
 * and a partial message whenever 16 KiB arrive without a newline (what
 * bufio.Reader.ReadSlice does with docker's 16 KiB buffer). */
static void log_feed(struct shim *s, struct stream *st, const char *d, size_t n)
{
	if (s->log.fd < 0)
		return;
	buf_add(&st->pend, d, n);
	size_t off = 0;
	for (;;) {
		size_t avail = st->pend.len - off, lim = avail < MAX_LINE ? avail : MAX_LINE;
		char *nl = lim ? memchr(st->pend.p + off, '\n', lim) : NULL;
		if (nl) {
			size_t l = (size_t)(nl - (st->pend.p + off));
			log_line(s, st, st->pend.p + off, l, false);
			off += l + 1;
		} else if (avail >= MAX_LINE) {
			log_line(s, st, st->pend.p + off, MAX_LINE, true);
			off += MAX_LINE;
		} else {
			break;
		}
	}
	buf_consume(&st->pend, off);
}

/* fan_out sends a chunk to every client attached to p's stream. */
static void fan_out(struct shim *s, struct proc *p, int which, const char *d, size_t n)
{
	unsigned char hdr[8] = {(unsigned char)which, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
				(unsigned char)(n >> 8), (unsigned char)n};
	struct conn *c = s->conns, *next;
	for (; c; c = next) {
		next = c->next;
		if (c->mode != C_ATTACH || c->p != p || c->close_after_flush)
			continue;
		if ((which == 1 && !c->a_out) || (which == 2 && !c->a_err))
			continue;
		if (c->out.len + n + 8 > MAX_CLIENT_QUEUE) {
			fprintf(stderr, "berth-shim: dropping an attached client %zu bytes behind\n", c->out.len);
			conn_close(s, c);
			continue;
		}
		buf_add(&c->out, hdr, 8);
		buf_add(&c->out, d, n);
		conn_flush(s, c);
	}
}

static void stream_close(struct shim *s, struct stream *st)
{
	if (st->fd < 0)
		return;
	epoll_ctl(s->ep, EPOLL_CTL_DEL, st->fd, NULL);
	close(st->fd);
	st->fd = -1;
	if (st->pend.len && st->p->is_init && s->log.fd >= 0)
		log_line(s, st, st->pend.p, st->pend.len, true);
	buf_free(&st->pend);
}

static void proc_check_done(struct shim *s, struct proc *p);

/* stdin_fd_close closes the shim's end of the process's stdin. Its epoll
 * entry goes first: with a pty, in_fd is a dup of the master, and epoll
 * forgets an entry only when the last fd of the open file is closed. */
static void stdin_fd_close(struct shim *s, struct proc *p)
{
	if (p->in_fd < 0)
		return;
	if (p->inh.watched) {
		p->inh.watched = false;
		epoll_ctl(s->ep, EPOLL_CTL_DEL, p->in_fd, NULL);
	}
	close(p->in_fd);
	p->in_fd = -1;
}

static void stream_read(struct shim *s, struct stream *st)
{
	struct proc *p = st->p;
	for (int rounds = 0; rounds < 16 && st->fd >= 0; rounds++) {
		ssize_t n = read(st->fd, readbuf, sizeof readbuf);
		if (n > 0) {
			if (p->is_init)
				log_feed(s, st, readbuf, (size_t)n);
			fan_out(s, p, p->terminal ? 1 : st->which, readbuf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* EOF; a pty master reads EIO once no slave is open. */
		stream_close(s, st);
	}
	proc_check_done(s, p);
}

/* write_exit_file records the init's exit in two halves around the answers
 * to waiters: first the file, written and renamed into place (visible to a
 * reader at once, even if this shim is killed right after), returning the
 * open temp fd; then exit_file_sync makes it durable (fsync of the file
 * and the directory), after the answers are on their sockets. A power loss
 * between the halves can leave no file or an empty one, which a reader
 * takes as no exit status (255), as for a shim that died first. */
static int write_exit_file(struct shim *s, struct proc *p)
{
	char *path = path_join(s->dir, "exit"), *tmp = path_join(s->dir, ".exit.tmp");
	struct buf b = {0};
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	buf_fmt(&b, "{\"code\":%d,\"at\":\"%s\"}", p->code, p->at);
	if (fd >= 0 && (write(fd, b.p, b.len) != (ssize_t)b.len || rename(tmp, path) < 0)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		fprintf(stderr, "berth-shim: write exit file: %s\n", strerror(errno));
		unlink(tmp);
	}
	buf_free(&b);
	free(path);
	free(tmp);
	return fd;
}

static void exit_file_sync(struct shim *s, int fd)
{
	if (fd < 0)
		return;
	if (fsync(fd) < 0)
		fprintf(stderr, "berth-shim: fsync exit file: %s\n", strerror(errno));
	close(fd);
	int d = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d >= 0) {
		fsync(d);
		close(d);
	}
}

static void finish_delete(struct shim *s, struct conn *c);

/* proc_check_done makes an exit final once the output is drained (or the
 * drain deadline passed: a process outside the container's pid namespace
 * may hold the pipes open): answer waiters, end attach streams. */
static void proc_check_done(struct shim *s, struct proc *p)
{
	if (!p->exited || p->done)
		return;
	if ((p->out.fd >= 0 || p->err.fd >= 0) && now_ms() < p->deadline)
		return;
	stream_close(s, &p->out);
	stream_close(s, &p->err);
	stdin_fd_close(s, p);
	p->done = true;
	int exitfd = p->is_init ? write_exit_file(s, p) : -1;
	struct conn *c, *next, *del = NULL;
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->p != p)
			continue;
		if (c->mode == C_WAIT) {
			respond_exit(s, c, p);
		} else if (c->mode == C_ATTACH) {
			/* EOF on the stream means all output was delivered. */
			c->close_after_flush = true;
			conn_flush(s, c);
		} else if (c->mode == C_DELETE && !del) {
			del = c;
		}
	}
	/* The exit file's fsyncs after the answers, which are already on
	 * their sockets: waiters and attached clients need not wait for the
	 * disk, and the loop serves nothing else (a delete, say) until the
	 * file is durable. */
	exit_file_sync(s, exitfd);
	/* Last: a delete ends the process, after the waiters had their
	 * answer. */
	if (del)
		finish_delete(s, del);
}

static struct proc *find_pid(struct shim *s, int pid)
{
	if (s->init.pid == pid && !s->init.exited)
		return &s->init;
	for (struct proc *p = s->execs; p; p = p->next)
		if (p->pid == pid && !p->exited)
			return p;
	return NULL;
}

/* reap collects every exited child: the init, exec'd processes, and
 * anything else reparented to the subreaper (ignored). */
static void reap(struct shim *s)
{
	struct signalfd_siginfo si;
	while (read(s->sfd, &si, sizeof si) > 0)
		;
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct proc *p = find_pid(s, pid);
		if (!p)
			continue;
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		rfc3339nano(&t, p->at);
		p->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		p->exited = true;
		p->deadline = now_ms() + DRAIN_MS;
		proc_check_done(s, p);
	}
}

/* ---- stdin ----------------------------------------------------------- */

static void stdin_close(struct shim *s, struct proc *p)
{
	if (p->in_fd < 0)
		return;
	if (p->terminal) {
		/* A pty has no half-close: the line discipline's EOF character
		 * (^D at a line start) is what ends the reader's input. */
		if (write(p->in_fd, "\x04", 1) < 0) {
		}
		return;
	}
	stdin_fd_close(s, p);
}

/* stdin_push writes what c holds for its process's stdin; what the pipe
 * does not take stays queued and c stops reading (back-pressure on that
 * client only) until in_fd is writable again (stdin_writable). */
static void stdin_push(struct shim *s, struct conn *c)
{
	struct proc *p = c->p;
	while (c->stdin_pend.len) {
		if (!p || p->in_fd < 0) {
			buf_free(&c->stdin_pend);
			break;
		}
		ssize_t n = write(p->in_fd, c->stdin_pend.p, c->stdin_pend.len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (!p->inh.watched) {
					p->inh.watched = true;
					ep_add(s, p->in_fd, EPOLLOUT, &p->inh);
				}
				break;
			}
			buf_free(&c->stdin_pend); /* the reader is gone (EPIPE) */
			break;
		}
		buf_consume(&c->stdin_pend, (size_t)n);
	}
	if (!c->stdin_pend.len && c->in_eof && c->close_stdin && p) {
		c->close_stdin = false;
		stdin_close(s, p);
	}
	conn_events(s, c);
}

/* stdin_writable: the pipe has room; every waiting client gets a turn
 * (those that fill it again re-arm the watch). */
static void stdin_writable(struct shim *s, struct proc *p)
{
	if (p->inh.watched) {
		p->inh.watched = false;
		epoll_ctl(s->ep, EPOLL_CTL_DEL, p->in_fd, NULL);
	}
	struct conn *c, *next;
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->p == p && c->stdin_pend.len)
			stdin_push(s, c);
	}
}

/* ---- ops ------------------------------------------------------------- */

static struct proc *find_exec(struct shim *s, const char *id)
{
	for (struct proc *p = s->execs; p; p = p->next)
		if (strcmp(p->id, id) == 0)
			return p;
	return NULL;
}

/* target resolves a request's exec_id; NULL (answered) when unknown. */
static struct proc *target(struct shim *s, struct conn *c, struct req *r)
{
	if (!r->exec_id[0])
		return &s->init;
	struct proc *p = find_exec(s, r->exec_id);
	if (!p) {
		struct buf m = {0};
		buf_fmt(&m, "no exec %s in container %s", r->exec_id, s->id);
		buf_add(&m, "", 1);
		respond_err(s, c, "not-found", m.p);
		buf_free(&m);
	}
	return p;
}

static void op_state(struct shim *s, struct conn *c, struct proc *p)
{
	const char *status = "running";
	if (p->done)
		status = "stopped";
	else if (p->is_init && !s->started)
		status = "created";
	else if (s->paused && !p->exited)
		status = "paused";
	struct buf b = {0};
	buf_fmt(&b, "{\"version\":%d,\"state\":{\"id\":", PROTO_VERSION);
	json_qstr(&b, p->is_init ? s->id : p->id);
	buf_fmt(&b, ",\"status\":\"%s\",\"pid\":%d,\"shim_pid\":%d", status, p->pid, (int)getpid());
	if (p->done) {
		buf_add(&b, ",", 1);
		add_exit(&b, p);
	}
	buf_add(&b, "}", 1);
	respond(s, c, &b);
}

/* simple_rt runs one runtime command and answers ok or its error. */
static bool simple_rt(struct shim *s, struct conn *c, const char *what, const char *const *argv)
{
	struct buf et = {0}, msg = {0};
	int st = run_rt(s, argv, -1, -1, -1, &et);
	bool ok = rt_ok(st);
	if (ok) {
		respond_ok(s, c);
	} else {
		rt_error(&msg, what, st, &et);
		buf_add(&msg, "", 1);
		respond_err(s, c, "internal", msg.p);
	}
	buf_free(&et);
	buf_free(&msg);
	return ok;
}

static void op_kill(struct shim *s, struct conn *c, struct req *r, struct proc *p)
{
	if (r->signal <= 0 || r->signal > 64) {
		respond_err(s, c, "invalid", "invalid signal");
		return;
	}
	if (p->exited) {
		respond_err(s, c, "not-running", "process is not running");
		return;
	}
	if (r->all && p->is_init) {
		char sig[16];
		snprintf(sig, sizeof sig, "%lld", r->signal);
		const char *argv[] = {"kill", "--all", s->id, sig, NULL};
		simple_rt(s, c, "kill", argv);
		return;
	}
	/* The process is our child (or reparented to us) and not reaped, so
	 * its pid cannot have been reused. */
	if (kill(p->pid, (int)r->signal) < 0) {
		respond_err(s, c, errno == ESRCH ? "not-running" : "internal", strerror(errno));
		return;
	}
	respond_ok(s, c);
}

static void rm_tree(const char *dir);

static void accept_conns(struct shim *s);

/* final_exit ends the process: the answers still queued are written with
 * a bounded blocking send, and every other connection is closed by the
 * exit. */
static void final_exit(struct shim *s)
{
	struct timeval tv = {.tv_sec = 1};
	for (struct conn *q = s->conns; q; q = q->next) {
		if (!q->out.len || q->mode == C_ATTACH)
			continue;
		int fl = fcntl(q->fd, F_GETFL);
		fcntl(q->fd, F_SETFL, fl & ~O_NONBLOCK);
		setsockopt(q->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		size_t off = 0;
		while (off < q->out.len) {
			ssize_t n = send(q->fd, q->out.p + off, q->out.len - off, MSG_NOSIGNAL);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	jlog_close(&s->log);
	exit(0);
}

/* shim_exit answers a delete or shutdown and starts the shim's end. The
 * socket is already unlinked, so no new client finds it; connections
 * already queued on the listener would be reset by its close, so they are
 * accepted and, like the ones open now, answered (for a little while)
 * before the process exits: a kill racing a delete gets "not running", not
 * ECONNRESET. */
static void shim_exit(struct shim *s, struct conn *c, struct buf *body)
{
	respond(s, c, body);
	if (s->exiting)
		return;
	s->exiting = true;
	s->exit_deadline = now_ms() + 200;
	if (s->lfd >= 0) {
		accept_conns(s);
		epoll_ctl(s->ep, EPOLL_CTL_DEL, s->lfd, NULL);
		close(s->lfd);
		s->lfd = -1;
		s->relisten = 0;
	}
}

/* exit_ready: every request has been answered and written. Attach and
 * wait connections (an exec's, in a shared pid namespace) do not hold the
 * exit. */
static bool exit_ready(struct shim *s)
{
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->mode == C_REQ || c->mode == C_CLOSING || c->mode == C_DELETE)
			return false;
	return true;
}

/* finish_delete removes the container once its init is reaped. */
static void finish_delete(struct shim *s, struct conn *c)
{
	struct buf et = {0}, msg = {0};
	/* Reaped, so the runtime sees it stopped: no --force needed. */
	const char *argv[] = {"delete", s->id, NULL};
	int st = run_rt(s, argv, -1, -1, -1, &et);
	if (!rt_ok(st)) {
		char *rtdir = path_join(s->rt_root, s->id);
		struct stat sb;
		bool gone = stat(rtdir, &sb) < 0 && errno == ENOENT;
		free(rtdir);
		if (!gone) {
			rt_error(&msg, "delete", st, &et);
			buf_add(&msg, "", 1);
			s->ending = false;
			respond_err(s, c, "internal", msg.p);
			buf_free(&et);
			buf_free(&msg);
			return;
		}
	}
	buf_free(&et);
	unlink(s->sock_path);
	rm_tree(s->dir);
	struct buf b = {0};
	buf_fmt(&b, "{\"version\":%d,", PROTO_VERSION);
	add_exit(&b, &s->init);
	c->mode = C_REQ;
	shim_exit(s, c, &b);
}

static void op_delete(struct shim *s, struct conn *c, struct req *r)
{
	if (s->ending) {
		respond_err(s, c, "invalid", "shim is already ending");
		return;
	}
	if (!s->init.done) {
		if (!r->force) {
			respond_err(s, c, "running", "container is running: stop it or force the delete");
			return;
		}
		s->ending = true;
		if (!s->init.exited) {
			struct buf et = {0};
			const char *argv[] = {"kill", "--all", s->id, "9", NULL};
			if (s->paused) {
				/* A frozen process does not die until thawed. */
				const char *rv[] = {"resume", s->id, NULL};
				run_rt(s, rv, -1, -1, -1, &et);
				buf_free(&et);
			}
			run_rt(s, argv, -1, -1, -1, &et);
			buf_free(&et);
			kill(s->init.pid, SIGKILL);
		}
		c->mode = C_DELETE;
		c->p = &s->init;
		c->deadline = now_ms() + DELETE_KILL_MS;
		conn_events(s, c);
		return;
	}
	s->ending = true;
	finish_delete(s, c);
}

static void op_attach(struct conn *c, struct req *r, struct proc *p)
{
	c->p = p;
	c->a_in = r->in;
	c->a_out = r->out;
	c->a_err = r->err;
	c->close_stdin = r->close_stdin && r->in;
	c->in_eof = !r->in;
	c->mode = C_ATTACH;
}

static void begin_attach(struct shim *s, struct conn *c, struct buf *body)
{
	c->mode = C_ATTACH;
	buf_add(body, "}\n", 2);
	c->close_after_flush = c->p->done;
	conn_send(s, c, body->p, body->len);
	buf_free(body);
}

static void drop_oldest_exec(struct shim *s)
{
	struct proc **victim = NULL;
	for (struct proc **pp = &s->execs; *pp; pp = &(*pp)->next)
		if ((*pp)->done)
			victim = pp; /* the list is newest first: keep the last */
	if (!victim)
		return;
	struct proc *p = *victim;
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->p == p)
			return; /* still referenced; keep it */
	*victim = p->next;
	free(p);
	s->nexecs--;
}

static void op_exec(struct shim *s, struct conn *c, struct req *r)
{
	if (!valid_id(r->exec_id, 64)) {
		respond_err(s, c, "invalid", "exec_id: want 1-64 of [A-Za-z0-9_.+-]");
		return;
	}
	if (!r->path[0]) {
		respond_err(s, c, "invalid", "exec needs path (the process.json)");
		return;
	}
	if (find_exec(s, r->exec_id)) {
		respond_err(s, c, "invalid", "exec id already in use");
		return;
	}
	if (!s->started || s->init.exited) {
		respond_err(s, c, "not-running", "container is not running");
		return;
	}
	if (s->paused) {
		respond_err(s, c, "paused", "container is paused, unpause it first");
		return;
	}
	if (s->nexecs >= MAX_EXECS)
		drop_oldest_exec(s);
	if (s->nexecs >= MAX_EXECS) {
		respond_err(s, c, "internal", "too many running execs");
		return;
	}
	char name[REQ_ID_MAX + 16];
	snprintf(name, sizeof name, "exec-%s.pid", r->exec_id);
	char *pidfile = path_join(s->dir, name);
	/* The console socket lives only while this request runs the
	 * runtime (op_exec is synchronous), so one fixed name serves every
	 * exec; with the exec's 64-hex id in it the path passed the 107
	 * bytes of sun_path (<exec-root>/shims/<id>/exec-<id>.sock). No
	 * longer than the container's console.sock, so it fits if that does. */
	snprintf(name, sizeof name, "exec.sock");
	struct proc_io io;
	struct buf et = {0}, msg = {0};
	struct proc *p = NULL;
	unlink(pidfile);
	if (io_make(s, &io, r->terminal, r->in, name) < 0) {
		buf_fmt(&msg, "exec io: %s", strerror(errno));
		goto fail;
	}
	const char *argv[12];
	int ac = 0;
	argv[ac++] = "exec";
	argv[ac++] = "--process";
	argv[ac++] = r->path;
	argv[ac++] = "--detach";
	argv[ac++] = "--pid-file";
	argv[ac++] = pidfile;
	if (r->terminal) {
		argv[ac++] = "--console-socket";
		argv[ac++] = io.console_path;
	}
	argv[ac++] = s->id;
	argv[ac] = NULL;
	/* Without a terminal the runtime's stdio is the process's (runc's
	 * pass-through): its error message arrives on the stderr pipe. */
	int st = run_rt(s, argv, io.in_r, io.out_w, io.err_w, &et);
	if (io.err_r >= 0) {
		close(io.out_w), io.out_w = -1;
		close(io.err_w), io.err_w = -1;
		close(io.in_r), io.in_r = -1;
	}
	int pid = rt_ok(st) ? read_pidfile(pidfile) : -1;
	if (pid < 0) {
		if (io.err_r >= 0) {
			set_nonblock(io.err_r);
			drain_text(io.err_r, &et);
		}
		rt_error(&msg, "exec", st, &et);
		goto fail;
	}
	p = calloc(1, sizeof *p);
	if (!p)
		abort();
	snprintf(p->id, sizeof p->id, "%s", r->exec_id);
	p->pid = pid;
	if (proc_take_io(s, p, &io, r->terminal, r->in) < 0) {
		buf_fmt(&msg, "exec: no console from the runtime");
		kill(pid, SIGKILL);
		/* Tracked anyway, so the zombie is reaped and recorded. */
	}
	p->next = s->execs;
	s->execs = p;
	s->nexecs++;
	io_close(&io);
	unlink(pidfile);
	free(pidfile);
	buf_free(&et);
	if (msg.len) {
		buf_add(&msg, "", 1);
		respond_err(s, c, "internal", msg.p);
		buf_free(&msg);
		return;
	}
	struct buf b = {0};
	buf_fmt(&b, "{\"version\":%d,\"pid\":%d", PROTO_VERSION, pid);
	if (r->in || r->out || r->err) {
		op_attach(c, r, p);
		begin_attach(s, c, &b);
	} else {
		c->mode = C_REQ;
		respond(s, c, &b);
	}
	return;
fail:
	io_close(&io);
	unlink(pidfile);
	free(pidfile);
	buf_free(&et);
	buf_add(&msg, "", 1);
	respond_err(s, c, "internal", msg.p);
	buf_free(&msg);
}

static void op_resize(struct shim *s, struct conn *c, struct req *r, struct proc *p)
{
	if (!p->terminal) {
		respond_err(s, c, "invalid", "the process has no terminal");
		return;
	}
	/* A 0 dimension is refused, always: the kernel would accept it but
	 * programs then divide by it or fall back to 80x24 unpredictably. */
	if (r->width == 0 || r->height == 0) {
		respond_err(s, c, "invalid", "width and height must be at least 1");
		return;
	}
	if (p->done || p->out.fd < 0) {
		respond_err(s, c, "not-running", "process is not running");
		return;
	}
	struct winsize ws = {.ws_row = (unsigned short)r->height, .ws_col = (unsigned short)r->width};
	if (ioctl(p->out.fd, TIOCSWINSZ, &ws) < 0) {
		respond_err(s, c, "internal", strerror(errno));
		return;
	}
	respond_ok(s, c);
}

static void dispatch(struct shim *s, struct conn *c, const char *line, size_t n)
{
	struct req r;
	char err[256];
	if (req_parse(line, n, &r, err, sizeof err) < 0) {
		respond_err(s, c, "invalid", err);
		return;
	}
	if (r.version != PROTO_VERSION) {
		char m[128];
		snprintf(m, sizeof m, "protocol version %lld not supported (shim speaks %d)", r.version, PROTO_VERSION);
		respond_err(s, c, "version", m);
		return;
	}
	const char *op = r.op;
	struct proc *p;
	if (strcmp(op, "state") == 0) {
		if ((p = target(s, c, &r)))
			op_state(s, c, p);
	} else if (strcmp(op, "start") == 0) {
		if (s->init.exited) {
			respond_err(s, c, "not-running", "container has exited");
			return;
		}
		if (s->started) {
			respond_err(s, c, "running", "container is already started");
			return;
		}
		const char *argv[] = {"start", s->id, NULL};
		if (simple_rt(s, c, "start", argv))
			s->started = true;
	} else if (strcmp(op, "wait") == 0) {
		if (!(p = target(s, c, &r)))
			return;
		if (p->done) {
			respond_exit(s, c, p);
			return;
		}
		/* Answered by proc_check_done; the client gives up by closing. */
		c->mode = C_WAIT;
		c->p = p;
		conn_events(s, c);
	} else if (strcmp(op, "kill") == 0) {
		if ((p = target(s, c, &r)))
			op_kill(s, c, &r, p);
	} else if (strcmp(op, "pause") == 0 || strcmp(op, "resume") == 0) {
		bool pause = op[0] == 'p';
		if (!s->started || s->init.exited) {
			respond_err(s, c, "not-running", "container is not running");
			return;
		}
		const char *argv[] = {op, s->id, NULL};
		if (simple_rt(s, c, op, argv))
			s->paused = pause;
	} else if (strcmp(op, "update") == 0) {
		if (!r.path[0]) {
			respond_err(s, c, "invalid", "update needs path (the resources JSON)");
			return;
		}
		if (s->init.exited) {
			respond_err(s, c, "not-running", "container is not running");
			return;
		}
		const char *argv[] = {"update", "-r", r.path, s->id, NULL};
		simple_rt(s, c, "update", argv);
	} else if (strcmp(op, "resize") == 0) {
		if ((p = target(s, c, &r)))
			op_resize(s, c, &r, p);
	} else if (strcmp(op, "attach") == 0) {
		if (!(p = target(s, c, &r)))
			return;
		struct buf b = {0};
		buf_fmt(&b, "{\"version\":%d", PROTO_VERSION);
		op_attach(c, &r, p);
		begin_attach(s, c, &b);
	} else if (strcmp(op, "exec") == 0) {
		op_exec(s, c, &r);
	} else if (strcmp(op, "delete") == 0) {
		op_delete(s, c, &r);
	} else if (strcmp(op, "shutdown") == 0) {
		if (!s->init.done) {
			respond_err(s, c, "running", "container is running; the shim is its reaper");
			return;
		}
		if (s->ending) {
			respond_err(s, c, "invalid", "shim is already ending");
			return;
		}
		unlink(s->sock_path);
		char *pidp = path_join(s->dir, "shim.pid");
		unlink(pidp);
		free(pidp);
		struct buf b = {0};
		buf_fmt(&b, "{\"version\":%d,", PROTO_VERSION);
		add_exit(&b, &s->init);
		s->ending = true;
		shim_exit(s, c, &b);
	} else {
		char m[96];
		snprintf(m, sizeof m, "unknown op \"%.40s\"", op);
		respond_err(s, c, "invalid", m);
	}
}

static bool conn_live(struct shim *s, struct conn *c)
{
	for (struct conn *q = s->conns; q; q = q->next)
		if (q == c)
			return true;
	return false;
}

static void conn_read(struct shim *s, struct conn *c, unsigned ev)
{
	if (c->mode == C_ATTACH) {
		if (ev & (EPOLLHUP | EPOLLERR)) {
			/* The client is gone altogether (a half-close is
			 * EPOLLRDHUP without EPOLLHUP). What it wrote before
			 * closing still goes to stdin (best effort: what the
			 * pipe does not take now is dropped with the
			 * connection), and its end counts as its stdin's EOF,
			 * so close_stdin applies as after a half-close. */
			if (c->a_in && !c->in_eof) {
				ssize_t n;
				while (c->stdin_pend.len < MAX_CLIENT_QUEUE &&
				       (n = read(c->fd, readbuf, sizeof readbuf)) > 0)
					buf_add(&c->stdin_pend, readbuf, (size_t)n);
				c->in_eof = true;
				stdin_push(s, c);
			}
			conn_close(s, c);
			return;
		}
		if (c->in_eof || c->stdin_pend.len)
			return;
		ssize_t n = read(c->fd, readbuf, sizeof readbuf);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				conn_close(s, c);
			return;
		}
		if (n == 0) {
			c->in_eof = true;
		} else if (c->a_in) {
			buf_add(&c->stdin_pend, readbuf, (size_t)n);
		}
		stdin_push(s, c);
		return;
	}
	ssize_t n = read(c->fd, readbuf, sizeof readbuf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (c->mode != C_REQ) {
		/* A waiter that hangs up gives up its wait; bytes after the
		 * request line are ignored. */
		if (n > 0)
			return;
		if (c->mode == C_DELETE) {
			/* The delete goes on; its answer has nowhere to go. A
			 * hung-up socket reports EPOLLHUP whatever the mask,
			 * so it leaves epoll until the delete is done. */
			c->unwatched = true;
			epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
		} else if (c->mode == C_CLOSING && c->out.len && !(ev & EPOLLHUP)) {
			c->in_eof = true; /* half-closed: still deliver the answer */
			conn_events(s, c);
		} else {
			conn_close(s, c);
		}
		return;
	}
	if (n > 0)
		buf_add(&c->in, readbuf, (size_t)n);
	char *nl = c->in.len ? memchr(c->in.p, '\n', c->in.len) : NULL;
	if (!nl && c->in.len > MAX_REQ) {
		buf_free(&c->in);
		respond_err(s, c, "invalid", "request line longer than 64 KiB");
		return;
	}
	if (!nl && n > 0)
		return;
	if (!nl && c->in.len == 0) {
		conn_close(s, c);
		return;
	}
	size_t len = nl ? (size_t)(nl - c->in.p) : c->in.len;
	struct buf line = c->in;
	c->in = (struct buf){0};
	dispatch(s, c, line.p, len);
	/* Bytes the client sent right behind an attach or exec request are
	 * the start of its stdin: keep them. dispatch may have closed (and
	 * freed) c, so look it up first. */
	if (nl && line.len > len + 1 && conn_live(s, c) && c->mode == C_ATTACH && c->a_in && !c->close_after_flush) {
		buf_add(&c->stdin_pend, line.p + len + 1, line.len - len - 1);
		stdin_push(s, c);
	}
	buf_free(&line);
}

static void accept_conns(struct shim *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			/* Out of fds, the pending connection stays queued and the
			 * level-triggered listener would wake us in a busy loop:
			 * take it out of epoll for a while instead. */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				epoll_ctl(s->ep, EPOLL_CTL_DEL, s->lfd, NULL);
				s->relisten = now_ms() + 100;
			}
			return;
		}
		struct conn *c = calloc(1, sizeof *c);
		if (!c)
			abort();
		c->kind = H_CONN;
		c->fd = fd;
		c->mode = C_REQ;
		c->events = EPOLLIN;
		c->next = s->conns;
		s->conns = c;
		ep_add(s, fd, EPOLLIN, c);
	}
}

/* ---- setup ----------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *dir) { nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS); }

static void sync_report(int fd, int pid, const char *err)
{
	if (fd < 0)
		return;
	struct buf b = {0};
	if (err) {
		buf_str(&b, "{\"error\":");
		json_qstr(&b, err);
		buf_str(&b, "}\n");
	} else {
		buf_fmt(&b, "{\"pid\":%d}\n", pid);
	}
	if (write(fd, b.p, b.len) < 0) {
	}
	close(fd);
	buf_free(&b);
}

static void usage_fail(int syncfd, const char *msg)
{
	fprintf(stderr, "berth-shim: %s\n", msg);
	sync_report(syncfd, 0, msg);
	exit(2);
}

int main(int argc, char **argv)
{
	struct shim sh = {0}, *s = &sh;
	int syncfd = -1;
	char err[512];
	s->log.fd = -1;
	s->log.max_size = -1;
	s->log.max_file = 1;
	s->log_driver = "json-file";
	s->init.is_init = true;
	s->init.in_fd = s->init.out.fd = s->init.err.fd = -1;

	if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v") || !strcmp(argv[1], "version"))) {
		printf("berth-shim version %s\n", BERTH_VERSION);
		return 0;
	}
	/* The sync fd first: every later failure is reported on it. */
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--sync-fd")) {
			syncfd = atoi(argv[i + 1]);
			if (syncfd < 3)
				syncfd = -1;
			else
				fcntl(syncfd, F_SETFD, FD_CLOEXEC); /* not for the container */
		}
	const char **logopts = calloc((size_t)argc, sizeof *logopts);
	int nlogopts = 0;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (!strcmp(a, "--terminal")) {
			s->terminal = true;
			continue;
		}
		if (!strcmp(a, "--stdin")) {
			s->stdin_open = true;
			continue;
		}
		if (i + 1 >= argc) {
			snprintf(err, sizeof err, "flag %s: missing value or unknown flag", a);
			usage_fail(syncfd, err);
		}
		char *v = argv[++i];
		if (!strcmp(a, "--id"))
			s->id = v;
		else if (!strcmp(a, "--bundle"))
			s->bundle = v;
		else if (!strcmp(a, "--exec-root"))
			s->exec_root = v;
		else if (!strcmp(a, "--runtime-root"))
			s->rt_root = v;
		else if (!strcmp(a, "--log-path"))
			s->log_path = v;
		else if (!strcmp(a, "--runtime"))
			s->runtime = v;
		else if (!strcmp(a, "--log-driver"))
			s->log_driver = v;
		else if (!strcmp(a, "--log-opt"))
			logopts[nlogopts++] = v;
		else if (!strcmp(a, "--sync-fd"))
			;
		else {
			snprintf(err, sizeof err, "unknown flag %s", a);
			usage_fail(syncfd, err);
		}
	}
	if (!s->id || !s->bundle || !s->exec_root || !s->rt_root || !s->runtime)
		usage_fail(syncfd, "--id, --bundle, --exec-root, --runtime-root and --runtime are required");
	if (!valid_id(s->id, 1024))
		usage_fail(syncfd, "invalid container id");
	if (!strcmp(s->log_driver, "json-file")) {
		if (!s->log_path)
			usage_fail(syncfd, "--log-path is required with the json-file log driver");
		s->log.path = s->log_path;
		for (int i = 0; i < nlogopts; i++)
			if (jlog_parse_opt(&s->log, logopts[i], err, sizeof err) < 0)
				usage_fail(syncfd, err);
		if (jlog_check_opts(&s->log, err, sizeof err) < 0)
			usage_fail(syncfd, err);
	} else if (strcmp(s->log_driver, "none") != 0) {
		usage_fail(syncfd, "--log-driver: want json-file or none");
	}
	free(logopts);

	/* Processes the runtime forks (the init, exec'd processes) are
	 * reparented to us when their parent exits, so we can reap them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		usage_fail(syncfd, "PR_SET_CHILD_SUBREAPER failed");
	signal(SIGPIPE, SIG_IGN);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	s->sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	s->ep = epoll_create1(EPOLL_CLOEXEC);

	size_t dl = strlen(s->exec_root) + strlen(s->id) + 16;
	s->dir = malloc(dl);
	snprintf(s->dir, dl, "%s/shims/%s", s->exec_root, s->id);
	s->sock_path = path_join(s->dir, "shim.sock");
	mkdir(s->dir, 0700); /* the client made it; a missing parent fails below */

	if (s->log.path && jlog_open(&s->log) < 0) {
		snprintf(err, sizeof err, "json-file: open %s: %s", s->log_path, strerror(errno));
		usage_fail(syncfd, err);
	}

	/* Listen before creating: a failure here leaves no container behind. */
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(s->sock_path) >= sizeof addr.sun_path)
		usage_fail(syncfd, "socket path too long");
	strcpy(addr.sun_path, s->sock_path);
	unlink(s->sock_path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(s->lfd, 64) < 0) {
		snprintf(err, sizeof err, "listen %s: %s", s->sock_path, strerror(errno));
		usage_fail(syncfd, err);
	}

	struct proc_io io;
	if (io_make(s, &io, s->terminal, s->stdin_open, "console.sock") < 0) {
		snprintf(err, sizeof err, "stdio: %s", strerror(errno));
		usage_fail(syncfd, err);
	}
	char *pidfile = path_join(s->dir, "init.pid");
	const char *cargv[12];
	int ac = 0;
	cargv[ac++] = "create";
	cargv[ac++] = "--bundle";
	cargv[ac++] = s->bundle;
	cargv[ac++] = "--pid-file";
	cargv[ac++] = pidfile;
	if (s->terminal) {
		cargv[ac++] = "--console-socket";
		cargv[ac++] = io.console_path;
	}
	cargv[ac++] = s->id;
	cargv[ac] = NULL;
	struct buf et = {0}, msg = {0};
	int st = run_rt(s, cargv, io.in_r, io.out_w, io.err_w, &et);
	/* Only the init keeps the write ends: EOF then means it (and what it
	 * forked) is gone. */
	if (!s->terminal) {
		close(io.out_w), io.out_w = -1;
		close(io.err_w), io.err_w = -1;
		if (io.in_r >= 0)
			close(io.in_r), io.in_r = -1;
	}
	int pid = rt_ok(st) ? read_pidfile(pidfile) : -1;
	if (pid < 0) {
		if (io.err_r >= 0) {
			set_nonblock(io.err_r);
			drain_text(io.err_r, &et);
		}
		if (rt_ok(st)) {
			/* Created, but no pid to watch it by: do not leave it. */
			const char *dv[] = {"delete", "--force", s->id, NULL};
			struct buf ign = {0};
			run_rt(s, dv, -1, -1, -1, &ign);
			buf_free(&ign);
			buf_str(&et, "no pid in the runtime's --pid-file");
		}
		rt_error(&msg, "create", st, &et);
		buf_add(&msg, "", 1);
		unlink(s->sock_path);
		io_close(&io);
		usage_fail(syncfd, msg.p);
	}
	buf_free(&et);
	unlink(pidfile);
	free(pidfile);
	s->init.pid = pid;
	if (proc_take_io(s, &s->init, &io, s->terminal, s->stdin_open) < 0) {
		io_close(&io);
		const char *dv[] = {"delete", "--force", s->id, NULL};
		run_rt(s, dv, -1, -1, -1, &et);
		unlink(s->sock_path);
		usage_fail(syncfd, "no console from the runtime");
	}
	io_close(&io);
	{
		char *pp = path_join(s->dir, "shim.pid");
		FILE *f = fopen(pp, "we");
		if (f) {
			fprintf(f, "%d", (int)getpid());
			fclose(f);
		}
		free(pp);
	}
	static int listen_kind = H_LISTEN, signal_kind = H_SIGNAL;
	ep_add(s, s->lfd, EPOLLIN, &listen_kind);
	ep_add(s, s->sfd, EPOLLIN, &signal_kind);
	sync_report(syncfd, pid, NULL);
	/* Our stdio is the shim.log the client opened; stdin is not needed. */

	struct epoll_event evs[16];
	for (;;) {
		long long now = now_ms(), next = -1;
		for (struct conn *c = s->conns; c; c = c->next)
			if (c->mode == C_DELETE && (next < 0 || c->deadline < next))
				next = c->deadline;
		struct proc *ps[2] = {&s->init, s->execs};
		for (int k = 0; k < 2; k++)
			for (struct proc *p = ps[k]; p; p = k ? p->next : NULL)
				if (p->exited && !p->done && (next < 0 || p->deadline < next))
					next = p->deadline;
		if (s->relisten && (next < 0 || s->relisten < next))
			next = s->relisten;
		if (s->exiting && (next < 0 || s->exit_deadline < next))
			next = s->exit_deadline;
		int timeout = -1;
		if (next >= 0)
			timeout = next > now ? (int)(next - now) : 0;
		int n = epoll_wait(s->ep, evs, 16, timeout);
		for (int i = 0; i < n; i++) {
			int kind = *(int *)evs[i].data.ptr;
			/* A connection closed by an earlier event of this batch
			 * is freed; skip events for pointers no longer live. */
			if (kind == H_CONN) {
				struct conn *c = evs[i].data.ptr;
				if (!conn_live(s, c))
					continue;
				if (evs[i].events & EPOLLOUT) {
					if (!conn_flush(s, c))
						continue;
				}
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					conn_read(s, c, evs[i].events);
			} else if (kind == H_STREAM) {
				struct stream *st2 = evs[i].data.ptr;
				if (st2->fd >= 0)
					stream_read(s, st2);
			} else if (kind == H_LISTEN) {
				accept_conns(s);
			} else if (kind == H_SIGNAL) {
				reap(s);
			} else if (kind == H_STDIN) {
				struct stdin_h *h = evs[i].data.ptr;
				if (h->watched)
					stdin_writable(s, h->p);
			}
		}
		now = now_ms();
		if (s->exiting && (exit_ready(s) || now >= s->exit_deadline))
			final_exit(s);
		if (s->relisten && now >= s->relisten && s->lfd >= 0) {
			s->relisten = 0;
			ep_add(s, s->lfd, EPOLLIN, &listen_kind);
		}
		struct conn *c, *cn;
		for (c = s->conns; c; c = cn) {
			cn = c->next;
			if (c->mode == C_DELETE && !s->init.done && now >= c->deadline) {
				s->ending = false;
				respond_err(s, c, "internal", "container did not die on SIGKILL");
			}
		}
		proc_check_done(s, &s->init);
		for (struct proc *p = s->execs; p; p = p->next)
			proc_check_done(s, p);
	}
}
