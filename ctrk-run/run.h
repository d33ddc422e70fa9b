/* ctrk-run: what the verbs share — the options of `run`, the string lists
 * they are made of. */
#ifndef CTRK_RUN_RUN_H
#define CTRK_RUN_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "error.h"

/* Exit codes of `run`, `exec` and `wait` besides the command's own (see
 * ctrk(7)): as docker, podman and chroot(1) use them. */
enum {
	RUN_EXIT_FAILED = 125,       /* ctrk-run or the runtime failed */
	RUN_EXIT_CANNOT_INVOKE = 126, /* the command exists but cannot be run */
	RUN_EXIT_NOT_FOUND = 127,    /* the command does not exist */
};

/* A growable list of borrowed strings (from argv). */
typedef struct strv {
	const char **v;
	size_t n;
} strv_t;

void strv_push(strv_t *l, const char *s);
void strv_free(strv_t *l);

typedef struct run_opts {
	const char *id;
	const char *rootfs;      /* --rootfs: instead of the descriptor's */
	bool detach, tty, rm, privileged, read_only;
	bool force;              /* run: start even when the rootfs is in use */
	strv_t env, env_files;
	const char *entrypoint;  /* --entrypoint; NULL when not given */
	const char *workdir, *user, *hostname;
	strv_t group_add, ulimits, cap_add, cap_drop, mounts, tmpfs;
	long long memory;        /* bytes; 0: no limit */
	long long cpu_quota;     /* microseconds per 100 ms; 0: no limit */
	long long pids_limit;    /* 0: no limit */
	const char *net, *pid;   /* "host", "none", a path; NULL: default */
	const char *seccomp;     /* --security-opt seccomp=: "unconfined", a file; NULL: default */
	long preserve_fds;
	long stop_timeout;       /* seconds */
	const char *runtime, *runtime_root;
	char **cmd;              /* after "--"; NULL when none */
	size_t ncmd;
} run_opts_t;

#endif
