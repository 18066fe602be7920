// The init part of the C stage: for a container whose setup needs nothing
// that only Go does (see container.cInit), do what the init's Go stage does
// (container.initContainer) right here, so that no Go runtime starts in the
// container: join the cgroups, set up the root filesystem from the plan that
// rootfs.Compile made, pivot, set the hostname and sysctls, finish the
// filesystem, prepare the process (exec.c), report "ready", wait for
// `start` on the exec fifo, and execve.
//
// The plan carries every decision that depends only on the spec; what
// depends on the filesystem at this moment is decided here exactly as
// internal/runtime/rootfs decides it, with the same safety rules: every
// destination is opened with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS)
// from a handle on the rootfs, its real path must lie strictly inside the
// rootfs and outside /proc (bar the lxcfs files), and every mount targets
// the opened handle through /proc/self/fd/N.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "mountapi.h"
#include "nsexec.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif

#define fail nsexec_fail

static void *push_any(void *v, int *n, size_t size)
{
	v = realloc(v, size * (size_t)(*n + 1));
	if (v == NULL) {
		errno = ENOMEM;
		fail("init: alloc");
	}
	memset((char *)v + size * (size_t)*n, 0, size);
	(*n)++;
	return v;
}

#define PUSH(arr, n) ((arr) = push_any((arr), &(n), sizeof(*(arr))), &(arr)[(n)-1])

static unsigned long ul(const char *s) { return strtoul(s, NULL, 10); }

int init_entry(struct init_cfg *c, const char *key, char *val)
{
	struct init_mount *m = c->nmounts > 0 ? &c->mounts[c->nmounts - 1] : NULL;

	if (!strcmp(key, "init")) {
		c->on = 1;
	} else if (!strcmp(key, "fifofd")) {
		c->fifofd = atoi(val);
	} else if (!strcmp(key, "startsock")) {
		c->startsock = 1;
	} else if (!strcmp(key, "waitlimits")) {
		c->waitlimits = 1;
	} else if (!strcmp(key, "cglate")) {
		const char **t = PUSH(c->cglate, c->ncglate);
		*t = val;
	} else if (!strcmp(key, "cgroupns")) {
		c->cgroupns = 1;
	} else if (!strcmp(key, "incgroupns")) {
		c->cgroupns_any = 1;
	} else if (!strcmp(key, "rootfs")) {
		c->rootfs = val;
	} else if (!strcmp(key, "prop")) {
		c->prop = ul(val);
	} else if (!strcmp(key, "finalprop")) {
		c->finalprop = ul(val);
	} else if (!strcmp(key, "m")) {
		m = PUSH(c->mounts, c->nmounts);
		m->kind = atoi(val);
	} else if (!strncmp(key, "m.", 2)) {
		const char *k = key + 2;
		if (m == NULL)
			fail("init: mount entry %s before m=", key);
		if (!strcmp(k, "src"))
			m->src = val;
		else if (!strcmp(k, "dst"))
			m->dst = val;
		else if (!strcmp(k, "type"))
			m->type = val;
		else if (!strcmp(k, "flags"))
			m->flags = ul(val);
		else if (!strcmp(k, "data"))
			m->data = val;
		else if (!strcmp(k, "file"))
			m->file = 1;
		else if (!strcmp(k, "keepmode"))
			m->keepmode = 1;
		else if (!strcmp(k, "remount"))
			m->has_remount = 1, m->remount = ul(val);
		else if (!strcmp(k, "clear"))
			m->clear = ul(val);
		else if (!strcmp(k, "prop")) {
			if (m->nprop == INIT_MAX_PROP)
				fail("init: too many propagation words");
			m->prop[m->nprop++] = ul(val);
		} else if (!strcmp(k, "rec")) {
			unsigned long long s, cl;
			if (sscanf(val, "%llu,%llu", &s, &cl) != 2)
				fail("init: bad m.rec %s", val);
			m->rec = 1, m->recset = s, m->recclr = cl;
		} else if (!strcmp(k, "cgattrs"))
			m->cgattrs = atoi(val);
		else
			fail("init: unknown mount entry %s", key);
	} else if (!strcmp(key, "dev")) {
		struct init_dev *d = PUSH(c->devs, c->ndevs);
		int off = 0;
		if (sscanf(val, "%u,%u,%u,%u,%u,%u,%n", &d->kind, &d->major, &d->minor, &d->mode, &d->uid, &d->gid, &off) != 6 || off == 0)
			fail("init: bad dev entry %s", val);
		d->path = val + off;
	} else if (!strcmp(key, "devlinks")) {
		c->devlinks = 1;
	} else if (!strcmp(key, "hostname")) {
		c->hostname = val;
	} else if (!strcmp(key, "domainname")) {
		c->domainname = val;
	} else if (!strcmp(key, "mkcwd")) {
		c->mkcwd = val;
	} else if (!strcmp(key, "lo")) {
		c->lo = 1;
	} else if (!strcmp(key, "sysctl")) {
		const char **t = PUSH(c->sysctls, c->nsysctls);
		*t = val;
	} else if (!strcmp(key, "ropath")) {
		const char **t = PUSH(c->ropaths, c->nropaths);
		*t = val;
	} else if (!strcmp(key, "mask")) {
		const char **t = PUSH(c->masks, c->nmasks);
		*t = val;
	} else if (!strcmp(key, "delayro")) {
		struct init_delayro *d = PUSH(c->delayro, c->ndelayro);
		if ((val[0] != '0' && val[0] != '1') || val[1] != ':')
			fail("init: bad delayro entry");
		d->rec = val[0] == '1';
		d->dest = val + 2;
	} else if (!strcmp(key, "rootro")) {
		c->rootro = 1;
	} else if (!strcmp(key, "trace")) {
		c->trace = 1;
	} else if (!strcmp(key, "consolefd")) {
		c->consolefd = atoi(val);
	} else if (!strcmp(key, "consolesize")) {
		if (sscanf(val, "%hu,%hu", &c->rows, &c->cols) != 2)
			fail("init: bad consolesize %s", val);
	} else {
		return 0;
	}
	return 1;
}

