/* One container per root file system: the owner of a container (the
 * foreground ctrk-run, or the supervisor) holds an exclusive flock(2) on
 * the rootfs directory itself from before the runtime starts until the
 * container has ended.  The lock is on the directory's inode, so it holds
 * across state directories and for every path (bind mount, symlink) that
 * leads to it; a crash drops it with the process; nothing is left on disk.
 * flock's LOCK_NB makes the check and the taking one step: of any number of
 * starts at once, exactly one wins. */
#ifndef CTRK_RUN_INUSE_H
#define CTRK_RUN_INUSE_H

#include "error.h"

/* Lock ROOTFS (a directory) for a container.  Returns the descriptor that
 * holds the lock, at or above MIN_FD (so that it is never one of the
 * descriptors passed to the container).  When another container holds it:
 * -1 with a message naming that container when it is in this state
 * directory, else its owner's pid. */
int inuse_lock_rootfs(const char *rootfs, int min_fd, ctrk_error_t *err);

/* FD (close-on-exec) moved to MIN_FD or above; FD is closed.  -1 when
 * that fails. */
int inuse_fd_above(int fd, int min_fd);

#endif
