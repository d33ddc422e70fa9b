/* ctrk-vol: what store.c, types.c and archive.c share beyond vol.h — the
 * type-specific steps of create and rm, the store's layout, and external
 * drivers. */
#ifndef CTRK_VOL_TYPES_H
#define CTRK_VOL_TYPES_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "error.h"
#include "vol.h"

#define VOL_META "meta.json"
#define VOL_DATA "_data"
#define VOL_IMAGE "disk.img"
#define VOL_META_MAX (1u << 20)

/* Entries of the store that are not volumes: a volume being created
 * (".tmp-NAME") or removed (".rm-NAME"), each flock(2)ed by the process at
 * work for as long as it lives; the store's lock file ".lock". */
#define VOL_TMP_PREFIX ".tmp-"
#define VOL_RM_PREFIX ".rm-"

/* Check O's type, options, labels and owner for a new volume of NAME and
 * build its metadata: {"version", "name", "type", "options", "labels",
 * "uid", "gid", "mode"}.  Every option is checked here (a tmpfs by a trial
 * mount), so that a bad one never first shows at container start. */
cJSON *types_new_meta(const vol_opts_t *o, const char *name, ctrk_error_t *err);

/* Make the type's content in V's directory (still the temp one):
 * dir: _data; loop: disk.img; external: the driver's create. */
int types_create(const vol_t *v, ctrk_error_t *err);

/* Undo types_create() or prepare V's removal: unmount a loop volume,
 * tell an external driver.  The store removes the directory. */
int types_remove(const vol_t *v, ctrk_error_t *err);

/* Tell V's external driver to remove it ("remove"). */
int types_driver_remove(const vol_t *v, ctrk_error_t *err);

/* Is V's type one that is mounted on the host ($CTRK_RUN/volumes/NAME)
 * while in use (loop, external), and is it now? */
bool types_mounted(const vol_t *v);

/* Is PATH a mount point? */
bool types_path_is_mount(const char *path);

/* Is V of a type mounted on the host while in use (loop, external)? */
bool types_needs_host_mount(const vol_t *v);

/* $CTRK_RUN/volumes/NAME; the caller frees. */
char *types_mount_point(const char *name);

/* The type named in V's metadata ("" when it has none). */
const char *vol_type(const vol_t *v);
bool vol_type_builtin(const char *type);

/* Check a metadata document read from disk (WHAT names it). */
int vol_meta_validate(const cJSON *meta, const char *name, const char *what, ctrk_error_t *err);

/* Create volume NAME as vol_create() does, but call FILL(tmp volume,
 * content path, ARG) before the volume is renamed into place: what FILL
 * writes is part of the volume from its first moment, and a crash during
 * FILL leaves only a temp directory that the next command removes. */
typedef int (*vol_fill_fn)(const vol_t *v, void *arg, ctrk_error_t *err);
int vol_create_with(const vol_opts_t *o, const char *name, bool anonymous, vol_fill_fn fill, void *arg,
		    vol_t *out, ctrk_error_t *err);

/* Remove dead temp entries of the store (see VOL_TMP_PREFIX): those whose
 * process is gone.  REPORT (may be NULL) gets an entry per leftover
 * {kind, path, fixed}; with FIX false nothing is removed. */
int vol_store_sweep(bool fix, cJSON *report, ctrk_error_t *err);

/* Attach IMAGE to a free loop device and mount its ext4 file system on
 * TARGET (autoclear: the device goes with the last unmount). */
int types_loop_mount(const char *image, const char *target, ctrk_error_t *err);

#endif