// errmsg is fail without the automatic errno suffix.
#define errmsg nsexec_failmsg

static char *fdpath(int fd)
{
	static char b[4][32];
	static int i;
	i = (i + 1) % 4;
	snprintf(b[i], sizeof(b[i]), "/proc/self/fd/%d", fd);
	return b[i];
}

// The setup of one container's filesystem (rootfs.setup's counterpart).
static int rootfd = -1;
static char rootpath[PATH_MAX];
static size_t rootlen;

static int open_in_root(const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";
	for (int i = 0; i < 4; i++) {
		long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN)
			break;
	}
	return -1;
}

static char *dirname_of(const char *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s", p);
	char *slash = strrchr(buf, '/');
	if (slash == NULL)
		snprintf(buf, size, ".");
	else if (slash == buf)
		buf[1] = '\0';
	else
		*slash = '\0';
	return buf;
}

static const char *basename_of(const char *p)
{
	const char *slash = strrchr(p, '/');
	return slash ? slash + 1 : p;
}

// mkdir_in_root opens directory path (inside the rootfs), creating it and
// its missing parents with mode 0755. Each prefix is resolved inside the
// root, so a symlink on the way cannot lead out; a dangling symlink is
// followed (inside the root) and its target created, as SecureJoin does.
static int mkdir_in_root_depth(const char *path, int depth)
{
	int fd = open_in_root(path);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (depth > 40) {
		errno = ELOOP;
		return -1;
	}
	char parent[PATH_MAX];
	dirname_of(path, parent, sizeof(parent));
	const char *base = basename_of(path);
	if (!strcmp(base, "") || !strcmp(base, ".") || !strcmp(base, "..")) {
		errno = ENOENT;
		return -1;
	}
	int pfd = mkdir_in_root_depth(parent, depth + 1);
	if (pfd < 0)
		return -1;
	if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		close(pfd);
		errno = e;
		return -1;
	}
	fd = openat(pfd, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		// A symlink: resolve its target inside the root and create that.
		char target[PATH_MAX], next[PATH_MAX * 2];
		ssize_t n = readlinkat(pfd, base, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			if (target[0] == '/')
				snprintf(next, sizeof(next), "%s", target);
			else
				snprintf(next, sizeof(next), "%s/%s", parent, target);
			close(pfd);
			return mkdir_in_root_depth(next, depth + 1);
		}
		errno = ENOTDIR;
	}
	int e = errno;
	close(pfd);
	errno = e;
	return fd;
}

static int mkdir_in_root(const char *path) { return mkdir_in_root_depth(path, 0); }

// create_file makes a missing file destination: its directory is created,
// then an empty regular file with mknod (which follows no symlink).
static int create_file(const char *path)
{
	char dir[PATH_MAX];
	dirname_of(path, dir, sizeof(dir));
	int dfd = mkdir_in_root(dir);
	if (dfd < 0)
		return -1;
	const char *base = basename_of(path);
	if (mknodat(dfd, base, S_IFREG | 0644, 0) < 0 && errno != EEXIST) {
		int e = errno;
		close(dfd);
		errno = e;
		return -1;
	}
	int fd = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	close(dfd);
	if (fd < 0) {
		errno = e;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || S_ISLNK(st.st_mode)) {
		close(fd);
		errmsg("%s became a symlink while it was created", path);
	}
	return fd;
}

struct mountpoint {
	int fd;
	char real[PATH_MAX]; // the host path
	const char *rel;     // inside the container (points into real)
	int created;
};

// open_mountpoint opens dest, creating it when missing (a file when file
// is set), and checks where it really is. ctx prefixes error messages.
static void open_mountpoint(struct mountpoint *mp, const char *ctx, const char *dest, int file)
{
	mp->created = 0;
	mp->fd = open_in_root(dest);
	if (mp->fd < 0 && errno == ENOENT) {
		mp->fd = file ? create_file(dest) : mkdir_in_root(dest);
		mp->created = 1;
	}
	if (mp->fd < 0)
		fail("%s: open destination", ctx);
	ssize_t n = readlink(fdpath(mp->fd), mp->real, sizeof(mp->real) - 1);
	if (n < 0)
		fail("%s: readlink", ctx);
	mp->real[n] = '\0';
	if (strcmp(mp->real, rootpath) == 0)
		errmsg("%s: destination resolves to the container's root", ctx);
	if (strncmp(mp->real, rootpath, rootlen) != 0 || mp->real[rootlen] != '/')
		errmsg("%s: destination resolves to %s, outside the rootfs", ctx, mp->real);
	mp->rel = mp->real + rootlen;
}

static const char *proc_allowed[] = {
	"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps",
	"/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev",
	"/proc/sys/kernel/ns_last_pid", NULL,
};

