/* Terminals: the console socket through which the runtime hands over the
 * master side of the container's pty, and the local terminal in raw mode. */
#ifndef CTRK_RUN_TTY_H
#define CTRK_RUN_TTY_H

#include <stdbool.h>
#include <termios.h>

#include "error.h"

/* A listening unix socket at PATH (replacing a stale one). */
int tty_console_listen(const char *path, ctrk_error_t *err);

/* Accept the runtime's connection on LISTEN_FD and receive the pty master
 * it sends (SCM_RIGHTS).  The runtime has exited by then, so the
 * connection is already queued: nothing waits. */
int tty_console_receive(int listen_fd, ctrk_error_t *err);

typedef struct tty_raw {
	int fd;
	struct termios saved;
} tty_raw_t;

/* Put terminal FD in raw mode (as ssh and docker do, so that ^C and the
 * like reach the container's terminal), saving its settings in R.  A FD
 * that is not a terminal is left alone (R->fd = -1). */
int tty_make_raw(int fd, tty_raw_t *r, ctrk_error_t *err);
void tty_restore(tty_raw_t *r);

/* Give TO the window size of terminal FROM; nothing when FROM is none. */
void tty_copy_size(int from, int to);

#endif
