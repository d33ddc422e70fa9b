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
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

typedef struct ctrk_spawn {
	char *const *argv; /* argv[0]: a path, or a name looked up in PATH */
	int stdio[3];      /* the child's 0, 1, 2; -1 keeps the parent's */
	int keep_fds;      /* fds 3 .. 3+keep_fds-1 are passed on as they are */
	char *const *envp; /* the child's environment; NULL: the caller's */
	/* Run in the child just before exec (e.g. to enter a namespace).  On
	 * failure it returns -1 with errno set, and ctrk_spawn() fails with
	 * SETUP_WHAT and that errno. */
	int (*setup)(void *arg);
	void *setup_arg;
	const char *setup_what;
	/* ctrk_spawn_capture(): a deadline in milliseconds (0: none).  The
	 * child then runs in a process group of its own, and when it has not
	 * exited by the deadline the group is killed (SIGKILL), so what it
	 * started goes too, and the call fails with ETIMEDOUT. */
	int timeout_ms;
	/* ctrk_spawn_capture(): the output is a secret (a credential helper's
	 * answer): every buffer it passed through is wiped before it is freed. */
	bool secret_output;
} ctrk_spawn_t;

/* Start S's program.  Returns its pid, or -1 when it could not be started
 * at all (fork failed, setup failed, the program is missing or cannot be
 * executed: exec errors are reported back to the parent). */
pid_t ctrk_spawn(const ctrk_spawn_t *s, ctrk_error_t *err);

/* Run S's program, feed IN (INLEN bytes) to its stdin, collect its stdout
 * in *OUT and its stderr in *ERR_OUT, and wait for it: *STATUS gets its
 * wait status, for the caller to judge.
 *
 * IN NULL: the child's stdin is S->stdio[0], or /dev/null when that is -1.
 * OUT or ERR_OUT NULL: that stream is S->stdio[1] or [2] as ctrk_spawn()
 * has it.  S's stdio[] entries of the captured streams are ignored.  The
 * captured output is NUL-terminated, always allocated (the caller frees),
 * and its length is in *OUTLEN when OUTLEN is not NULL.  More than MAX
 * bytes on a captured stream is an error (EFBIG): that stream is closed,
 * so a child still writing gets EPIPE, and the child is waited for.
 *
 * The pipes are polled together: no amount of input or output deadlocks.
 * A child that exits without reading all of IN is no error (SIGPIPE is
 * blocked meanwhile and never reaches the caller).  Returns -1 when the
 * program could not be started (ctrk_spawn()'s error) or its pipes failed;
 * the child is reaped in every case and no descriptor is left open. */
int ctrk_spawn_capture(const ctrk_spawn_t *s, const char *in, size_t inlen, size_t max, char **out,
		       size_t *outlen, char **err_out, int *status, ctrk_error_t *err);

/* Close every descriptor from 3 up but the N in KEEP (at most 64; entries
 * below 3 are ignored): for a process that outlives its caller (a
 * supervisor), which must not hold the caller's pipes, files and
 * directories open. */
void ctrk_close_fds_except(const int *keep, size_t n);

/* waitpid(PID) retrying on EINTR. */
int ctrk_wait(pid_t pid, int *status, ctrk_error_t *err);

/* The full path of program NAME found in PATH (NAME itself when it has a
 * '/'), or NULL.  The caller frees. */
char *ctrk_find_program(const char *name);

/* A wait status as a shell reports it: the exit code, or 128+N for a
 * process killed by signal N. */
int ctrk_exit_code(int status);

#endif
