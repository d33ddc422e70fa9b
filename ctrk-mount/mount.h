/* Mounting a descriptor's root file system, and unmounting it.
 *
 * The rootfs mounts are the descriptor's `mounts` entries whose target is
 * "/" (see ctrk-descriptor(5)); they are mounted in order, one on top of the
 * other, on one host directory.  Nothing here reads stdin or prints: the
 * functions take a cJSON descriptor (or its mounts) and a target path, so
 * that another tool (ctrk-snap, ctrk-run) can use them as they are. */
#ifndef CTRK_MOUNT_MOUNT_H
#define CTRK_MOUNT_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "error.h"

/* One mount's options, as mount(8) takes them after -o, split into what
 * mount(2) takes: flags, a propagation change and the file system's data. */
typedef struct mount_opts {
	unsigned long flags;       /* MS_RDONLY, MS_NOSUID, MS_BIND, ... */
	unsigned long propagation; /* MS_PRIVATE, MS_SHARED, ... (| MS_REC); 0: unchanged */
	const char **data;         /* the others ("size=64m", "lowerdir=..."), borrowed */
	size_t ndata;
} mount_opts_t;

/* Split OPTIONS (an array of strings, or NULL) into O; free with
 * mount_opts_free().  The data strings point into OPTIONS. */
int mount_opts_parse(const cJSON *options, mount_opts_t *o, ctrk_error_t *err);
void mount_opts_free(mount_opts_t *o);

/* O's data options joined with ",", as mount(2) takes them; NULL when there
 * are none.  The caller frees. */
char *mount_opts_data(const mount_opts_t *o);

/* Is M (a mount object) a rootfs mount, that is, is its target "/"? */
bool mount_is_rootfs(const cJSON *m);

/* "$CTRK_RUN/KEY/rootfs" for the descriptor's snapshot.key; the caller frees.
 * Makes $CTRK_RUN, and $CTRK_RUN/KEY when it exists, private (0700). */
char *mount_default_target(const cJSON *d, ctrk_error_t *err);

/* Mount the rootfs mounts of descriptor D, in order, on TARGET, creating it
 * (mode 0755, with its parents) when missing.  TARGET must not be a mount
 * point already.  A writable snapshot that is mounted already (an overlay
 * whose upperdir a mount uses; a writable bind mount of the descriptor's
 * snapshot whose source a mount uses) is refused with EBUSY, naming where it
 * is mounted, unless FORCE.  The check and the mounts happen under the
 * locks ctrk-snap remove takes too (lib/common/mountinfo.h).  On success
 * *ROOTFS is TARGET made absolute (the caller frees).  On failure
 * everything mounted so far is unmounted, newest first, and the
 * directories this call created are removed. */
int mount_rootfs(const cJSON *d, const char *target, bool force, char **rootfs, ctrk_error_t *err);

/* Unmount TARGET and everything mounted on or below it, newest first.  A
 * busy mount is an error naming the processes that use it, unless LAZY:
 * then it is detached (MNT_DETACH) and *WARNING says so (the caller prints
 * and frees it; NULL when nothing was busy).  When TARGET is under
 * $CTRK_RUN, it and its parents up to $CTRK_RUN are removed if empty. */
int unmount_rootfs(const char *target, bool lazy, char **warning, ctrk_error_t *err);

/* 1 when PATH is a mount point, 0 when it is not or does not exist. */
int mount_is_mounted(const char *path, ctrk_error_t *err);

/* rmdir PATH (or, when it is gone, its parent) and the parents above it
 * while they are empty and below $CTRK_RUN. */
void mount_remove_run_dirs(const char *path);

#endif
