// berth-runtime's `start` without the Go runtime: see doc.go for when it
// acts. It runs as a constructor, while the process is single-threaded and
// before the Go runtime has started.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_ROOT "/run/berth-runtime"
#define MARKER "start.fast"
#define FIFO "exec.fifo"

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
	int fd = open(path, O_RDONLY | O_CLOEXEC);
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

__attribute__((constructor)) static void berth_faststart(int argc, char **argv, char **envp)
{
	const char *root = DEFAULT_ROOT, *id = NULL;
	int i = 1;
	(void)envp;

	if (argc < 3 || argv == NULL || getenv("_BERTH_INITPIPE") != NULL || getenv("BERTH_RUNTIME_TRACE") != NULL)
		return;
	if (!strcmp(argv[i], "--root") && i + 1 < argc) {
		root = argv[i + 1];
		i += 2;
	} else if (!strncmp(argv[i], "--root=", 7)) {
		root = argv[i] + 7;
		i++;
	}
	if (i + 2 != argc || strcmp(argv[i], "start") != 0)
		return;
	id = argv[i + 1];
	if (root[0] == '\0' || !valid_id(id))
		return;

	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return;
	int dirfd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	close(rootfd);
	if (dirfd < 0)
		return;
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
