/* ctrk-run: what the verbs share — the options of `run`, the string lists
 * they are made of. */
#ifndef CTRK_RUN_RUN_H
#define CTRK_RUN_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "error.h"
#include "strlist.h"

/* Exit codes of `run`, `exec` and `wait` besides the command's own (see
 * ctrk(7)): as docker, podman and chroot(1) use them. */
enum {
	RUN_EXIT_FAILED = 125,       /* ctrk-run or the runtime failed */
	RUN_EXIT_CANNOT_INVOKE = 126, /* the command exists but cannot be run */
	RUN_EXIT_NOT_FOUND = 127,    /* the command does not exist */
};


typedef struct run_opts {
	const char *id;
	const char *rootfs;      /* --rootfs: instead of the descriptor's */
	bool detach, tty, rm, privileged, read_only;
	bool force;              /* run: start even when the rootfs is in use */
	ctrk_strlist_t env, env_files;
	const char *entrypoint;  /* --entrypoint; NULL when not given */
	const char *workdir, *user, *hostname;
	ctrk_strlist_t group_add, ulimits, cap_add, cap_drop, mounts, tmpfs;
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
