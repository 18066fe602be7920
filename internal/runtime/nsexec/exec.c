// The exec part of the C stage: for an `exec` whose process needs nothing
// that only Go does (no terminal, I/O priority or scheduler; see
// container.Exec), set the process up here and execve it, so that no Go
// runtime starts inside the container. It does what the init's Go stage
// does for an exec (container.prepareProcess and finalProcess.exec), in the
// same order; the parent has already resolved capability names, compiled
// the seccomp filter and built argv and the environment.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nsexec.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define MAX_GROUPS 65536

static char **push(char **v, int *n, char *s)
{
	v = realloc(v, sizeof(char *) * (size_t)(*n + 2));
	if (v == NULL) {
		errno = ENOMEM;
		nsexec_fail("exec: alloc");
	}
	v[(*n)++] = s;
	v[*n] = NULL;
	return v;
}

int exec_entry(struct exec_cfg *c, const char *key, char *val)
{
	if (!strcmp(key, "exec")) {
		c->on = 1;
	} else if (!strcmp(key, "keepfds")) {
		c->keepfds = atoi(val);
	} else if (!strcmp(key, "nnp")) {
		c->nnp = !strcmp(val, "1");
	} else if (!strcmp(key, "seccomp")) {
		c->seccomp = val;
	} else if (!strcmp(key, "uid")) {
		c->uid = (uint32_t)strtoul(val, NULL, 10);
	} else if (!strcmp(key, "gid")) {
		c->gid = (uint32_t)strtoul(val, NULL, 10);
	} else if (!strcmp(key, "groups")) {
		c->groups = val;
	} else if (!strcmp(key, "umask")) {
		c->has_umask = 1;
		c->umask = (unsigned int)strtoul(val, NULL, 8);
	} else if (!strcmp(key, "caps")) {
		if (sscanf(val, "%lx,%lx,%lx,%lx,%lx", &c->caps[0], &c->caps[1], &c->caps[2], &c->caps[3], &c->caps[4]) != 5)
			nsexec_fail("exec: bad caps entry %s", val);
	} else if (!strcmp(key, "cwd")) {
		c->cwd = val;
	} else if (!strcmp(key, "rlimit")) {
		unsigned long long soft, hard;
		int res;
		if (c->nrlimits == EXEC_MAX_RLIMITS || sscanf(val, "%d,%llu,%llu", &res, &soft, &hard) != 3)
			nsexec_fail("exec: bad rlimit entry %s", val);
		c->rlimits[c->nrlimits].resource = res;
		c->rlimits[c->nrlimits].lim.rlim_cur = soft;
		c->rlimits[c->nrlimits].lim.rlim_max = hard;
		c->nrlimits++;
	} else if (!strcmp(key, "home")) {
		c->add_home = 1;
	} else if (!strcmp(key, "arg")) {
		c->argv = push(c->argv, &c->argc, val);
	} else if (!strcmp(key, "env")) {
		c->envp = push(c->envp, &c->envc, val);
	} else {
		return 0;
	}
	return 1;
}

// errstr is errno's text as Go spells it, so messages read as the Go
// stage's do ("no such file or directory" is what berthd looks for to
// answer 127).
static const char *errstr(int e) { return nsexec_errstr(e); }

#define failmsg nsexec_failmsg

// add_home appends HOME=<dir of uid in the container's /etc/passwd>, or
// HOME=/ without an entry, as runc and Docker do.
static void add_home(struct exec_cfg *c)
{
	static char home[PATH_MAX + 8];
	char line[4096];
	const char *dir = "/";
	FILE *f = fopen("/etc/passwd", "re");
	if (f != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char *field[7];
			int n = 0;
			char *p = line;
			line[strcspn(line, "\n")] = '\0';
			while (n < 7) {
				field[n++] = p;
				p = strchr(p, ':');
				if (p == NULL)
					break;
				*p++ = '\0';
			}
			if (n < 6 || field[2][0] == '\0')
				continue;
			char *end;
			unsigned long uid = strtoul(field[2], &end, 10);
			if (*end != '\0' || uid != c->uid)
				continue;
			if (field[5][0] != '\0') {
				snprintf(home, sizeof(home), "HOME=%s", field[5]);
				dir = NULL;
			}
			break;
		}
		fclose(f);
	}
	if (dir != NULL)
		snprintf(home, sizeof(home), "HOME=%s", dir);
	c->envp = push(c->envp, &c->envc, home);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

// install_seccomp loads the compiled filter with one seccomp(2) call.
static void install_seccomp(const char *spec)
{
	char *colon;
	unsigned long flags = strtoul(spec, &colon, 10);
	if (*colon != ':')
		failmsg("exec: bad seccomp entry");
	const char *hex = colon + 1;
	size_t n = strlen(hex);
	if (n == 0 || n % 16 != 0 || n / 16 > BPF_MAXINSNS)
		failmsg("exec: bad seccomp program length %zu", n);
	size_t count = n / 16;
	unsigned char *raw = malloc(n / 2);
	if (raw == NULL)
		nsexec_fail("exec: alloc");
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			failmsg("exec: bad seccomp program");
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	// The encoding is the little-endian struct sock_filter the parent
	// built; this is an x86-64/arm64 (little-endian) runtime.
	struct sock_filter *filter = (struct sock_filter *)raw;
	struct sock_fprog prog = {.len = (unsigned short)count, .filter = filter};
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (r < 0 && errno == EACCES)
		nsexec_fail("seccomp: install filter (no_new_privs is not set and the thread lacks CAP_SYS_ADMIN)");
	if (r < 0)
		nsexec_fail("seccomp: install filter (flags %#lx)", flags);
	if (r > 0)
		failmsg("seccomp: install filter: thread %ld could not be synchronised (TSYNC)", r);
	free(raw);
}

