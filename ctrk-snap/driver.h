/* Snapshot drivers: how a snapshot's directory is filled and mounted.
 *
 * ctrk-snap keeps the metadata (keys, kinds, parents, ids) and the locking;
 * a driver only sees one snapshot at a time as a directory DIR (created
 * empty by ctrk-snap) and the directories of its parents, nearest first.
 * Every driver keeps the snapshot's files in DIR/fs: layers are applied
 * there and `usage` measures it.  Built in: overlay and native; any other
 * NAME is the program ctrk-snap-NAME on PATH (see driver_exec.c and
 * ctrk-snap(1), EXTERNAL DRIVERS). */
#ifndef CTRK_SNAP_DRIVER_H
#define CTRK_SNAP_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "apply.h"
#include "error.h"

typedef enum snap_kind {
	SNAP_ACTIVE,
	SNAP_VIEW,
	SNAP_COMMITTED,
} snap_kind_t;

/* One snapshot as a driver sees it. */
typedef struct snap_info {
	const char *key;
	snap_kind_t kind;
	long long id;
	const char *dir;            /* DRIVER/ID */
	const char *const *parents; /* parent directories, nearest first */
	size_t nparents;
} snap_info_t;

typedef struct driver driver_t;

struct driver_ops {
	/* How layers are unpacked: OVERLAY puts each layer into its own empty
	 * directory (so layers can be applied in parallel); DELETE applies a
	 * layer onto a prepared copy of its parent. */
	apply_whiteouts_t apply;
	/* Once, before the driver's first snapshot: can it work in DIR (the
	 * driver's snapshot directory)?  SCRATCH is an empty directory in DIR
	 * to try things in; ctrk-snap deletes it afterwards.  Nothing the
	 * probe does may outlive it, also when it is killed (a mount belongs
	 * in a mount namespace that dies with the probe). */
	int (*probe)(const driver_t *d, const char *dir, const char *scratch, ctrk_error_t *err);
	int (*prepare)(const driver_t *d, const snap_info_t *s, ctrk_error_t *err);
	/* The rootfs mounts (a JSON array) for an active snapshot or a view. */
	cJSON *(*mounts)(const driver_t *d, const snap_info_t *s, ctrk_error_t *err);
	int (*commit)(const driver_t *d, const snap_info_t *s, ctrk_error_t *err);
	/* Before ctrk-snap deletes DIR (may be NULL). */
	int (*remove)(const driver_t *d, const snap_info_t *s, ctrk_error_t *err);
};

struct driver {
	char *name;
	char *program; /* external drivers: the ctrk-snap-NAME found on PATH */
	const struct driver_ops *ops;
};

/* Find driver NAME: built in, or ctrk-snap-NAME on PATH. */
int driver_find(const char *name, driver_t *d, ctrk_error_t *err);
void driver_free(driver_t *d);

extern const struct driver_ops driver_overlay_ops;
extern const struct driver_ops driver_native_ops;
extern const struct driver_ops driver_exec_ops;

const char *snap_kind_name(snap_kind_t k);

/* Helpers the drivers share (driver.c). */
char *snap_fs_dir(const char *dir);
/* A bind mount of DIR/fs on "/", read-only or not. */
cJSON *snap_bind_mounts(const char *fs, bool readonly);
/* cp -a SRC/. DST (preserving owners, modes, times, xattrs, hardlinks). */
int snap_copy_tree(const char *src, const char *dst, ctrk_error_t *err);
/* Run ARGV with IN on its stdin (NULL: /dev/null); its stdout in *OUT (at
 * most MAX bytes; OUT NULL: discarded) and its stderr on ours.  A failure
 * to run or a non-zero exit status is an error. */
int snap_run(char *const argv[], const char *in, size_t inlen, size_t max, char **out, size_t *outlen,
	     ctrk_error_t *err);

#endif