// check_proc refuses mounts that cover /proc or a path under it (see
// rootfs.checkProc).
static void check_proc(const char *ctx, const char *rel, const char *fstype, const char *bindsrc)
{
	if (strcmp(rel, "/proc") != 0 && strncmp(rel, "/proc/", 6) != 0)
		return;
	if (!strcmp(rel, "/proc")) {
		struct statfs sf;
		if (fstype != NULL && !strcmp(fstype, "proc"))
			return;
		if (bindsrc != NULL && statfs(bindsrc, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC)
			return;
		errmsg("%s: only a proc filesystem may be mounted on /proc", ctx);
	}
	for (int i = 0; proc_allowed[i] != NULL; i++)
		if (!strcmp(rel, proc_allowed[i]))
			return;
	errmsg("%s: %s is inside /proc: a container cannot reach host paths through /proc", ctx, rel);
}

// reopen opens the top of the mount just made on mp (mp->fd still names
// the covered directory); the path must not have moved meanwhile.
static int reopen(const char *ctx, struct mountpoint *mp)
{
	char p[PATH_MAX];
	int top = open_in_root(mp->rel);
	if (top < 0)
		fail("%s: reopen destination", ctx);
	ssize_t n = readlink(fdpath(top), p, sizeof(p) - 1);
	if (n < 0 || (p[n] = '\0', strcmp(p, mp->real) != 0))
		errmsg("%s: destination %s moved while it was mounted on", ctx, mp->rel);
	return top;
}

static unsigned long statfs_flags(const struct statfs *st)
{
	unsigned long out = 0;
	long f = st->f_flags;
	if (f & ST_RDONLY) out |= MS_RDONLY;
	if (f & ST_NOSUID) out |= MS_NOSUID;
	if (f & ST_NODEV) out |= MS_NODEV;
	if (f & ST_NOEXEC) out |= MS_NOEXEC;
	if (f & ST_SYNCHRONOUS) out |= MS_SYNCHRONOUS;
	if (f & ST_MANDLOCK) out |= MS_MANDLOCK;
	if (f & ST_NOATIME) out |= MS_NOATIME;
	if (f & ST_NODIRATIME) out |= MS_NODIRATIME;
	if (f & ST_RELATIME) out |= MS_RELATIME;
	if (f & ST_NOSYMFOLLOW) out |= MS_NOSYMFOLLOW;
	return out;
}

#define LOCKABLE (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

// remount_bind sets a bind's flags, keeping locked ones (rootfs.remountBind).
static void remount_bind(const char *ctx, int top, unsigned long flags, unsigned long clear)
{
	if (mount("", fdpath(top), "", flags, "") == 0)
		return;
	if (errno != EPERM)
		fail("%s: remount", ctx);
	struct statfs st;
	if (fstatfs(top, &st) < 0)
		fail("%s: statfs", ctx);
	unsigned long cur = statfs_flags(&st) & LOCKABLE;
	if (cur & clear)
		errmsg("%s: cannot clear locked flags", ctx);
	if (mount("", fdpath(top), "", flags | cur, "") < 0)
		fail("%s: remount (keeping locked flags)", ctx);
}

// after_mount: the bind remount, the propagation changes, then the
// recursive attributes (rootfs.afterMount).
static void after_mount(const char *ctx, struct mountpoint *mp, struct init_mount *m, int remount, int rec)
{
	if (!remount && m->nprop == 0 && !rec)
		return;
	int top = reopen(ctx, mp);
	if (remount)
		remount_bind(ctx, top, m->remount, m->clear);
	for (int i = 0; i < m->nprop; i++)
		if (mount("", fdpath(top), "", m->prop[i], "") < 0)
			fail("%s: set propagation", ctx);
	if (rec) {
		struct mount_attr a = {.attr_set = m->recset, .attr_clr = m->recclr};
		if (syscall(SYS_mount_setattr, top, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
			fail("%s: set recursive mount attributes", ctx);
	}
	close(top);
}

static void do_bind(const char *ctx, struct init_mount *m)
{
	struct mountpoint mp;
	open_mountpoint(&mp, ctx, m->dst, m->file);
	check_proc(ctx, mp.rel, NULL, m->src);
	if (mount(m->src, fdpath(mp.fd), "", m->flags, "") < 0)
		fail("%s", ctx);
	after_mount(ctx, &mp, m, m->has_remount, m->rec);
	close(mp.fd);
}

static void do_fs(const char *ctx, struct init_mount *m)
{
	struct mountpoint mp;
	char data[4096];
	open_mountpoint(&mp, ctx, m->dst, 0);
	check_proc(ctx, mp.rel, m->type, NULL);
	int n = snprintf(data, sizeof(data), "%s", m->data ? m->data : "");
	if (m->keepmode && !mp.created) {
		struct stat st;
		if (fstat(mp.fd, &st) < 0)
			fail("%s: stat", ctx);
		if (data[0] == '\0')
			n = snprintf(data, sizeof(data), "mode=%o", st.st_mode & 07777);
		else
			n = snprintf(data, sizeof(data), "mode=%o,%s", st.st_mode & 07777, m->data);
	}
	// mount(2) takes at most a page of options.
	if (n < 0 || n >= (int)sizeof(data))
		errmsg("%s: mount options too long", ctx);
	if (mount(m->src ? m->src : "", fdpath(mp.fd), m->type, m->flags, data) < 0)
		fail("%s", ctx);
	after_mount(ctx, &mp, m, 0, m->rec);
	close(mp.fd);
}

static void do_procsys(const char *ctx, struct init_mount *m)
{
	char lexical[PATH_MAX * 2], real[PATH_MAX];
	struct stat st;
	snprintf(lexical, sizeof(lexical), "%s%s", rootpath, m->dst);
	if (lstat(lexical, &st) == 0 && !S_ISDIR(st.st_mode))
		errmsg("%s: %s must be mounted on a real directory, %s is %s", ctx, m->type, m->dst,
		       S_ISLNK(st.st_mode) ? "a symlink" : "not a directory");
	int fd = mkdir_in_root(m->dst);
	if (fd < 0)
		fail("%s: open destination", ctx);
	ssize_t n = readlink(fdpath(fd), real, sizeof(real) - 1);
	if (n < 0)
		fail("%s: readlink", ctx);
	real[n] = '\0';
	if (strcmp(real, lexical) != 0)
		errmsg("%s: %s must be mounted on a real directory, %s goes through a symlink to %s", ctx, m->type,
		       m->dst, strncmp(real, rootpath, rootlen) == 0 ? real + rootlen : real);
	check_proc(ctx, m->dst, m->type, NULL);
	if (mount(m->src ? m->src : "", fdpath(fd), m->type, m->flags, m->data ? m->data : "") < 0)
		fail("%s", ctx);
	struct mountpoint mp = {.fd = fd};
	snprintf(mp.real, sizeof(mp.real), "%s", real);
	mp.rel = mp.real + rootlen;
	after_mount(ctx, &mp, m, 0, m->rec);
	close(fd);
}

// A line of /proc/self/cgroup.
struct cgline {
	char dir[256];     // "cpu,cpuacct", "systemd"; "" for the unified hierarchy
	char names[256];   // the same with NUL separators, for the fsconfig flags
	char name[64];     // a named hierarchy's name
	char path[PATH_MAX];
};

static int read_cgroups(struct cgline **out)
{
	static char buf[16384];
	int fd = openat(AT_FDCWD, "/proc/self/cgroup", O_RDONLY | O_CLOEXEC), n = 0;
	if (fd < 0)
		fail("open /proc/self/cgroup");
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0)
		fail("read /proc/self/cgroup");
	buf[len] = '\0';
	*out = NULL;
	for (char *line = buf, *next; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			errmsg("/proc/self/cgroup: malformed line \"%s\"", line);
		*c2 = '\0';
		struct cgline *l = PUSH(*out, n);
		snprintf(l->path, sizeof(l->path), "%s", c2 + 1);
		// controllers: "cpu,cpuacct" or "name=systemd" or ""
		char *ctl = c1 + 1, *dp = l->dir;
		for (char *tok = ctl, *comma; *tok != '\0'; tok = comma ? comma + 1 : tok + strlen(tok)) {
			comma = strchr(tok, ',');
			if (comma)
				*comma = '\0';
			const char *nm = tok;
			if (!strncmp(tok, "name=", 5)) {
				nm = tok + 5;
				snprintf(l->name, sizeof(l->name), "%s", nm);
			}
			dp += snprintf(dp, l->dir + sizeof(l->dir) - dp, "%s%s", dp == l->dir ? "" : ",", nm);
			if (dp >= l->dir + sizeof(l->dir))
				errmsg("/proc/self/cgroup: hierarchy name too long");
			if (comma == NULL)
				break;
		}
		snprintf(l->names, sizeof(l->names), "%s", ctl);
	}
	return n;
}

static int is_fallback(int e) { return e == EPERM || e == ENOSYS || e == EINVAL; }

// new_cgroup_mount: a fresh mount of the hierarchy moved (or the
// container's directory cloned out of it) onto target; -1 with errno set.
static int new_cgroup_mount(const char *fstype, struct cgline *l, int attrs, int target, int cgroupns)
{
	int fsfd = fsopen(fstype, FSOPEN_CLOEXEC), mfd = -1, tfd = -1, from, e;
	if (fsfd < 0)
		return -1;
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", fstype, 0) < 0)
		goto out;
	if (l->dir[0] != '\0') {
		// controllers are the comma-separated words without name=
		char words[256];
		snprintf(words, sizeof(words), "%s", l->names);
		for (char *tok = strtok(words, ","); tok != NULL; tok = strtok(NULL, ",")) {
			if (!strncmp(tok, "name=", 5))
				continue;
			if (fsconfig(fsfd, FSCONFIG_SET_FLAG, tok, NULL, 0) < 0)
				goto out;
		}
		if (l->name[0] != '\0' && fsconfig(fsfd, FSCONFIG_SET_STRING, "name", l->name, 0) < 0)
			goto out;
	}
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		goto out;
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, attrs);
	if (mfd < 0)
		goto out;
	from = mfd;
	const char *rel = l->path;
	while (*rel == '/')
		rel++;
	if (!cgroupns && *rel != '\0') {
		tfd = open_tree(mfd, rel, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (tfd < 0)
			goto out;
		from = tfd;
	}
	if (move_mount(from, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		goto out;
	errno = 0;
out:
	e = errno;
	close(fsfd);
	if (mfd >= 0)
		close(mfd);
	if (tfd >= 0)
		close(tfd);
	errno = e;
	return e == 0 ? 0 : -1;
}

// bind_host_cgroup binds the container's directory of the host's hierarchy
// onto mp (rootfs.bindHostCgroup).
static void bind_host_cgroup(const char *ctx, const char *fstype, struct cgline *l, struct mountpoint *mp, struct init_mount *m)
{
	char base[PATH_MAX];
	long want = CGROUP2_SUPER_MAGIC;
	struct statfs sf;
	snprintf(base, sizeof(base), "/sys/fs/cgroup");
	if (!strcmp(fstype, "cgroup")) {
		snprintf(base, sizeof(base), "/sys/fs/cgroup/%s", l->dir);
		want = CGROUP_SUPER_MAGIC;
	}
	if (statfs(base, &sf) < 0 || (long)sf.f_type != want)
		errmsg("%s: no %s hierarchy mounted at %s to bind from", ctx, fstype, base);
	int bfd = openat(AT_FDCWD, base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		fail("%s: open %s", ctx, base);
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	const char *rel = l->path;
	while (*rel == '/')
		rel++;
	long src = syscall(SYS_openat2, bfd, *rel ? rel : ".", &how, sizeof(how));
	close(bfd);
	if (src < 0)
		fail("%s: open %s%s", ctx, base, l->path);
	if (mount(fdpath((int)src), fdpath(mp->fd), "", MS_BIND, "") < 0)
		fail("%s", ctx);
	close((int)src);
	after_mount(ctx, mp, m, 1, m->rec);
}

static void attach_cgroup(const char *ctx, const char *fstype, struct cgline *l, struct mountpoint *mp, struct init_mount *m, int cgroupns)
{
	if (new_cgroup_mount(fstype, l, m->cgattrs, mp->fd, cgroupns) < 0) {
		if (!cgroupns && is_fallback(errno)) {
			bind_host_cgroup(ctx, fstype, l, mp, m);
			return;
		}
		fail("%s", ctx);
	}
	struct init_mount prop = *m;
	after_mount(ctx, mp, &prop, 0, 0);
}

static void do_cgroup(const char *ctx, struct init_mount *m, int cgroupns)
{
	struct statfs sf;
	struct cgline *lines;
	if (statfs("/sys/fs/cgroup", &sf) < 0)
		fail("%s: statfs /sys/fs/cgroup", ctx);
	int n = read_cgroups(&lines);
	if ((long)sf.f_type == CGROUP2_SUPER_MAGIC) {
		struct cgline *self = NULL;
		for (int i = 0; i < n; i++)
			if (lines[i].dir[0] == '\0')
				self = &lines[i];
		if (self == NULL)
			errmsg("%s: no unified hierarchy in /proc/self/cgroup", ctx);
		struct mountpoint mp;
		open_mountpoint(&mp, ctx, m->dst, 0);
		check_proc(ctx, mp.rel, "cgroup2", NULL);
		attach_cgroup(ctx, "cgroup2", self, &mp, m, cgroupns);
		close(mp.fd);
		free(lines);
		return;
	}
	// v1: a tmpfs with one directory per hierarchy (rootfs.mountCgroup1).
	struct init_mount tm = {
		.kind = INIT_MOUNT_FS, .src = "tmpfs", .dst = m->dst, .type = "tmpfs",
		.flags = MS_NOSUID | MS_NODEV | MS_NOEXEC, .data = "mode=755", .keepmode = 1,
		.nprop = m->nprop,
	};
	memcpy(tm.prop, m->prop, sizeof(tm.prop));
	do_fs(ctx, &tm);
	struct mountpoint dir;
	open_mountpoint(&dir, ctx, m->dst, 0);
	for (int i = 0; i < n; i++) {
		struct cgline *l = &lines[i];
		if (l->dir[0] == '\0')
			continue;
		if (strchr(l->dir, '/') || !strcmp(l->dir, ".") || !strcmp(l->dir, ".."))
			errmsg("/proc/self/cgroup: bad hierarchy name \"%s\"", l->dir);
		char sctx[1024];
		if (snprintf(sctx, sizeof(sctx), "%s: mount cgroup %s on %s/%s", ctx, l->dir, m->dst, l->dir) >= (int)sizeof(sctx))
			sctx[sizeof(sctx) - 1] = '\0'; // a message only: truncation is harmless
		if (mkdirat(dir.fd, l->dir, 0755) < 0 && errno != EEXIST)
			fail("%s: mkdir %s/%s", ctx, m->dst, l->dir);
		struct mountpoint sub;
		sub.fd = openat(dir.fd, l->dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub.fd < 0)
			fail("%s: open %s/%s", ctx, m->dst, l->dir);
		if (snprintf(sub.real, sizeof(sub.real), "%s/%s", dir.real, l->dir) >= (int)sizeof(sub.real))
			errmsg("%s: path too long", ctx);
		sub.rel = sub.real + rootlen;
		attach_cgroup(sctx, "cgroup", l, &sub, m, cgroupns);
		close(sub.fd);
		if (strchr(l->dir, ',') != NULL) {
			char words[256];
			snprintf(words, sizeof(words), "%s", l->dir);
			for (char *tok = strtok(words, ","); tok != NULL; tok = strtok(NULL, ","))
				if (symlinkat(l->dir, dir.fd, tok) < 0 && errno != EEXIST)
					fail("%s: symlink %s/%s", ctx, m->dst, tok);
		}
	}
	close(dir.fd);
	free(lines);
}

// make_device creates one node (rootfs.makeDevice; never in a user
// namespace here), binding the host's node when mknod is refused.
static void make_device(struct init_dev *d)
{
	char dir[PATH_MAX];
	dirname_of(d->path, dir, sizeof(dir));
	int dfd = mkdir_in_root(dir);
	if (dfd < 0)
		fail("device %s", d->path);
	const char *base = basename_of(d->path);
	dev_t dev = makedev(d->major, d->minor);
	if (mknodat(dfd, base, d->kind | d->mode, d->kind == S_IFIFO ? 0 : dev) < 0) {
		if (errno == EEXIST) {
			close(dfd);
			return;
		}
		if (errno != EPERM || d->kind == S_IFIFO)
			fail("device %s: mknod", d->path);
		// bind the host's node onto an empty file
		struct stat hst, st;
		if (stat(d->path, &hst) < 0)
			fail("device %s: host node", d->path);
		if ((hst.st_mode & S_IFMT) != d->kind || hst.st_rdev != dev)
			errmsg("device %s: host node %s is not the device %u:%u", d->path, d->path, d->major, d->minor);
		if (mknodat(dfd, base, S_IFREG, 0) < 0 && errno != EEXIST)
			fail("device %s: create mountpoint", d->path);
		int fd = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			fail("device %s", d->path);
		if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
			errmsg("device %s: mountpoint is a symlink or a directory", d->path);
		if (mount(d->path, fdpath(fd), "", MS_BIND, "") < 0)
			fail("device %s: mount %s on %s", d->path, d->path, d->path);
		close(fd);
		close(dfd);
		return;
	}
	int fd = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		fail("device %s", d->path);
	if ((st.st_mode & S_IFMT) != d->kind || (d->kind != S_IFIFO && st.st_rdev != dev))
		errmsg("device %s: the node was replaced while it was created", d->path);
	// mknod applied the umask: set the exact mode through the handle.
	if (fchmodat(AT_FDCWD, fdpath(fd), d->mode, 0) < 0)
		fail("device %s: chmod", d->path);
	if (fchownat(fd, "", d->uid, d->gid, AT_EMPTY_PATH) < 0)
		fail("device %s: chown", d->path);
	close(fd);
	close(dfd);
}

static void dev_links(void)
{
	int dfd = mkdir_in_root("/dev");
	struct stat st;
	if (dfd < 0)
		fail("/dev");
	if (unlinkat(dfd, "ptmx", 0) < 0 && errno != ENOENT)
		fail("remove /dev/ptmx");
	if (symlinkat("pts/ptmx", dfd, "ptmx") < 0)
		fail("symlink /dev/ptmx");
	const char *links[][2] = {
		{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"}, {"/proc/kcore", "core"},
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (!strcmp(links[i][1], "core") && lstat("/proc/kcore", &st) < 0)
			continue;
		if (symlinkat(links[i][0], dfd, links[i][1]) < 0 && errno != EEXIST)
			fail("symlink /dev/%s", links[i][1]);
	}
	close(dfd);
}

static void privatize_parent(const char *rootfs, unsigned long rootprop)
{
	unsigned long flag = (rootprop & MS_SLAVE) ? MS_SLAVE : MS_PRIVATE;
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", rootfs);
	for (;;) {
		if (mount("", p, "", flag, "") == 0)
			return;
		if (errno != EINVAL || !strcmp(p, "/"))
			fail("set propagation of the mount holding %s (at %s)", rootfs, p);
		char parent[PATH_MAX];
		dirname_of(p, parent, sizeof(parent));
		snprintf(p, sizeof(p), "%s", parent);
	}
}

static int initfd_ = -1;
static int tracing;

static void send_line(int fd, const char *s);

// ctrace reports a phase with its CLOCK_MONOTONIC time, as the Go init's
// trace messages do (BERTH_RUNTIME_TRACE=1 in create's environment).
static void ctrace(const char *phase)
{
	struct timespec ts;
	char line[160];
	if (!tracing)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(line, sizeof(line), "{\"type\":\"trace\",\"message\":\"C %s\",\"time\":%lld}\n", phase,
		 (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	send_line(initfd_, line);
}

// join_cgroups waits for EXEC_GO, which the parent sends once it knows our
// pid and has made the cgroups, joins them (the v1 ones; the C stage joined
// any v2 one at the clone) and unshares the cgroup namespace. The init
// sets up what it can before: the mounts ahead of the first cgroup mount,
// which needs to know the container's cgroup, so that the parent's cgroup
// work and ours overlap. Every host path it needs is still visible then.
static void join_cgroups(struct init_cfg *c)
{
	char go;
	ssize_t n;
	if (c->joined)
		return;
	c->joined = 1;
	ctrace("waiting for cgroups");
	while ((n = read(initfd_, &go, 1)) < 0 && errno == EINTR)
		;
	if (n != 1 || go != EXEC_GO)
		_exit(1);
	ctrace("cgroups ready");
	// "0" in a v1 tasks file moves only this (single) thread, without the
	// kernel's global lock that moving a whole process takes.
	for (int i = 0; i < c->ncglate; i++)
		nsexec_write_file(c->cglate[i], "0");
	if (c->cgroupns && unshare(CLONE_NEWCGROUP) < 0)
		fail("unshare cgroup namespace");
}

static void prepare_rootfs(struct init_cfg *c)
{
	if (mount("", "/", "", c->prop, "") < 0)
		fail("set propagation of /");
	privatize_parent(c->rootfs, c->prop);
	if (mount(c->rootfs, c->rootfs, "", MS_BIND | MS_REC, "") < 0)
		fail("mount %s on %s", c->rootfs, c->rootfs);
	rootfd = openat(AT_FDCWD, c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		fail("open rootfs");
	ssize_t n = readlink(fdpath(rootfd), rootpath, sizeof(rootpath) - 1);
	if (n < 0)
		fail("rootfs %s", c->rootfs);
	rootpath[n] = '\0';
	if (!strcmp(rootpath, "/"))
		errmsg("rootfs %s: it resolves to the host's /", c->rootfs);
	rootlen = (size_t)n;
	for (int i = 0; i < c->nmounts; i++) {
		struct init_mount *m = &c->mounts[i];
		char ctx[PATH_MAX * 2 + 16];
		snprintf(ctx, sizeof(ctx), "mount %s on %s", m->src ? m->src : "", m->dst);
		switch (m->kind) {
		case INIT_MOUNT_BIND:
			do_bind(ctx, m);
			break;
		case INIT_MOUNT_FS:
			do_fs(ctx, m);
			break;
		case INIT_MOUNT_PROCSYS:
			do_procsys(ctx, m);
			break;
		case INIT_MOUNT_CGROUP:
			join_cgroups(c);
			do_cgroup(ctx, m, c->cgroupns_any);
			break;
		default:
			errmsg("init: unknown mount kind %d", m->kind);
		}
	}
	join_cgroups(c);
	ctrace("mounts done");
	if (c->waitlimits) {
		// The devices cgroup's rules must be in place before mknod:
		// while the parent writes them, every mknod is refused.
		char b;
		ssize_t n;
		while ((n = read(initfd_, &b, 1)) < 0 && errno == EINTR)
			;
		if (n != 1 || b != EXEC_LIMITS)
			_exit(1);
		ctrace("limits set");
	}
	for (int i = 0; i < c->ndevs; i++)
		make_device(&c->devs[i]);
	if (c->devlinks)
		dev_links();
	close(rootfd);
}

static void pivot(const char *rootfs)
{
	int oldroot = openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int newroot = openat(AT_FDCWD, rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0)
		fail("open roots");
	if (fchdir(newroot) < 0)
		fail("chdir %s", rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		fail("pivot_root %s", rootfs);
	if (fchdir(oldroot) < 0)
		fail("chdir to the old root");
	if (mount("", ".", "", MS_SLAVE | MS_REC, "") < 0)
		fail("make the old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		fail("detach the old root");
	if (chdir("/") < 0)
		fail("chdir /");
	close(oldroot);
	close(newroot);
}

static int remount_ro(const char *path)
{
	struct statfs st;
	if (statfs(path, &st) < 0)
		return -1;
	unsigned long keep = statfs_flags(&st) &
			     (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_NOSYMFOLLOW);
	return mount("", path, "", MS_REMOUNT | MS_BIND | MS_RDONLY | keep, "");
}

static void finish_rootfs(struct init_cfg *c)
{
	for (int i = 0; i < c->nropaths; i++) {
		const char *p = c->ropaths[i];
		if (mount(p, p, "", MS_BIND | MS_REC, "") < 0) {
			if (errno == ENOENT)
				continue;
			fail("readonly path %s", p);
		}
		if (remount_ro(p) < 0)
			fail("readonly path %s", p);
	}
	const char *shared = NULL;
	int checked_null = 0;
	for (int i = 0; i < c->nmasks; i++) {
		const char *p = c->masks[i];
		struct stat st;
		int r;
		if (stat(p, &st) < 0) {
			if (errno == ENOENT)
				continue;
			fail("mask %s", p);
		}
		if (S_ISDIR(st.st_mode) && shared != NULL) {
			r = mount(shared, p, "", MS_BIND, "");
		} else if (S_ISDIR(st.st_mode)) {
			r = mount("tmpfs", p, "tmpfs", MS_RDONLY, "");
			shared = p;
		} else {
			if (!checked_null) {
				struct stat ns;
				if (stat("/dev/null", &ns) < 0)
					fail("mask %s", p);
				if (!S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3))
					errmsg("mask %s: /dev/null is not the null device", p);
				checked_null = 1;
			}
			r = mount("/dev/null", p, "", MS_BIND, "");
		}
		if (r < 0)
			fail("mask %s", p);
	}
	for (int i = 0; i < c->ndelayro; i++) {
		int r;
		if (c->delayro[i].rec) {
			struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
			r = (int)syscall(SYS_mount_setattr, AT_FDCWD, c->delayro[i].dest, AT_RECURSIVE, &a, sizeof(a));
		} else {
			r = remount_ro(c->delayro[i].dest);
		}
		if (r < 0)
			fail("remount %s read-only", c->delayro[i].dest);
	}
	if (c->rootro && remount_ro("/") < 0)
		fail("remount / read-only");
	if ((c->finalprop & (MS_SHARED | MS_UNBINDABLE)) && mount("", "/", "", c->finalprop, "") < 0)
		fail("set propagation of /");
}

static void loopback_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	if (fd < 0)
		fail("loopback");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		fail("loopback: get flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		fail("loopback: set up");
	close(fd);
}

// mkdir_cwd creates a missing working directory inside the new root
// (container.mkdirInRoot), before the root may turn read-only.
static void mkdir_cwd(const char *cwd)
{
	rootfd = openat(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		fail("open /");
	snprintf(rootpath, sizeof(rootpath), "/");
	rootlen = 0;
	int fd = mkdir_in_root(cwd);
	if (fd < 0)
		fail("create cwd \"%s\"", cwd);
	close(fd);
	close(rootfd);
	rootfd = -1;
}

// setup_console makes a pty in the container's devpts, sends the master to
// the console socket (SCM_RIGHTS, "/dev/ptmx" as the body, as runc does),
// makes the slave this process's stdio and controlling terminal and binds it
// over /dev/console (container.setupConsole and rootfs.BindConsole).
static void setup_console(struct init_cfg *c)
{
	int master = openat(AT_FDCWD, "/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), unlock = 0, n;
	char slave[64];
	if (master < 0)
		fail("open /dev/ptmx");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		fail("unlock pty");
	if (ioctl(master, TIOCGPTN, &n) < 0)
		fail("get pty number");
	snprintf(slave, sizeof(slave), "/dev/pts/%d", n);
	int sfd = openat(AT_FDCWD, slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (sfd < 0)
		fail("open pty slave %s", slave);
	if (c->rows > 0 && c->cols > 0) {
		struct winsize ws = {.ws_row = c->rows, .ws_col = c->cols};
		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			fail("set console size");
	}
	char body[] = "/dev/ptmx";
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = body, .iov_len = sizeof(body) - 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	memset(cbuf, 0, sizeof(cbuf));
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	if (sendmsg(c->consolefd, &msg, MSG_NOSIGNAL) < 0)
		fail("send pty master to console socket");
	close(c->consolefd);
	close(master);
	for (int i = 0; i < 3; i++)
		if (dup3(sfd, i, 0) < 0)
			fail("dup pty slave");
	close(sfd);
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		fail("set controlling terminal");
	struct stat st, cst;
	if (stat(slave, &st) < 0)
		fail("console %s", slave);
	if (!S_ISCHR(st.st_mode))
		errmsg("console %s is not a character device", slave);
	if (lstat("/dev/console", &cst) < 0) {
		if (errno != ENOENT)
			fail("stat /dev/console");
		if (mknod("/dev/console", S_IFREG | 0600, 0) < 0 && errno != EEXIST)
			fail("create /dev/console");
	} else if (S_ISLNK(cst.st_mode) || S_ISDIR(cst.st_mode)) {
		errmsg("/dev/console is a symlink or a directory");
	}
	if (mount(slave, "/dev/console", "", MS_BIND, "") < 0)
		fail("mount %s on /dev/console", slave);
}

static void send_line(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len > 0) {
		ssize_t w = send(fd, s, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			fail("write to parent");
		s += w;
		len -= (size_t)w;
	}
}

void init_container(struct exec_cfg *ex, struct init_cfg *c)
{
	initfd_ = ex->initfd;
	tracing = c->trace;
	ctrace("entered");
	if (setsid() < 0)
		fail("setsid");
	prepare_rootfs(c);
	ctrace("rootfs prepared");
	pivot(c->rootfs);
	ctrace("pivoted");
	if (c->consolefd > 0)
		setup_console(c);
	if (c->hostname != NULL && sethostname(c->hostname, strlen(c->hostname)) < 0)
		fail("set hostname");
	if (c->domainname != NULL && setdomainname(c->domainname, strlen(c->domainname)) < 0)
		fail("set domainname");
	if (c->mkcwd != NULL)
		mkdir_cwd(c->mkcwd);
	if (c->lo)
		loopback_up();
	for (int i = 0; i < c->nsysctls; i++) {
		// "<path under /proc/sys>=<value>"
		char path[PATH_MAX];
		const char *eq = strchr(c->sysctls[i], '=');
		if (eq == NULL)
			errmsg("init: bad sysctl entry");
		snprintf(path, sizeof(path), "/proc/sys/%.*s", (int)(eq - c->sysctls[i]), c->sysctls[i]);
		int fd = openat(AT_FDCWD, path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, eq + 1, strlen(eq + 1)) < 0)
			fail("sysctl %s", c->sysctls[i]);
		close(fd);
	}
	finish_rootfs(c);
	ctrace("rootfs finished");
	const char *path = exec_prepare(ex);
	ctrace("process prepared");
	if (c->startsock) {
		// `run`: the process that created us starts us itself, over the
		// socket it already holds. Anything but its byte (EOF: it died)
		// ends us before the container's process runs.
		char b;
		ssize_t n;
		send_line(ex->initfd, "{\"type\":\"ready\"}\n");
		while ((n = read(ex->initfd, &b, 1)) < 0 && errno == EINTR)
			;
		if (n != 1 || b != EXEC_START)
			_exit(1);
		exec_final(ex, path);
	}
	// Check now that we may open the fifo, while create still listens: a
	// non-blocking open fails with ENXIO (no reader yet) only after the
	// permission check passed.
	char fifo[64];
	snprintf(fifo, sizeof(fifo), "/proc/self/fd/%d", c->fifofd);
	int fd = openat(AT_FDCWD, fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	else if (errno != ENXIO)
		fail("open exec fifo");
	send_line(ex->initfd, "{\"type\":\"ready\"}\n");
	// Block until `start` opens the fifo for reading.
	fd = openat(AT_FDCWD, fifo, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail("open exec fifo");
	if (write(fd, "0", 1) != 1)
		fail("write exec fifo");
	// The write end stays open (close-on-exec): `start` reads to EOF,
	// which comes at execve.
	close(c->fifofd);
	exec_final(ex, path);
}
