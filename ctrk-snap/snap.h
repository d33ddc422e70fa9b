/* The snapshot store: $CTRK_ROOT/snapshots/DRIVER.
 *
 *   metadata.json  every snapshot of this driver but the volatile ones,
 *                  rewritten atomically (and synced) under an exclusive
 *                  flock on `lock`:
 *                  {"version":1, "driver":NAME, "nextId":N,
 *                   "snapshots": {KEY: {"id", "kind", "parent"?, "created"}}}
 *   volatile.json  the volatile snapshots (prepare/view --volatile), the
 *                  same shape, replaced atomically but never synced
 *   lock           shared for reading, exclusive for changing
 *   N/             snapshot N's directory (fs/, and work/ for overlay)
 *   trash-N/       a removed snapshot's directory being deleted
 *   probe-XXXXXX/  the driver's first-use probe (see snap_store_open)
 *
 * Crash safety: directories are created before the metadata names them and
 * dropped from the metadata before they are deleted, so a crash leaves at
 * worst a directory nobody names, which `ctrk-snap check` reports.  A
 * volatile snapshot costs no fsync to create or remove, and a crash may
 * forget it; since it lives in a file of its own, a crash cannot take the
 * durable records with it.  In memory both files are one "snapshots"
 * object, volatile entries marked "volatile": true. */
#ifndef CTRK_SNAP_SNAP_H
#define CTRK_SNAP_SNAP_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "driver.h"
#include "error.h"
#include "lock.h"

typedef struct snap_store {
	char *root; /* $CTRK_ROOT, absolute */
	char *dir;  /* ROOT/snapshots/DRIVER */
	driver_t driver;
	int lock_fd;  /* -1 when not locked */
	cJSON *meta;  /* both files, loaded under the lock */
	unsigned dirty; /* which files snap_save() must write */
} snap_store_t;

int snap_store_open(snap_store_t *s, const char *root, const char *driver, ctrk_error_t *err);
void snap_store_close(snap_store_t *s);

/* Take the lock and load the metadata; snap_unlock() drops both. */
int snap_lock(snap_store_t *s, bool exclusive, ctrk_error_t *err);
void snap_unlock(snap_store_t *s);
/* Write the metadata files that changed (under the exclusive lock). */
int snap_save(snap_store_t *s, ctrk_error_t *err);

/* The entry of KEY, or NULL. */
cJSON *snap_get(const snap_store_t *s, const char *key);
/* The entry of KEY, or NULL with "snapshot 'KEY' does not exist". */
cJSON *snap_need(const snap_store_t *s, const char *key, ctrk_error_t *err);
snap_kind_t snap_entry_kind(const cJSON *e);
bool snap_entry_is_volatile(const cJSON *e);
long long snap_entry_id(const cJSON *e);
const char *snap_entry_parent(const cJSON *e);
/* A new id for a durable snapshot (nextId is bumped: save to keep it). */
long long snap_next_id(snap_store_t *s);
/* Record durable KEY (KIND, PARENT may be NULL) with directory ID. */
void snap_add(snap_store_t *s, const char *key, snap_kind_t kind, const char *parent, long long id);
/* Has any snapshot PARENT as its parent? */
bool snap_has_children(const snap_store_t *s, const char *key);

/* DRIVER/ID (caller frees). */
char *snap_dir(const snap_store_t *s, long long id);

/* The driver's view of snapshot KEY (entry E): its dir and its parents'.
 * snap_info_free() frees what snap_info_get() allocated. */
typedef struct snap_info_buf {
	snap_info_t info;
	char *dir;
	char **parents;
} snap_info_buf_t;
int snap_info_get(const snap_store_t *s, const char *key, const cJSON *e, snap_info_buf_t *b, ctrk_error_t *err);
void snap_info_free(snap_info_buf_t *b);

/* Create snapshot KEY (active or view, volatile or not) on PARENT (may be
 * NULL); print nothing.  Its mounts are returned in *MOUNTS. */
int snap_create(snap_store_t *s, const char *key, const char *parent, snap_kind_t kind, bool is_volatile,
		cJSON **mounts, ctrk_error_t *err);
/* The mounts of active or view KEY, and its `snapshot` field. */
int snap_mounts(snap_store_t *s, const char *key, cJSON **mounts, cJSON **snapshot, ctrk_error_t *err);
int snap_commit(snap_store_t *s, const char *name, const char *key, ctrk_error_t *err);
/* Remove KEY (no children).  A mounted snapshot is refused (EBUSY, naming
 * the mount points) unless FORCE, which detaches those mounts first and
 * lists them in *DETACHED (the caller frees; NULL when none).  A missing
 * KEY is an error with errnum ENOENT. */
int snap_remove(snap_store_t *s, const char *key, bool force, char **detached, ctrk_error_t *err);
/* {"key", "kind", "parent"?, "volatile"?, "id", "created", "driver", "root"} for KEY. */
cJSON *snap_stat_json(const snap_store_t *s, const char *key, const cJSON *e);
/* The descriptor's `snapshot` field: {"key", "kind", "parent"?, "volatile"?,
 * "driver", "root"}. */
cJSON *snap_descriptor_field(const snap_store_t *s, const char *key, snap_kind_t kind, const char *parent,
			     bool is_volatile);
/* {"size", "inodes"} of KEY's own directory. */
int snap_usage(snap_store_t *s, const char *key, cJSON **out, ctrk_error_t *err);
/* What crashes left (check.c): *FINDINGS gets an array of
 *   {"problem", "snapshot"?, "path"?, "detail", "state", "error"?}
 * with state "found" (check), "removed" (check --fix), "in use" (held by a
 * running process: left alone, not a problem), "kept" (a problem --fix does
 * not remove) or "failed" (--fix could not remove it; "error" says why).
 * With FIX the store's lock is taken exclusively and leftovers removed. */
int snap_check(snap_store_t *s, bool fix, cJSON **findings, ctrk_error_t *err);

/* Unpacks, removals and probes hold their directories with
 * ctrk_lock_dir(DIR, false) (lock.h) while no record names them, so that
 * `check --fix` leaves them alone. */

/* Unpack IMAGE (the descriptor's `image` field): each layer becomes the
 * committed snapshot named by its chain ID.  *TOP gets the top one's. */
int snap_unpack(snap_store_t *s, const cJSON *image, char **top, ctrk_error_t *err);

#endif
