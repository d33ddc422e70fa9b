/* What keeps one state directory ($CTRK_RUN) apart from every other: its
 * own runtime state root and its own cgroup parent, so that two state
 * directories never see or touch each other's containers, even with the
 * same ids.
 *
 *   $CTRK_RUN/runtime/RUNTIME   the runtime's --root (runc, crun, ...)
 *   $CTRK_RUN/runtime/cgroup.lock
 *                               held shared by every owner of a container
 *                               of this state directory; the empty cgroup
 *                               parent is removed only under it, exclusive
 *   cgroup parent               "ctrk" for the default /run/ctrk, else
 *                               "ctrk-" and 8 hex digits of a hash of the
 *                               canonical $CTRK_RUN */
#ifndef CTRK_RUN_RUNDIR_H
#define CTRK_RUN_RUNDIR_H

#include "error.h"

/* $CTRK_RUN, absolute and without symlinks when it exists.  Caller frees. */
char *rundir_path(void);

/* The cgroup parent of this state directory's containers ("ctrk" or
 * "ctrk-1a2b3c4d"), without slashes.  Caller frees. */
char *rundir_cgroup_parent(void);

/* The default runtime state root for RUNTIME_NAME, created 0700.  NULL on
 * failure.  Caller frees. */
char *rundir_runtime_root(const char *runtime_name, ctrk_error_t *err);

/* Hold the state directory's lock shared, for as long as a container of it
 * may have a cgroup: the returned descriptor keeps it (close to let go). */
int rundir_hold(ctrk_error_t *err);

/* Remove container ID's cgroups (after a crash the runtime may leave the
 * empty directories), and the cgroup parent when it is empty and no owner
 * holds the state directory.  ID may be NULL.  Only empty directories go. */
void rundir_remove_cgroups(const char *id);

#endif
