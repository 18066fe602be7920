// Stage zero of berth-runtime's container init: runs as a constructor before
// the Go runtime starts any thread, because setns(2) into a mount or user
// namespace and unshare(CLONE_NEWUSER) are refused to multithreaded callers.
// See doc.go for the protocol; it is documented in Go next to the encoder.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "errtext.h"
#include "nsexec.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

// struct clone_args of clone3(2), up to the cgroup field (CLONE_ARGS_SIZE_VER2).
struct berth_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

#define MAX_NS 16
#define MAX_CG 32

static int initfd = -1;

// Phase times of this stage, reported with trace=1 (see stage_trace).
static long long t_entered, t_bootstrap, t_unshared;

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

const char *nsexec_errstr(int e)
{
	if (e > 0 && e < BERTH_NERRNO && berth_errno_text[e] != NULL)
		return berth_errno_text[e];
	return strerror(e);
}

void nsexec_failmsg(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errno = 0;
	nsexec_fail("%s", msg);
}

// fail reports a message to the parent as a JSON line and exits. The parent
// reads it as the reason the container could not be set up.
#define fail nsexec_fail
void nsexec_fail(const char *fmt, ...)
{
	char msg[512], line[1200];
	int n, i, j = 0, saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (saved != 0) {
		size_t l = strlen(msg);
		snprintf(msg + l, sizeof(msg) - l, ": %s", nsexec_errstr(saved));
	}
	n = snprintf(line, sizeof(line), "{\"type\":\"error\",\"message\":\"");
	for (i = 0; msg[i] != '\0' && n + 4 < (int)sizeof(line); i++) {
		char c = msg[i];
		if (c == '"' || c == '\\')
			line[n++] = '\\';
		if ((unsigned char)c < 0x20)
			c = ' ';
		line[n++] = c;
	}
	(void)j;
	n += snprintf(line + n, sizeof(line) - n, "\"}\n");
	// MSG_NOSIGNAL: after create has returned nobody reads the socket
	// (an init waiting for start); the container's stderr is then the
	// only place left to say why.
	if (initfd < 0 || send(initfd, line, n, MSG_NOSIGNAL) < 0) {
		if (write(2, "berth-runtime init: ", 20) < 0 || write(2, msg, strlen(msg)) < 0 || write(2, "\n", 1) < 0) {
			/* nothing more to do: the parent sees the exit status */
		}
	}
	_exit(1);
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t r = read(fd, (char *)buf + done, len - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += r;
	}
	return 0;
}

static void write_full(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			fail("write to parent");
		buf += w;
		len -= w;
	}
}

