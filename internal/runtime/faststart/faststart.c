// berth-runtime's `start` without the Go runtime: see doc.go for when it
// acts. It runs as a constructor, while the process is single-threaded and
// before the Go runtime has started.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_ROOT "/run/berth-runtime"

// Constructors get the process's arguments from glibc (an extension) but
// not from musl, which berth-runtime is normally linked with (see the
// Makefile): there they come from /proc/self/cmdline. self_args returns
// argc, or -1 when the arguments cannot be read whole.
#ifdef __GLIBC__
#define SELF_ARGS(argc, argv) (argc)
#else
#define SELF_ARGS(argc, argv) ((argc) = self_args(argv_buf, sizeof(argv_buf), argv_vec, MAX_SELF_ARGS), (argv) = argv_vec, (argc))
#define MAX_SELF_ARGS 32
static char argv_buf[8192];
static char *argv_vec[MAX_SELF_ARGS + 1];
static int self_args(char *buf, size_t size, char **argv, int max)
{
	int fd = openat(AT_FDCWD, "/proc/self/cmdline", O_RDONLY | O_CLOEXEC), argc = 0;
	size_t len = 0;
	ssize_t n = 0;
	if (fd < 0)
		return -1;
	while (len < size && (n = read(fd, buf + len, size - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n < 0 || len == 0 || len == size || buf[len - 1] != '\0')
		return -1;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1) {
		if (argc == max)
			return -1;
		argv[argc++] = buf + i;
	}
	argv[argc] = NULL;
	return argc;
}
#endif
#define MARKER "start.fast"
#define FIFO "exec.fifo"
#define DELETE_MARKER "delete.fast"

// valid_id mirrors container.ValidateID: ^[A-Za-z0-9_+.-]+$, not . or ..,
// at most 1024 bytes.
static int valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

static ssize_t read_small(int fd, char *buf, size_t len)
{
	ssize_t n;
	while ((n = read(fd, buf, len - 1)) < 0 && errno == EINTR)
		;
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

// proc_start reads the state and start time (fields 3 and 22) of
// /proc/<pid>/stat; the command name may hold spaces and parentheses, so
// fields are counted after the last ')'.
static int proc_start(long pid, char *state, unsigned long long *start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read_small(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return -1;
	char *p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ')
		return -1;
	p += 2;
	*state = *p;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return -1;
		p++;
	}
	char *end;
	errno = 0;
	*start = strtoull(p, &end, 10);
	return (errno != 0 || end == p) ? -1 : 0;
}

static void die(const char *id, const char *what)
{
	dprintf(2, "berth-runtime: container %s: %s\n", id, what);
	_exit(1);
}

// release opens the fifo, which lets the init's blocked open for writing
// return; the init writes one byte and then execs (the write end is
// close-on-exec, so EOF follows). Returns only on success.
static void release(int dirfd, const char *id, int pidfd)
{
	int fifo = openat(dirfd, FIFO, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fifo < 0)
		die(id, "open exec fifo failed");
	// Until a writer has connected, a FIFO's reader sees no POLLHUP, so
	// this waits for the init's byte, its exit, or both.
	struct pollfd pf[2] = {{.fd = fifo, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
	for (;;) {
		int r = poll(pf, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die(id, "poll exec fifo failed");
		if (pf[0].revents != 0 || pf[1].revents != 0)
			break;
	}
	// One byte, then EOF at the init's execve (or exit). A dead init with
	// its byte in the fifo passed the fifo just before it died: that is
	// the Go path's success too.
	char buf[16];
	size_t got = 0;
	ssize_t n;
	int flags = fcntl(fifo, F_GETFL);
	if (pf[0].revents != 0 && flags >= 0)
		fcntl(fifo, F_SETFL, flags & ~O_NONBLOCK);
	for (;;) {
		n = read(fifo, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fifo);
	if (got != 1)
		die(id, "init exited before start");
	if (unlinkat(dirfd, FIFO, 0) < 0)
		die(id, "remove exec fifo failed");
	unlinkat(dirfd, MARKER, 0);
}

// init_dead tells whether the recorded init is gone: no such pid, another
// process under its pid (start time), or a zombie; as initAlive in Go.
static int init_dead(long pid, unsigned long long want)
{
	char state = 0;
	unsigned long long start = 0;
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0)
		return errno == ESRCH;
	int r = proc_start(pid, &state, &start);
	close(pidfd);
	if (r < 0)
		return 0;
	return start != want || state == 'Z' || state == 'X';
}

// cgroup_empty tells whether the cgroup at path has no process and no
// child cgroup (then rmdir cannot fail with EBUSY), or is already gone.
static int cgroup_empty(const char *path)
{
	char procs[PATH_MAX + 16], buf[16];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
	int fd = openat(AT_FDCWD, procs, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	ssize_t n = read_small(fd, buf, sizeof(buf));
	close(fd);
	if (n != 0)
		return 0;
	DIR *d = opendir(path);
	if (d == NULL)
		return 0;
	struct dirent *e;
	int ok = 1;
	while ((e = readdir(d)) != NULL)
		if (e->d_type == DT_DIR && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			ok = 0;
	closedir(d);
	return ok;
}

// fast_delete is `delete ID` of a stopped container whose create wrote
// delete.fast: "<init pid> <start time>" then one cgroup directory per
// line. Returns (for the Go path) unless every precondition holds, checked
// before anything is removed.
static void fast_delete(int rootfd, int dirfd, const char *id)
{
	static char buf[16384];
	char *paths[64];
	int npaths = 0;
	int fd = openat(dirfd, DELETE_MARKER, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	ssize_t n = read_small(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || n >= (ssize_t)sizeof(buf) - 1)
		return;
	long pid = 0;
	unsigned long long want = 0;
	if (sscanf(buf, "%ld %llu", &pid, &want) != 2 || pid <= 0)
		return;
	for (char *line = strchr(buf, '\n'); line != NULL && line[1] != '\0';) {
		char *p = line + 1;
		line = strchr(p, '\n');
		if (line != NULL)
			*line = '\0';
		if (p[0] != '/' || npaths == 64)
			return;
		paths[npaths++] = p;
	}
	if (!init_dead(pid, want))
		return;
	for (int i = 0; i < npaths; i++)
		if (!cgroup_empty(paths[i]))
			return;
	// Only files in the state directory (state.json, the markers, a fifo
	// of a container that never started); anything else is Go's to judge.
	int dfd = dup(dirfd);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_type != DT_REG && e->d_type != DT_FIFO) {
			closedir(d);
			return;
		}
	}
	for (int i = 0; i < npaths; i++)
		if (rmdir(paths[i]) < 0 && errno != ENOENT)
			die(id, "remove cgroup failed");
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dirfd, e->d_name, 0) < 0 && errno != ENOENT)
			die(id, "remove state failed");
	}
	closedir(d);
	if (unlinkat(rootfd, id, AT_REMOVEDIR) < 0)
		die(id, "remove state directory failed");
	_exit(0);
}

__attribute__((constructor)) static void berth_faststart(int argc, char **argv, char **envp)
{
	const char *root = DEFAULT_ROOT, *id = NULL, *cmd;
	int i = 1;
	(void)envp;

	if (getenv("_BERTH_INITPIPE") != NULL || getenv("BERTH_RUNTIME_TRACE") != NULL)
		return;
	if (SELF_ARGS(argc, argv) < 3 || argv == NULL)
		return;
	if (!strcmp(argv[i], "--root") && i + 1 < argc) {
		root = argv[i + 1];
		i += 2;
	} else if (!strncmp(argv[i], "--root=", 7)) {
		root = argv[i] + 7;
		i++;
	}
	if (i + 2 != argc)
		return;
	cmd = argv[i];
	if (strcmp(cmd, "start") != 0 && strcmp(cmd, "delete") != 0)
		return;
	id = argv[i + 1];
	if (root[0] == '\0' || !valid_id(id))
		return;

	int rootfd = openat(AT_FDCWD, root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return;
	int dirfd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dirfd < 0) {
		close(rootfd);
		return;
	}
	if (!strcmp(cmd, "delete")) {
		fast_delete(rootfd, dirfd, id);
		// fast_delete exits once it has removed anything; here
		// nothing was, and Go does it all.
		close(dirfd);
		close(rootfd);
		return;
	}
	close(rootfd);
	char buf[128];
	int mfd = openat(dirfd, MARKER, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (mfd < 0) {
		close(dirfd);
		return;
	}
	ssize_t n = read_small(mfd, buf, sizeof(buf));
	close(mfd);
	long pid = 0;
	unsigned long long want = 0, start = 0;
	char state = 0;
	if (n <= 0 || sscanf(buf, "%ld %llu", &pid, &want) != 2 || pid <= 0)
		goto fallback;
	// pidfd first, then the start time: the pidfd then names the process
	// whose start time matched, whatever reuses the pid later.
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0)
		goto fallback;
	if (proc_start(pid, &state, &start) < 0 || start != want || state == 'Z' || state == 'X') {
		close(pidfd);
		goto fallback;
	}
	struct stat st;
	if (fstatat(dirfd, FIFO, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISFIFO(st.st_mode)) {
		close(pidfd);
		goto fallback;
	}
	release(dirfd, id, pidfd);
	_exit(0);

fallback:
	close(dirfd);
}
