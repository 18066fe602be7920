// The prespawned init: before the Go runtime starts, `berth-runtime
// [--root DIR] run ...` starts the container's init process, so that its
// exec and its C stage's start-up run on the other CPU while this process
// starts Go, reads the bundle and makes the cgroups. The init waits in its
// C stage (nsexec.c) for the bootstrap, as any init does; spawn in
// internal/runtime/container adopts it when the container needs nothing
// fixed at spawn time that this one lacks (no preserved fds, no console, no
// exec fifo, the runtime's own stdio), else nsexec.DiscardPrespawned ends
// it. Anything unexpected here means no prespawn: the Go path then does
// everything, errors included.
//
// The init runs from the same write-protected view of the executable the Go
// path uses (container.overlaySelf: a detached, read-only overlay of the
// executable's directory), so /proc/<init>/exe never reaches the host's
// binary (CVE-2019-5736).
//
// `run` also blocks, here, every signal the Go runtime lets a program keep
// blocked, and reads them from a signalfd (nsexec.TakeRunSignals) to
// forward them to the container: registering each with os/signal instead
// costs a round trip with the runtime's signal thread, ~0.3-0.4 ms of a
// 7 ms run for all of them, wherever it lands. A blocked signal waits,
// pending, so none is lost before the forwarder reads it. Go passes the
// mask it started with to every child it execs, so the C stage clears it
// (nsexec.c), and hooks go through "__berth_exec_unblocked" below.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mountapi.h"
#include "nsexec.h"

#define PRESPAWN_ROOT "/run/berth-runtime"

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

int berth_run_sigfd = -1;
unsigned long long berth_run_sigmask; // bit s-1: signal s is blocked and read from berth_run_sigfd
int berth_prespawn_pid = -1;
int berth_prespawn_sock = -1;
int berth_prespawn_exe = -1;
int berth_prespawn_mount = -1;

// protect_self opens this executable in a detached read-only overlay of
// its directory (with root/.empty as the second lower layer), as
// container.overlaySelf does; -1 on any failure. It makes nothing: a root
// without .empty (no container has run from it yet) gets no prespawn, so a
// run that fails leaves the root as it found it.
static int protect_self(const char *root, int *mount_fd)
{
	char exe[PATH_MAX], empty[PATH_MAX], lower[PATH_MAX * 2 + 2];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash == NULL || slash == exe)
		return -1;
	*slash = '\0';
	const char *base = slash + 1;
	if (snprintf(empty, sizeof(empty), "%s/.empty", root) >= (int)sizeof(empty))
		return -1;
	struct stat st;
	if (stat(empty, &st) < 0 || !S_ISDIR(st.st_mode))
		return -1;
	// overlayfs splits lowerdir on ':' and options on ','.
	if (strpbrk(exe, ":,") != NULL || strpbrk(empty, ":,") != NULL)
		return -1;
	snprintf(lower, sizeof(lower), "%s:%s", exe, empty);
	int fsfd = fsopen("overlay", FSOPEN_CLOEXEC), mfd = -1, fd = -1;
	if (fsfd < 0)
		return -1;
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0)
		goto out;
	fsconfig(fsfd, FSCONFIG_SET_STRING, "xino", "off", 0);
	fsconfig(fsfd, FSCONFIG_SET_STRING, "index", "off", 0);
	fsconfig(fsfd, FSCONFIG_SET_STRING, "metacopy", "off", 0);
	fsconfig(fsfd, FSCONFIG_SET_STRING, "redirect_dir", "nofollow", 0);
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		goto out;
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_RDONLY);
	if (mfd < 0)
		goto out;
	fd = openat(mfd, base, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		close(mfd);
		mfd = -1;
	}
out:
	close(fsfd);
	*mount_fd = mfd;
	return fd;
}

extern char **environ;

// exec_unblocked is `berth-runtime __berth_exec_unblocked PATH ARGV0 ARGS...`:
// execve PATH with no signal blocked. `run` runs its hooks through it
// (container.runHook), so they do not inherit the signals run blocks.
static void exec_unblocked(int argc, char **argv)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (argc >= 4)
		execve(argv[2], argv + 3, environ);
	dprintf(2, "berth-runtime: exec %s: %s\n", argc >= 3 ? argv[2] : "", argc >= 4 ? nsexec_errstr(errno) : "no arguments");
	_exit(127);
}

