/* The OCI runtime: any program with runc's command line (runc, crun,
 * youki, runsc).  ctrk-run uses only the common subset: run -d, exec -d,
 * kill, delete, state, with the global --root, --log and --log-format. */
#ifndef CTRK_RUN_RUNTIME_H
#define CTRK_RUN_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "error.h"

typedef struct runtime {
	char *path; /* the program */
	char *name; /* its base name: runc, crun, ... */
	char *root; /* its --root (state directory); NULL: its default */
	/* crun 1.8 refuses a hybrid cgroup host (v1 controllers and a v2
	 * "unified" tree): it runs in a mount namespace of its own where the
	 * unified tree is not mounted, and so uses the v1 controllers. */
	bool hide_cgroup_unified;
} runtime_t;

/* Find runtime NAME (a name in PATH or a path; NULL: $CTRK_RUNTIME, else
 * runc) with state directory ROOT (may be NULL). */
int runtime_open(const char *name, const char *root, runtime_t *rt, ctrk_error_t *err);
void runtime_free(runtime_t *rt);

/* The runtime a container was started with, from its record (the
 * descriptor with "container"). */
int runtime_open_recorded(const cJSON *record, runtime_t *rt, ctrk_error_t *err);

/* Start `RUNTIME --root R --log LOG --log-format json ARGS...` with STDIO
 * as its 0, 1, 2 and fds 3.. 3+KEEP_FDS-1 passed on.  Returns the pid. */
pid_t runtime_spawn(const runtime_t *rt, const char *log, const char *const *args, const int stdio[3],
		    int keep_fds, ctrk_error_t *err);

/* Run a short command (kill, delete, state) to its end.  Its standard
 * output is returned in *OUT when OUT is not NULL; a failure's message is
 * the runtime's own. */
int runtime_call(const runtime_t *rt, const char *const *args, char **out, ctrk_error_t *err);

/* The runtime's view of container ID (`state`), or NULL with the runtime's
 * message. */
cJSON *runtime_state(const runtime_t *rt, const char *id, ctrk_error_t *err);

/* The last error the runtime logged to LOG after byte OFFSET, or NULL. */
char *runtime_log_error(const char *log, long long offset);

/* What a failed start means for `run` and `exec`: 127 when the command
 * was not found, 126 when it cannot be executed, else 125. */
int runtime_start_exit_code(const char *message);

#endif
