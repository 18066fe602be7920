/*
 * berth-init: a tiny PID 1 for containers run with --init (docker's
 * /sbin/docker-init). It runs one command and, for as long as it runs:
 *
 *   - forwards every signal it can catch to the command (its pid, not its
 *     process group), so `docker stop` reaches a shell or program that was
 *     never written to be PID 1: the kernel drops signals that PID 1 of a
 *     pid namespace has no handler for, which is why a bare `sleep` as
 *     PID 1 ignores SIGTERM;
 *   - reaps every process that dies under it: orphans are reparented to
 *     PID 1 (or to us as a child subreaper when we are not PID 1), and a
 *     PID 1 that never waits leaves zombies that fill the pid table;
 *   - exits with the command's status, 128+N when a signal N killed it.
 *
 *   berth-init [--version] [--] command [args...]
 *
 * The command gets its own process group and, when stdin is a terminal,
 * the foreground of that terminal, so job-control signals from the
 * terminal reach it.
 *
 * Every signal is blocked and taken synchronously with sigtimedwait: a
 * blocked signal is queued even for a namespace's PID 1 (which the kernel
 * otherwise spares any signal it has no handler for), and no handler runs
 * between fork and exec. That includes the fault signals, so that a
 * `kill -SEGV` reaches the command too: a real fault of this process is
 * still fatal, the kernel unblocks a synchronous fault to deliver it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BERTH_INIT_VERSION
#define BERTH_INIT_VERSION "dev"
#endif
#ifndef BERTH_INIT_COMMIT
#define BERTH_INIT_COMMIT "unknown"
#endif

static void usage(void)
{
	fprintf(stderr, "usage: berth-init [--version] [--] command [args...]\n");
}

/* exit_code turns a wait status into the shell's convention. */
static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* spawn runs argv in a child with the signal mask and dispositions a fresh
 * process expects; it returns the child's pid, or -1. */
static pid_t spawn(char **argv, const sigset_t *parent_mask)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;

	/* Own process group and, on a terminal, its foreground. tcsetpgrp
	 * from a background group raises SIGTTOU: ignore it for the call. */
	if (setpgid(0, 0) == 0 && isatty(STDIN_FILENO)) {
		struct sigaction ign = {.sa_handler = SIG_IGN}, old;
		sigaction(SIGTTOU, &ign, &old);
		tcsetpgrp(STDIN_FILENO, getpgrp());
		sigaction(SIGTTOU, &old, NULL);
	}
	sigprocmask(SIG_SETMASK, parent_mask, NULL);
	execvp(argv[0], argv);
	int err = errno;
	fprintf(stderr, "berth-init: exec %s: %s\n", argv[0], strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

/* reap waits for every child that has exited; it records the status of
 * child and reports whether child is among them. */
static int reap(pid_t child, int *status)
{
	int found = 0;
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid > 0) {
			if (pid == child) {
				*status = st;
				found = 1;
			}
			continue;
		}
		if (pid < 0 && errno == EINTR)
			continue;
		return found; /* 0: none left exited; -1 ECHILD: no children */
	}
}

int main(int argc, char **argv)
{
	int i = 1;
	if (i < argc && strcmp(argv[i], "--version") == 0) {
		printf("berth-init version %s - git.%s\n", BERTH_INIT_VERSION, BERTH_INIT_COMMIT);
		return 0;
	}
	if (i < argc && (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)) {
		usage();
		return 0;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		usage();
		return 2;
	}

	/* As PID 1 orphans come to us anyway; elsewhere (a test, a host
	 * shell) become their reaper explicitly. */
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		perror("berth-init: warning: PR_SET_CHILD_SUBREAPER");

	sigset_t all, old;
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &old) != 0) {
		perror("berth-init: sigprocmask");
		return 1;
	}

	pid_t child = spawn(&argv[i], &old);
	if (child < 0) {
		perror("berth-init: fork");
		return 1;
	}

	int status = 0;
	for (;;) {
		/* The timeout only bounds how long a missed SIGCHLD could
		 * delay reaping; signals wake us at once. */
		struct timespec tick = {.tv_sec = 1};
		siginfo_t si;
		int sig = sigtimedwait(&all, &si, &tick);
		if (sig < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				perror("berth-init: sigtimedwait");
				return 1;
			}
		} else if (sig != SIGCHLD) {
			if (kill(child, sig) != 0 && errno != ESRCH)
				perror("berth-init: forwarding a signal");
		}
		if (reap(child, &status) > 0) {
			/* Collect what else has already died, then go: the
			 * kernel kills the rest of the namespace with us. */
			int ignored;
			reap(child, &ignored);
			return exit_code(status);
		}
	}
}
