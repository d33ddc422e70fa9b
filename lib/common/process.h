/* Starting other programs (runtimes, drivers) without leaking anything into
 * them.
 *
 * Every descriptor ctrk opens is close-on-exec, but a tool may itself have
 * inherited descriptors (a test harness's fd 3, a shell's redirections): the
 * child marks everything above its stdio close-on-exec too, so a program
 * sees 0, 1, 2 and only the descriptors passed on purpose.  The child also
 * gets the default signal mask and dispositions back (ctrk ignores SIGPIPE
 * and blocks the signals it forwards; neither must reach a container). */
#ifndef CTRK_PROCESS_H
#define CTRK_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

typedef struct ctrk_spawn {
	char *const *argv; /* argv[0]: a path, or a name looked up in PATH */
	int stdio[3];      /* the child's 0, 1, 2; -1 keeps the parent's */
	int keep_fds;      /* fds 3 .. 3+keep_fds-1 are passed on as they are */
	/* Run in the child just before exec (e.g. to enter a namespace).  On
	 * failure it returns -1 with errno set, and ctrk_spawn() fails with
	 * SETUP_WHAT and that errno. */
	int (*setup)(void *arg);
	void *setup_arg;
	const char *setup_what;
} ctrk_spawn_t;

/* Start S's program.  Returns its pid, or -1 when it could not be started
 * at all (fork failed, setup failed, the program is missing or cannot be
 * executed: exec errors are reported back to the parent). */
pid_t ctrk_spawn(const ctrk_spawn_t *s, ctrk_error_t *err);

/* waitpid(PID) retrying on EINTR. */
int ctrk_wait(pid_t pid, int *status, ctrk_error_t *err);

/* The full path of program NAME found in PATH (NAME itself when it has a
 * '/'), or NULL.  The caller frees. */
char *ctrk_find_program(const char *name);

/* A wait status as a shell reports it: the exit code, or 128+N for a
 * process killed by signal N. */
int ctrk_exit_code(int status);

#endif