void nsexec_write_file(const char *path, const char *data)
{
	int fd = openat(AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(data);
	if (fd < 0)
		fail("open %s", path);
	if (write(fd, data, len) != (ssize_t)len)
		fail("write %s", path);
	close(fd);
}

struct ns {
	int type;
	int fd;
	char *path;
};

static int ns_type(const char *name)
{
	if (!strcmp(name, "user")) return CLONE_NEWUSER;
	if (!strcmp(name, "mnt")) return CLONE_NEWNS;
	if (!strcmp(name, "pid")) return CLONE_NEWPID;
	if (!strcmp(name, "net")) return CLONE_NEWNET;
	if (!strcmp(name, "ipc")) return CLONE_NEWIPC;
	if (!strcmp(name, "uts")) return CLONE_NEWUTS;
	if (!strcmp(name, "cgroup")) return CLONE_NEWCGROUP;
	if (!strcmp(name, "time")) return CLONE_NEWTIME;
	return 0;
}

static void join(struct ns *n)
{
	if (setns(n->fd, n->type) < 0)
		fail("join namespace %s", n->path);
	close(n->fd);
	n->fd = -1;
}

// stage_trace reports this stage's phases as trace lines (before the pid
// line, which the parent reads them with).
static void stage_trace(void)
{
	const char *names[] = {"C stage entered", "C bootstrap read", "C namespaces made"};
	long long at[] = {t_entered, t_bootstrap, t_unshared};
	char line[160];
	for (int i = 0; i < 3; i++) {
		if (at[i] == 0)
			continue;
		snprintf(line, sizeof(line), "{\"type\":\"trace\",\"message\":\"%s\",\"time\":%lld}\n", names[i], at[i]);
		write_full(initfd, line, strlen(line));
	}
}

// run_stage hands over to the exec or init part when the bootstrap asked for
// one (neither returns); otherwise the Go stage takes over.
static void run_stage(struct exec_cfg *ex, struct init_cfg *in)
{
	ex->initfd = initfd;
	if (in->on)
		init_container(ex, in);
	if (ex->on)
		exec_process(ex);
}

__attribute__((constructor)) static void berth_nsexec(void)
{
	const char *env = getenv(ENV_INITPIPE);
	uint32_t len;
	char *buf, *p, *end, *next;
	unsigned long cloneflags = 0, forkflags = 0;
	const char *uidmap = NULL, *gidmap = NULL, *setgroups = NULL;
	const char *oom = NULL, *timens = NULL, *cgv2 = NULL;
	const char *cgtasks[MAX_CG];
	int ncg = 0, cgv2fd = -1, cgv2procs = -1, cgv2mk = 0;
	struct ns nss[MAX_NS];
	int nns = 0, i, mustfork = 0;
	pid_t child;
	char line[64];
	struct exec_cfg ex;
	struct init_cfg in;

	memset(&ex, 0, sizeof(ex));
	memset(&in, 0, sizeof(in));

	if (env == NULL)
		return;
	// Nothing blocked reaches the container: the runtime that spawned us
	// may run with signals blocked (`run` does, see prespawn.c).
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	t_entered = mono_ns();
	initfd = atoi(env);
	if (initfd < 3)
		fail("bad _BERTH_INITPIPE %s", env);
	errno = 0;

	if (read_full(initfd, &len, sizeof(len)) < 0 || len > (1 << 20))
		fail("read bootstrap length");
	buf = malloc(len + 1);
	if (buf == NULL)
		fail("alloc bootstrap");
	if (read_full(initfd, buf, len) < 0)
		fail("read bootstrap");
	buf[len] = '\0';
	t_bootstrap = mono_ns();

	// The bootstrap is a list of NUL-terminated key=value entries.
	// The next entry's start is taken before the '=' is cut: values may
	// hold '=' (argv, env, paths).
	for (p = buf, end = buf + len; p < end; p = next) {
		next = p + strlen(p) + 1;
		char *eq = strchr(p, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		if (!strcmp(p, "clone")) {
			cloneflags = strtoul(eq + 1, NULL, 10);
		} else if (!strcmp(p, "join")) {
			// join=<type>:<path>
			char *colon = strchr(eq + 1, ':');
			if (colon == NULL || nns == MAX_NS)
				fail("bad join entry");
			*colon = '\0';
			nss[nns].type = ns_type(eq + 1);
			if (nss[nns].type == 0)
				fail("unknown namespace type %s", eq + 1);
			nss[nns].path = colon + 1;
			nss[nns].fd = -1;
			nns++;
		} else if (!strcmp(p, "uidmap")) {
			uidmap = eq + 1;
		} else if (!strcmp(p, "gidmap")) {
			gidmap = eq + 1;
		} else if (!strcmp(p, "setgroups")) {
			setgroups = eq + 1;
		} else if (!strcmp(p, "oom")) {
			oom = eq + 1;
		} else if (!strcmp(p, "timens")) {
			timens = eq + 1;
		} else if (!strcmp(p, "cgtask")) {
			if (ncg == MAX_CG)
				fail("too many cgroup hierarchies");
			cgtasks[ncg++] = eq + 1;
		} else if (!strcmp(p, "cgv2mk")) {
			cgv2mk = 1;
		} else if (!strcmp(p, "cgv2")) {
			cgv2 = eq + 1;
		} else if (!exec_entry(&ex, p, eq + 1)) {
			init_entry(&in, p, eq + 1);
		}
	}

	// A process in the host's user namespace can lower its OOM score only
	// before it enters a new user namespace.
	if (oom != NULL)
		nsexec_write_file("/proc/self/oom_score_adj", oom);

	// Join the container's cgroups while the host's /sys/fs/cgroup is still
	// our view. A single thread writing "0" to a v1 tasks file moves itself
	// without the kernel's global threadgroup lock, whose RCU grace period
	// would cost milliseconds; v2 is joined by cloning into it below.
	for (i = 0; i < ncg; i++)
		nsexec_write_file(cgtasks[i], "0");
	if (cgv2 != NULL) {
		char procs[4096];
		if (cgv2mk && mkdir(cgv2, 0755) < 0 && errno != EEXIST)
			fail("make cgroup %s", cgv2);
		cgv2fd = openat(AT_FDCWD, cgv2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgv2fd < 0)
			fail("open cgroup %s", cgv2);
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgv2);
		cgv2procs = openat(AT_FDCWD, procs, O_WRONLY | O_CLOEXEC);
		if (cgv2procs < 0)
			fail("open %s", procs);
		mustfork = 1;
	}

	// Open every path before joining any namespace: after a mount or pid
	// namespace change the same paths name other things, or nothing.
	for (i = 0; i < nns; i++) {
		nss[i].fd = openat(AT_FDCWD, nss[i].path, O_RDONLY | O_CLOEXEC);
		if (nss[i].fd < 0)
			fail("open namespace %s", nss[i].path);
	}
	// Join while we still hold the host's privileges, then the user
	// namespace, then the mount namespace last (it changes our root).
	for (i = 0; i < nns; i++)
		if (nss[i].type != CLONE_NEWUSER && nss[i].type != CLONE_NEWNS)
			join(&nss[i]);
	for (i = 0; i < nns; i++)
		if (nss[i].type == CLONE_NEWUSER)
			join(&nss[i]);
	for (i = 0; i < nns; i++)
		if (nss[i].type == CLONE_NEWNS)
			join(&nss[i]);
	for (i = 0; i < nns; i++)
		if (nss[i].type == CLONE_NEWPID || nss[i].type == CLONE_NEWTIME)
			mustfork = 1;

	if (cloneflags & CLONE_NEWUSER) {
		char ack;
		if (unshare(CLONE_NEWUSER) < 0)
			fail("unshare user namespace");
		// Only a process in the parent user namespace may write
		// arbitrary mappings: ask berth-runtime to do it.
		if (uidmap != NULL || gidmap != NULL) {
			const char *req = "{\"type\":\"usermap\"}\n";
			write_full(initfd, req, strlen(req));
			if (read_full(initfd, &ack, 1) < 0 || ack != 'A')
				fail("wait for user namespace mappings");
		}
		(void)setgroups;
		if (setresgid(0, 0, 0) < 0)
			fail("setresgid to 0 in the new user namespace");
		if (setresuid(0, 0, 0) < 0)
			fail("setresuid to 0 in the new user namespace");
		// Entering a user namespace resets dumpability; the parent must
		// still be able to read /proc/<pid>/ of this process.
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		cloneflags &= ~CLONE_NEWUSER;
	}
	// A new pid namespace is made by the fork below (clone flags), not
	// by unshare: a failed clone then leaves no half-used namespace
	// behind, so the fallback fork can still create the init.
	forkflags = cloneflags & CLONE_NEWPID;
	cloneflags &= ~CLONE_NEWPID;
	if (cloneflags != 0 && unshare(cloneflags) < 0)
		fail("unshare namespaces 0x%lx", cloneflags);
	t_unshared = mono_ns();
	if (forkflags != 0 || (cloneflags & CLONE_NEWTIME))
		mustfork = 1;
	if (timens != NULL && (cloneflags & CLONE_NEWTIME))
		nsexec_write_file("/proc/self/timens_offsets", timens);

	if (in.trace)
		stage_trace();
	if (!mustfork) {
		snprintf(line, sizeof(line), "{\"type\":\"pid\",\"pid\":%d}\n", getpid());
		write_full(initfd, line, strlen(line));
		run_stage(&ex, &in);
		free(buf);
		return;
	}

	// A new or joined pid (or time) namespace applies to children only.
	// The container's init must end up a child of berth-runtime, so `run`
	// can wait for it: CLONE_PARENT does that directly, and berth-runtime
	// is also a child subreaper for the clone3 case. This process exits.
	child = -1;
	if (cgv2fd >= 0) {
		struct berth_clone_args args;
		memset(&args, 0, sizeof(args));
		// The kernel refuses CLONE_PARENT together with
		// CLONE_INTO_CGROUP: the init becomes our child and, when we
		// exit, berth-runtime's (a child subreaper).
		args.flags = CLONE_INTO_CGROUP | forkflags;
		args.exit_signal = SIGCHLD;
		args.cgroup = (uint64_t)cgv2fd;
		child = syscall(SYS_clone3, &args, sizeof(args));
		if (child == 0) {
			close(cgv2fd);
			close(cgv2procs);
			run_stage(&ex, &in);
			free(buf);
			return;
		}
	}
	if (child < 0) {
		// No clone3 into the cgroup (older kernel, or the cgroup refuses
		// a process in a user namespace): fork, and the child moves
		// itself through cgroup.procs, opened while we were host root.
		child = syscall(SYS_clone, CLONE_PARENT | forkflags | SIGCHLD, 0, 0, 0, 0);
		if (child < 0)
			fail("clone container init");
		if (child == 0) {
			if (cgv2procs >= 0 && write(cgv2procs, "0", 1) != 1)
				fail("join cgroup %s", cgv2);
			if (cgv2fd >= 0)
				close(cgv2fd);
			if (cgv2procs >= 0)
				close(cgv2procs);
			run_stage(&ex, &in);
			free(buf);
			return;
		}
	}
	snprintf(line, sizeof(line), "{\"type\":\"pid\",\"pid\":%d}\n", child);
	write_full(initfd, line, strlen(line));
	_exit(0);
}
