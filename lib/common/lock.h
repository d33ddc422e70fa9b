/* Advisory whole-file locks (flock(2)) on a lock file.
 *
 * A lock belongs to the open file description: it is dropped when the
 * descriptor is closed, also when the process dies, so a crash never leaves
 * a lock behind.  Declare the descriptor `cleanup_close int fd = -1;` and
 * the lock lasts for the scope. */
#ifndef CTRK_LOCK_H
#define CTRK_LOCK_H

#include <stdbool.h>

#include "error.h"

/* Open (creating it 0600 if needed) the lock file PATH and lock it shared or
 * EXCLUSIVE, waiting for other holders.  Returns the descriptor, or -1. */
int ctrk_lock_file(const char *path, bool exclusive, ctrk_error_t *err);

/* The same without waiting: when another holder has it, -1 with
 * err->errnum EWOULDBLOCK. */
int ctrk_lock_file_try(const char *path, bool exclusive, ctrk_error_t *err);

/* Open the directory PATH and lock it exclusively (flock(2) on the
 * directory itself: nothing is created), waiting for other holders when
 * WAIT, else failing at once with err->errnum EWOULDBLOCK.  Returns the
 * descriptor, or -1. */
int ctrk_lock_dir(const char *path, bool wait, ctrk_error_t *err);

#endif
