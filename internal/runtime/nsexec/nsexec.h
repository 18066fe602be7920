// Shared by the C stage's files: see nsexec.c and exec.c.
#ifndef BERTH_NSEXEC_H
#define BERTH_NSEXEC_H

#include <stdint.h>
#include <sys/resource.h>

#define EXEC_MAX_RLIMITS 32

// exec_cfg is the bootstrap's exec part (see Exec in nsexec.go).
// EXEC_GO is the byte the parent sends once it has read the pid line
// (nsexec.ExecGo).
#define EXEC_GO 'G'

struct exec_cfg {
	int on;
	int initfd;
	int keepfds;
	int nnp;
	const char *seccomp; // "<flags>:<hex>", or NULL
	uint32_t uid, gid;
	const char *groups; // "1,2,3" or ""
	int has_umask;
	unsigned int umask;
	uint64_t caps[5]; // bounding, effective, permitted, inheritable, ambient
	const char *cwd;
	int nrlimits;
	struct {
		int resource;
		struct rlimit lim;
	} rlimits[EXEC_MAX_RLIMITS];
	int add_home;
	int argc, envc;
	char **argv, **envp; // NULL-terminated, allocated by the parser
};

// nsexec_fail reports a message to the parent as a JSON error line and
// exits 1 (errno, when set, is appended).
void nsexec_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

// exec_entry takes one bootstrap key=value that belongs to the exec part;
// it returns 0 when the key is not one of them.
int exec_entry(struct exec_cfg *c, const char *key, char *val);

// exec_process sets up the process as the Go stage would for an exec, and
// execs it. It does not return.
void exec_process(struct exec_cfg *c) __attribute__((noreturn));

#endif