static void setup_user(struct exec_cfg *c)
{
	gid_t *groups = NULL;
	size_t ng = 0;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		nsexec_fail("keep capabilities");
	if (c->groups != NULL && c->groups[0] != '\0') {
		const char *p = c->groups;
		groups = calloc(MAX_GROUPS, sizeof(gid_t));
		if (groups == NULL)
			nsexec_fail("exec: alloc");
		while (*p != '\0' && ng < MAX_GROUPS) {
			char *end;
			groups[ng++] = (gid_t)strtoul(p, &end, 10);
			p = (*end == ',') ? end + 1 : end;
		}
	}
	// Raw syscalls: they act on this (only) thread, as the Go stage's do.
	// setgroups is refused in a user namespace whose gid_map was written
	// with setgroups denied; an empty list is then the only possibility.
	if (syscall(SYS_setgroups, ng, groups) < 0 && !(ng == 0 && errno == EPERM))
		nsexec_fail("setgroups");
	if (syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0)
		nsexec_fail("setresgid %u", c->gid);
	if (syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0)
		nsexec_fail("setresuid %u", c->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		nsexec_fail("clear keep capabilities");
	umask(c->has_umask ? c->umask : 022);
	free(groups);
}

struct caps3 {
	uint64_t e, p, i;
};

static struct caps3 capget3(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		nsexec_fail("caps: apply: capget");
	struct caps3 c = {
		.e = (uint64_t)d[1].effective << 32 | d[0].effective,
		.p = (uint64_t)d[1].permitted << 32 | d[0].permitted,
		.i = (uint64_t)d[1].inheritable << 32 | d[0].inheritable,
	};
	return c;
}

static int capset3(struct caps3 c)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {
		{.effective = (uint32_t)c.e, .permitted = (uint32_t)c.p, .inheritable = (uint32_t)c.i},
		{.effective = (uint32_t)(c.e >> 32), .permitted = (uint32_t)(c.p >> 32), .inheritable = (uint32_t)(c.i >> 32)},
	};
	return (int)syscall(SYS_capset, &h, d);
}

static int last_cap(void)
{
	char b[16] = {0};
	int fd = openat(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, b, sizeof(b) - 1);
		close(fd);
		if (n > 0)
			return atoi(b);
	}
	return CAP_LAST_CAP;
}

// apply_caps is caps.Apply on masks: capabilities this process does not
// hold are left out, the bounding set is reduced (raising CAP_SETPCAP from
// the permitted set for that), then effective/permitted/inheritable are
// set and the ambient set raised.
static void apply_caps(struct exec_cfg *c)
{
	int last = last_cap();
	uint64_t all = last >= 63 ? ~0ULL : ((1ULL << (last + 1)) - 1);
	uint64_t bnd = c->caps[0] & all, eff = c->caps[1] & all, prm = c->caps[2] & all;
	uint64_t inh = c->caps[3] & all, amb = c->caps[4] & all;
	struct caps3 cur = capget3();
	eff &= cur.p;
	prm &= cur.p;
	inh &= cur.p;
	amb &= cur.p;
	for (int k = 0; k <= last; k++) {
		uint64_t bit = 1ULL << k;
		if ((eff & bit) && !(prm & bit))
			failmsg("caps: apply: capability %d is in the effective set but not in the permitted set", k);
		if ((amb & bit) && !((prm & bit) && (inh & bit)))
			failmsg("caps: apply: ambient capability %d must also be in the permitted and inheritable sets", k);
	}
	// With CAP_SETPCAP effective (the usual root init) every capability
	// outside the set is dropped unread: dropping one already gone is a
	// no-op. Without it, only what is still there must go, and needs
	// CAP_SETPCAP raised first.
	int can_drop = (cur.e & (1ULL << CAP_SETPCAP)) != 0;
	for (int k = 0; k <= last; k++) {
		if (bnd & (1ULL << k))
			continue;
		if (!can_drop) {
			int in = prctl(PR_CAPBSET_READ, k, 0, 0, 0);
			if (in < 0)
				nsexec_fail("caps: apply: read bounding set for %d", k);
			if (in == 0)
				continue;
			if (!(cur.p & (1ULL << CAP_SETPCAP)))
				failmsg("caps: apply: cannot drop capability %d from the bounding set: CAP_SETPCAP is not in the permitted set", k);
			cur.e |= 1ULL << CAP_SETPCAP;
			if (capset3(cur) < 0)
				nsexec_fail("caps: apply: raise CAP_SETPCAP to drop the bounding set");
			can_drop = 1;
		}
		if (prctl(PR_CAPBSET_DROP, k, 0, 0, 0) < 0)
			nsexec_fail("caps: apply: drop capability %d from the bounding set", k);
	}
	struct caps3 want = {.e = eff, .p = prm, .i = inh};
	if (capset3(want) < 0)
		nsexec_fail("caps: apply: set effective/permitted/inheritable: capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		if (!(errno == EINVAL && amb == 0))
			nsexec_fail("caps: apply: clear ambient set");
	}
	for (int k = 0; k <= last; k++)
		if ((amb & (1ULL << k)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, k, 0, 0) < 0)
			nsexec_fail("caps: apply: raise ambient capability %d", k);
}

