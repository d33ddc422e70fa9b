/* Owning a container's process: start it through the runtime, relay its
 * terminal, forward signals, reap it and return its status.
 *
 * The owner makes itself a child subreaper (PR_SET_CHILD_SUBREAPER) and
 * starts the process with `RUNTIME run -d` (or `exec -d`): when the runtime
 * exits, the process it started becomes the owner's child, so the owner
 * learns its exact wait status, as containerd's shim does.  The foreground
 * `ctrk-run run` is such an owner, and so is the supervisor of a detached
 * container. */
#ifndef CTRK_RUN_OWNER_H
#define CTRK_RUN_OWNER_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "container.h"
#include "error.h"
#include "runtime.h"
#include "tty.h"

typedef struct owner {
	const runtime_t *rt;
	const container_t *c;
	const char *process_file; /* exec: the process JSON; NULL: run */
	bool tty;
	int stdio[3];   /* without a terminal: the process's 0, 1, 2 */
	int term_in;    /* with a terminal: input for it, -1 none */
	int term_out;   /* with a terminal: where its output goes */
	int keep_fds;   /* fds 3.. passed to the process */
	long stop_timeout;
	/* Foreground without a terminal: `RUNTIME run` without -d, which
	 * forwards signals, returns the status (128+N for signal N) and
	 * deletes the container itself; that saves starting the runtime a
	 * second time for `delete`.  The owner then waits for the runtime. */
	bool runtime_waits;

	/* Filled in. */
	int sigfd;
	sigset_t saved_mask;
	pid_t pid;      /* the process; with runtime_waits the runtime */
	int master;
	long long log_offset; /* where this start's runtime messages begin */
	tty_raw_t raw;
} owner_t;

/* Become a subreaper and take the signals the owner forwards; call before
 * anything is started. */
int owner_prepare(owner_t *o, ctrk_error_t *err);

/* Start the process.  On failure *EXIT_CODE says what `run` returns: 127
 * command not found, 126 not executable, 125 anything else. */
int owner_start(owner_t *o, int *exit_code, ctrk_error_t *err);

/* Relay, forward and reap until the process ends; *STATUS is its wait
 * status.  With runtime_waits, a runtime that failed before it started the
 * process is an error, with *EXIT_CODE as for owner_start(). */
int owner_wait(owner_t *o, int *status, int *exit_code, ctrk_error_t *err);

/* Undo owner_prepare and close what the owner opened. */
void owner_finish(owner_t *o);

#endif