// block_run_signals blocks the signals os/signal would otherwise have to
// register one by one and opens a signalfd for them; on any failure it
// leaves the mask as it was (Go then registers every signal).
static void block_run_signals(void)
{
	// Not blocked: those Go unblocks on every thread anyway (HUP, INT,
	// QUIT, ABRT, TERM, SYS; the synchronous ones; CHLD, PROF; URG, its
	// preemption signal), PIPE (Go's own EPIPE handling), and whatever
	// libc reserves (sigaddset refuses those).
	static const int mine[] = {SIGUSR1, SIGUSR2, SIGALRM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGXCPU,
				   SIGXFSZ, SIGVTALRM, SIGWINCH, SIGIO, SIGPWR};
	sigset_t set;
	sigemptyset(&set);
	for (size_t k = 0; k < sizeof(mine) / sizeof(mine[0]); k++)
		sigaddset(&set, mine[k]);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigaddset(&set, s); // fails, harmlessly, for what libc keeps
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return;
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		return;
	}
	for (int s = 1; s <= 64; s++)
		if (sigismember(&set, s) == 1)
			berth_run_sigmask |= 1ULL << (s - 1);
	berth_run_sigfd = fd;
}

static void prespawn(const char *root);

__attribute__((constructor)) static void berth_prespawn(int argc, char **argv, char **envp)
{
	const char *root = PRESPAWN_ROOT;
	int i = 1;
	(void)envp;

	if (getenv(ENV_INITPIPE) != NULL)
		return;
	if (SELF_ARGS(argc, argv) < 3 || argv == NULL)
		return;
	if (!strcmp(argv[1], "__berth_exec_unblocked"))
		exec_unblocked(argc, argv);
	if (!strcmp(argv[i], "--root") && i + 1 < argc) {
		root = argv[i + 1];
		i += 2;
	} else if (!strncmp(argv[i], "--root=", 7)) {
		root = argv[i] + 7;
		i++;
	}
	// Only `run`, and only with no other global flag before it (their
	// handling lives in Go).
	if (i >= argc || strcmp(argv[i], "run") != 0 || root[0] == '\0')
		return;
	if (getenv("X_NOPROTECT") == NULL && getenv("BERTH_RUNTIME_NO_PRESPAWN") == NULL)
		prespawn(root);
	block_run_signals();
}

static void prespawn(const char *root)
{
	int sv[2], mfd = -1, exefd;
	exefd = protect_self(root, &mfd);
	if (exefd < 0)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		goto fail;
	// The init's C stage may fork the real init and exit: as a subreaper
	// this process inherits it (the Go path sets the same).
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		goto fail_sock;
	char *cargv[] = {"berth-runtime", "init", NULL};
	char *cenv[] = {ENV_INITPIPE "=3", "GOGC=off", "GOMAXPROCS=1", NULL};
	// fork, not vfork: this process goes on to start Go while the child
	// execs (~0.2 ms here; nothing of Go's exists yet to copy). Should the
	// exec fail, the child says so on the init socket, where create reads
	// it as the init's error.
	pid_t pid = fork();
	if (pid == 0) {
		// The init socket is fd 3, as the Go path puts it with no
		// preserved fds; stdio is this process's.
		int sock = 3;
		if (sv[1] == 3) {
			if (fcntl(3, F_SETFD, 0) < 0)
				sock = sv[1];
		} else if (dup2(sv[1], 3) < 0) {
			sock = sv[1];
		}
		if (sock == 3)
			syscall(SYS_execveat, exefd, "", cargv, cenv, AT_EMPTY_PATH);
		dprintf(sock, "{\"type\":\"error\",\"message\":\"start the prespawned init: %s\"}\n", nsexec_errstr(errno));
		_exit(127);
	}
	if (pid < 0)
		goto fail_sock;
	close(sv[1]);
	berth_prespawn_pid = pid;
	berth_prespawn_sock = sv[0];
	berth_prespawn_exe = exefd;
	berth_prespawn_mount = mfd;
	return;
fail_sock:
	close(sv[0]);
	close(sv[1]);
fail:
	close(exefd);
	if (mfd >= 0)
		close(mfd);
}
