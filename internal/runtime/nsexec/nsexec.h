// Shared by the C stage's files: see nsexec.c and exec.c.
#ifndef BERTH_NSEXEC_H
#define BERTH_NSEXEC_H

#include <stdint.h>
#include <sys/resource.h>

#define EXEC_MAX_RLIMITS 32

// ENV_INITPIPE names the init socket's fd (nsexec.EnvInitPipe).
#define ENV_INITPIPE "_BERTH_INITPIPE"

// EXEC_GO is the byte the parent sends once it has read the pid line
// (nsexec.ExecGo).
#define EXEC_GO 'G'

// EXEC_LIMITS says the cgroup limits are written (nsexec.ExecLimits).
#define EXEC_LIMITS 'L'

// EXEC_START releases an init started with startsock=1 (nsexec.ExecStart).
#define EXEC_START 'S'

// exec_cfg is the bootstrap's exec part (see Exec in nsexec.go).
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

// nsexec_failmsg is nsexec_fail without the errno suffix, for messages
// that say everything already; its arguments (an nsexec_errstr(errno)
// among them) are evaluated before errno is cleared.
void nsexec_failmsg(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

// nsexec_write_file writes data to the existing file path, or fails.
void nsexec_write_file(const char *path, const char *data);

// nsexec_errstr is errno e's text as Go spells it (syscall.Errno.Error;
// the table is errtext.h), so that the C stage's messages read as the Go
// stage's do whichever libc it is linked with.
const char *nsexec_errstr(int e);

// nsexec_fail reports a message to the parent as a JSON error line and
// exits 1 (errno, when set, is appended).
void nsexec_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

// exec_entry takes one bootstrap key=value that belongs to the exec part;
// it returns 0 when the key is not one of them.
int exec_entry(struct exec_cfg *c, const char *key, char *val);

// exec_process sets up the process as the Go stage would for an exec, and
// execs it. It does not return.
void exec_process(struct exec_cfg *c) __attribute__((noreturn));

// exec_prepare does everything exec_process does before execve (fds,
// HOME, no_new_privs, an early seccomp filter, user, cwd, capabilities)
// and returns the resolved executable; exec_final sets the rlimits, loads
// a late seccomp filter and execs. The init (init.c) waits for `start`
// between the two.
const char *exec_prepare(struct exec_cfg *c);
void exec_final(struct exec_cfg *c, const char *path) __attribute__((noreturn));

// init_cfg is the bootstrap's init part (see Init in nsexec.go).
#define INIT_MAX_PROP 8
enum { INIT_MOUNT_BIND = 1, INIT_MOUNT_FS, INIT_MOUNT_PROCSYS, INIT_MOUNT_CGROUP };

struct init_mount {
	int kind;
	const char *src, *dst, *type, *data;
	unsigned long flags, remount, clear;
	int file, keepmode, has_remount;
	unsigned long prop[INIT_MAX_PROP];
	int nprop;
	int rec;
	uint64_t recset, recclr;
	int cgattrs;
};

struct init_dev {
	unsigned int kind, major, minor, mode, uid, gid;
	const char *path;
};

struct init_delayro {
	const char *dest;
	int rec;
};

struct init_cfg {
	int on;
	int fifofd;
	int startsock; // wait for EXEC_START on the init socket, not the fifo
	int waitlimits; // wait for EXEC_LIMITS before the device nodes
	const char *rootfs;
	unsigned long prop, finalprop;
	int cgroupns;     // unshare a new cgroup namespace after joining the cgroups
	int cgroupns_any; // the container has a cgroup namespace (new or joined)
	const char **cglate;
	int ncglate;
	struct init_mount *mounts;
	int nmounts;
	struct init_dev *devs;
	int ndevs;
	int devlinks;
	const char *hostname, *domainname, *mkcwd;
	int lo;
	const char **sysctls;
	int nsysctls;
	const char **ropaths;
	int nropaths;
	const char **masks;
	int nmasks;
	struct init_delayro *delayro;
	int ndelayro;
	int rootro;
	int joined; // join_cgroups has run
	int trace;  // report phases on the init socket
	int consolefd;            // the console socket (terminal: true), else 0
	unsigned short rows, cols; // the initial console size, when set
};

// init_entry takes one bootstrap key=value of the init part; 0 when the key
// is not one of them.
int init_entry(struct init_cfg *c, const char *key, char *val);

// init_container sets the container up and execs its process once `start`
// releases it (see init.c). It does not return.
void init_container(struct exec_cfg *ex, struct init_cfg *c) __attribute__((noreturn));

#endif