// look_path resolves argv[0] against the container's PATH, as exec.LookPath
// does (and with its messages).
static const char *look_path(struct exec_cfg *c)
{
	static char buf[PATH_MAX];
	const char *name = c->argv[0];
	struct stat st;
	if (strchr(name, '/') != NULL) {
		if (stat(name, &st) < 0)
			failmsg("exec: \"%s\": stat %s: %s", name, name, errstr(errno));
		return name;
	}
	const char *path = NULL;
	for (int i = 0; i < c->envc; i++)
		if (!strncmp(c->envp[i], "PATH=", 5))
			path = c->envp[i] + 5;
	if (path == NULL || path[0] == '\0')
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	const char *p = path;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		if (len == 0)
			snprintf(buf, sizeof(buf), "./%s", name);
		else
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, name);
		if (stat(buf, &st) == 0 && !S_ISDIR(st.st_mode) && (st.st_mode & 0111))
			return buf;
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	failmsg("exec: \"%s\": executable file not found in $PATH", name);
}

// cloexec_from marks every descriptor >= from close-on-exec, for kernels
// without close_range(CLOSE_RANGE_CLOEXEC) (before 5.11).
static void cloexec_from(int from)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		nsexec_fail("list fds");
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end != '\0' || end == e->d_name || fd < from || fd == dirfd(d))
			continue;
		int fl = fcntl((int)fd, F_GETFD);
		if (fl >= 0 && fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC) < 0)
			nsexec_fail("close-on-exec fd %ld", fd);
	}
	closedir(d);
}

void exec_process(struct exec_cfg *c)
{
	// Wait until the parent knows our pid (ExecGo): an error reported
	// before the pid line would leave this process to be reaped by
	// whoever inherits it, charged to the container's pids cgroup.
	char go;
	ssize_t n;
	while ((n = read(c->initfd, &go, 1)) < 0 && errno == EINTR)
		;
	if (n != 1 || go != EXEC_GO)
		_exit(1);
	exec_final(c, exec_prepare(c));
}

const char *exec_prepare(struct exec_cfg *c)
{
	if (c->argc == 0)
		failmsg("exec: process args must not be empty");
	// No descriptor of the runtime's may reach the container
	// (CVE-2024-21626): everything past stdio and the preserved fds is
	// closed at execve (the init socket too: its EOF tells the parent the
	// execve happened).
	if (syscall(SYS_close_range, c->keepfds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		cloexec_from(c->keepfds);
	if (c->add_home)
		add_home(c);
	if (c->envp == NULL)
		c->envp = push(c->envp, &c->envc, NULL), c->envc = 0;
	if (c->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		nsexec_fail("set no_new_privs");
	// Without no_new_privs only a holder of CAP_SYS_ADMIN may install a
	// filter: before the credentials change. With it, last.
	if (c->seccomp != NULL && !c->nnp)
		install_seccomp(c->seccomp);
	setup_user(c);
	const char *cwd = (c->cwd != NULL && c->cwd[0] != '\0') ? c->cwd : "/";
	if (chdir(cwd) < 0)
		failmsg("chdir to cwd (\"%s\") set in config.json failed: %s", cwd, errstr(errno));
	// A working directory reached through a leaked host fd would be
	// outside our root: getcwd(2) says "(unreachable)" or ENOENT for those
	// (a seccomp profile may refuse getcwd itself, which says nothing).
	{
		char wd[PATH_MAX];
		long r = syscall(SYS_getcwd, wd, sizeof(wd));
		if ((r < 0 && errno == ENOENT) || (r > 0 && wd[0] != '/'))
			failmsg("current working directory \"%s\" is outside of the container's root", cwd);
	}
	apply_caps(c);
	return look_path(c);
}

void exec_final(struct exec_cfg *c, const char *path)
{
	// Last, so a small RLIMIT_AS or RLIMIT_NPROC limits the container's
	// process, not the setup.
	for (int i = 0; i < c->nrlimits; i++)
		if (setrlimit(c->rlimits[i].resource, &c->rlimits[i].lim) < 0)
			nsexec_fail("setrlimit %d", c->rlimits[i].resource);
	if (c->seccomp != NULL && c->nnp)
		install_seccomp(c->seccomp);
	execve(path, c->argv, c->envp);
	failmsg("exec %s: %s", path, errstr(errno));
}
