/* The snapshot store: metadata, locking, and the verbs that change it. */
#include "snap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "extract.h"
#include "fsutil.h"
#include "json.h"
#include "lock.h"
#include "mountinfo.h"
#include "statedir.h"
#include "store.h"

#define META_MAX (64u << 20)

static const char *const kind_names[] = {"active", "view", "committed"};

const char *
snap_kind_name(snap_kind_t k)
{
	return kind_names[k];
}

/* ---- opening, locking, metadata ----------------------------------------- */

/* The driver's probe, in a scratch directory made under the store's lock
 * and held (ctrk_lock_dir) before the lock is dropped: `check --fix`, which
 * takes that lock exclusively, sees the directory only once it is held, and
 * removes it only when the probe that made it was killed. */
static int
probe(snap_store_t *s, ctrk_error_t *err)
{
	cleanup_free char *lock = ctrk_strdup_printf("%s/lock", s->dir);
	cleanup_free char *scratch = ctrk_strdup_printf("%s/probe-XXXXXX", s->dir);
	cleanup_close int store_lock = ctrk_lock_file(lock, false, err);
	if (store_lock < 0)
		return -1;
	if (!mkdtemp(scratch))
		return ctrk_error_errno(err, "cannot create a directory in '%s' for the probe", s->dir);
	cleanup_close int held = ctrk_lock_dir(scratch, false, err);
	close(steal_fd(&store_lock));
	int rc = held < 0 ? -1 : s->driver.ops->probe(&s->driver, s->dir, scratch, err);
	ctrk_remove_tree(scratch, &(ctrk_error_t){0});
	return rc;
}

int
snap_store_open(snap_store_t *s, const char *root, const char *driver, ctrk_error_t *err)
{
	memset(s, 0, sizeof *s);
	s->lock_fd = -1;
	if (!root)
		root = ctrk_default_root();
	if (driver_find(driver, &s->driver, err) < 0)
		return -1;
	cleanup_free char *sub = ctrk_strdup_printf("snapshots/%s", driver);
	cleanup_free char *meta = NULL, *volatile_meta = NULL;
	if (ctrk_private_dir(root, sub, err) < 0)
		goto fail;
	char abs[PATH_MAX];
	if (!realpath(root, abs)) {
		ctrk_error_errno(err, "cannot resolve '%s'", root);
		goto fail;
	}
	s->root = ctrk_xstrdup(abs);
	s->dir = ctrk_strdup_printf("%s/snapshots/%s", abs, driver);
	meta = ctrk_strdup_printf("%s/metadata.json", s->dir);
	volatile_meta = ctrk_strdup_printf("%s/volatile.json", s->dir);
	/* Probe once, before the first snapshot: a driver that cannot work
	 * here should say so before anything is created. */
	if (!ctrk_path_exists(meta) && !ctrk_path_exists(volatile_meta) && s->driver.ops->probe &&
	    probe(s, err) < 0)
		goto fail;
	return 0;
fail:
	ctrk_error_wrap(err, "opening the snapshots of driver '%s' in '%s'", driver, root);
	snap_store_close(s);
	return -1;
}

void
snap_store_close(snap_store_t *s)
{
	snap_unlock(s);
	driver_free(&s->driver);
	free(s->root);
	free(s->dir);
	s->root = s->dir = NULL;
}

/* Which file snap_save() must write. */
enum { DIRTY_DURABLE = 1, DIRTY_VOLATILE = 2 };

static cJSON *snapshots(const snap_store_t *s);
static bool id_used(const snap_store_t *s, long long id);

static int
meta_validate(const cJSON *m, const char *path, bool is_volatile, ctrk_error_t *err)
{
	const cJSON *snaps = NULL;
	long long next = 0;
	if (!cJSON_IsObject(m) || ctrk_json_get_int64(m, "nextId", true, &next, "metadata", err) < 0 ||
	    ctrk_json_get_object(m, "snapshots", true, &snaps, "metadata", err) < 0)
		goto bad;
	const cJSON *e;
	cJSON_ArrayForEach(e, snaps)
	{
		const char *kind = NULL, *parent = NULL;
		long long id = 0;
		if (!cJSON_IsObject(e) || ctrk_json_get_int64(e, "id", true, &id, e->string, err) < 0 ||
		    ctrk_json_get_string(e, "kind", true, &kind, e->string, err) < 0 ||
		    ctrk_json_get_string(e, "parent", false, &parent, e->string, err) < 0)
			goto bad;
		if (strcmp(kind, "active") && strcmp(kind, "view") && strcmp(kind, "committed")) {
			ctrk_error_set(err, 0, "'%s': unknown kind '%s'", e->string, kind);
			goto bad;
		}
		if (is_volatile && !strcmp(kind, "committed")) {
			ctrk_error_set(err, 0, "'%s': a committed snapshot cannot be volatile", e->string);
			goto bad;
		}
		/* Which file a record is in says whether it is volatile. */
		if (cJSON_GetObjectItemCaseSensitive(e, "volatile")) {
			ctrk_error_set(err, 0, "'%s': unexpected field 'volatile'", e->string);
			goto bad;
		}
	}
	return 0;
bad:
	if (!cJSON_IsObject(m))
		ctrk_error_set(err, 0, "not a JSON object");
	return ctrk_error_wrap(err, "metadata '%s'", path);
}

/* The volatile records join the durable ones in S->meta.  volatile.json is
 * never synced, so after a crash it may be old, empty or (on some file
 * systems) garbage: an empty file names nothing, an unreadable one is
 * ignored with a warning, and a record that the durable ones contradict (a
 * key or a directory both name, a parent that is gone) is stale and
 * dropped.  What is dropped leaves directories that `check` reports. */
static void
merge_volatile(snap_store_t *s)
{
	cleanup_free char *path = ctrk_strdup_printf("%s/volatile.json", s->dir);
	struct stat st;
	if (stat(path, &st) < 0 || st.st_size == 0)
		return;
	ctrk_error_t err = {0};
	cleanup_json cJSON *v = ctrk_json_read_file(path, META_MAX, &err);
	if (!v || meta_validate(v, path, true, &err) < 0) {
		ctrk_warn("ignoring the volatile snapshots: %s", err.msg);
		return;
	}
	cJSON *all = snapshots(s);
	cJSON *e = cJSON_GetObjectItemCaseSensitive(v, "snapshots")->child;
	while (e) {
		cJSON *next = e->next;
		const char *parent = snap_entry_parent(e);
		const cJSON *pe = parent ? snap_get(s, parent) : NULL;
		bool stale = snap_get(s, e->string) || id_used(s, snap_entry_id(e)) ||
			     (parent && (!pe || snap_entry_is_volatile(pe)));
		if (!stale) {
			cJSON_DetachItemViaPointer(cJSON_GetObjectItemCaseSensitive(v, "snapshots"), e);
			cJSON_AddBoolToObject(e, "volatile", true);
			cJSON_AddItemToObject(all, e->string, e);
		}
		e = next;
	}
	/* Both files keep a nextId; the higher one holds. */
	cJSON *n = cJSON_GetObjectItemCaseSensitive(s->meta, "nextId");
	double vn = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v, "nextId"));
	if (vn > cJSON_GetNumberValue(n))
		cJSON_SetNumberValue(n, vn);
}

int
snap_lock(snap_store_t *s, bool exclusive, ctrk_error_t *err)
{
	cleanup_free char *lock = ctrk_strdup_printf("%s/lock", s->dir);
	cleanup_free char *path = ctrk_strdup_printf("%s/metadata.json", s->dir);
	s->lock_fd = ctrk_lock_file(lock, exclusive, err);
	if (s->lock_fd < 0)
		return -1;
	s->dirty = 0;
	if (!ctrk_path_exists(path)) {
		s->meta = cJSON_CreateObject();
		cJSON_AddNumberToObject(s->meta, "version", 1);
		cJSON_AddStringToObject(s->meta, "driver", s->driver.name);
		cJSON_AddNumberToObject(s->meta, "nextId", 1);
		cJSON_AddObjectToObject(s->meta, "snapshots");
	} else {
		s->meta = ctrk_json_read_file(path, META_MAX, err);
		if (!s->meta || meta_validate(s->meta, path, false, err) < 0) {
			snap_unlock(s);
			return -1;
		}
	}
	merge_volatile(s);
	return 0;
}

void
snap_unlock(snap_store_t *s)
{
	cJSON_Delete(s->meta);
	s->meta = NULL;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
}

/* One of the two files: the entries that are (not) volatile, without the mark. */
static char *
render_meta(const snap_store_t *s, bool is_volatile)
{
	cleanup_json cJSON *m = cJSON_CreateObject();
	cJSON_AddNumberToObject(m, "version", 1);
	cJSON_AddStringToObject(m, "driver", s->driver.name);
	cJSON_AddNumberToObject(m, "nextId", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s->meta, "nextId")));
	cJSON *out = cJSON_AddObjectToObject(m, "snapshots");
	const cJSON *e;
	cJSON_ArrayForEach(e, snapshots(s))
	{
		if (snap_entry_is_volatile(e) != is_volatile)
			continue;
		cJSON *c = cJSON_Duplicate(e, true);
		cJSON_DeleteItemFromObjectCaseSensitive(c, "volatile");
		cJSON_AddItemToObject(out, e->string, c);
	}
	return ctrk_json_render(m, false);
}

int
snap_save(snap_store_t *s, ctrk_error_t *err)
{
	/* The durable file first: when a volatile snapshot is committed, a
	 * crash in between leaves both files naming its directory, and the
	 * durable record wins (merge_volatile). */
	if (s->dirty & DIRTY_DURABLE) {
		cleanup_free char *path = ctrk_strdup_printf("%s/metadata.json", s->dir);
		cleanup_free char *text = render_meta(s, false);
		if (ctrk_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
			return ctrk_error_wrap(err, "saving the snapshot metadata");
	}
	if (s->dirty & DIRTY_VOLATILE) {
		cleanup_free char *path = ctrk_strdup_printf("%s/volatile.json", s->dir);
		cleanup_free char *text = render_meta(s, true);
		if (ctrk_replace_file(path, text, strlen(text), 0600, err) < 0)
			return ctrk_error_wrap(err, "saving the volatile snapshot metadata");
	}
	s->dirty = 0;
	return 0;
}

static cJSON *
snapshots(const snap_store_t *s)
{
	return cJSON_GetObjectItemCaseSensitive(s->meta, "snapshots");
}

cJSON *
snap_get(const snap_store_t *s, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(snapshots(s), key);
}

cJSON *
snap_need(const snap_store_t *s, const char *key, ctrk_error_t *err)
{
	cJSON *e = snap_get(s, key);
	if (!e)
		ctrk_error_set(err, 0, "snapshot '%s' does not exist", key);
	return e;
}

snap_kind_t
snap_entry_kind(const cJSON *e)
{
	const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "kind"));
	return strcmp(k, "active") == 0 ? SNAP_ACTIVE : strcmp(k, "view") == 0 ? SNAP_VIEW : SNAP_COMMITTED;
}

long long
snap_entry_id(const cJSON *e)
{
	return (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(e, "id"));
}

bool
snap_entry_is_volatile(const cJSON *e)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "volatile"));
}

const char *
snap_entry_parent(const cJSON *e)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "parent"));
}

static bool
id_used(const snap_store_t *s, long long id)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, snapshots(s))
	if (snap_entry_id(e) == id)
		return true;
	return false;
}

/* The next free id, for a snapshot in the file DIRTY names. */
static long long
next_id(snap_store_t *s, unsigned dirty)
{
	cJSON *n = cJSON_GetObjectItemCaseSensitive(s->meta, "nextId");
	long long id = (long long)cJSON_GetNumberValue(n);
	/* A crash between creating a directory and saving the metadata that
	 * names it leaves the directory (an orphan `check` reports) and the
	 * old nextId: step over it instead of failing on it forever.  The same
	 * steps over the directories of volatile snapshots, whose ids the
	 * durable nextId does not count. */
	for (;;) {
		cleanup_free char *dir = snap_dir(s, id);
		if (!ctrk_path_exists(dir) && !id_used(s, id))
			break;
		id++;
	}
	cJSON_SetNumberValue(n, (double)(id + 1));
	s->dirty |= dirty;
	return id;
}

long long
snap_next_id(snap_store_t *s)
{
	return next_id(s, DIRTY_DURABLE);
}

static cJSON *
add_entry(snap_store_t *s, const char *key, snap_kind_t kind, const char *parent, long long id)
{
	char created[32];
	time_t now = time(NULL);
	struct tm tm;
	strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "id", (double)id);
	cJSON_AddStringToObject(e, "kind", snap_kind_name(kind));
	if (parent)
		cJSON_AddStringToObject(e, "parent", parent);
	cJSON_AddStringToObject(e, "created", created);
	ctrk_json_set(snapshots(s), key, e);
	return e;
}

void
snap_add(snap_store_t *s, const char *key, snap_kind_t kind, const char *parent, long long id)
{
	add_entry(s, key, kind, parent, id);
	s->dirty |= DIRTY_DURABLE;
}

bool
snap_has_children(const snap_store_t *s, const char *key)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, snapshots(s))
	{
		const char *p = snap_entry_parent(e);
		if (p && strcmp(p, key) == 0)
			return true;
	}
	return false;
}

char *
snap_dir(const snap_store_t *s, long long id)
{
	return ctrk_strdup_printf("%s/%lld", s->dir, id);
}

/* ---- the driver's view of a snapshot ------------------------------------ */

int
snap_info_get(const snap_store_t *s, const char *key, const cJSON *e, snap_info_buf_t *b, ctrk_error_t *err)
{
	memset(b, 0, sizeof *b);
	size_t n = 0, cap = 0;
	for (const char *p = snap_entry_parent(e); p; n++) {
		const cJSON *pe = snap_get(s, p);
		if (!pe) {
			snap_info_free(b);
			return ctrk_error_set(err, 0, "snapshot '%s': parent '%s' does not exist", key, p);
		}
		if (n > 4096) {
			snap_info_free(b);
			return ctrk_error_set(err, 0, "snapshot '%s': the chain of parents loops", key);
		}
		if (n + 1 >= cap) {
			cap = cap ? 2 * cap : 8;
			b->parents = ctrk_xrealloc(b->parents, cap * sizeof *b->parents);
		}
		b->parents[n] = snap_dir(s, snap_entry_id(pe));
		p = snap_entry_parent(pe);
	}
	b->dir = snap_dir(s, snap_entry_id(e));
	b->info = (snap_info_t){
		.key = key,
		.kind = snap_entry_kind(e),
		.id = snap_entry_id(e),
		.dir = b->dir,
		.parents = (const char *const *)b->parents,
		.nparents = n,
	};
	return 0;
}

void
snap_info_free(snap_info_buf_t *b)
{
	for (size_t i = 0; i < b->info.nparents; i++)
		free(b->parents[i]);
	free(b->parents);
	free(b->dir);
	memset(b, 0, sizeof *b);
}

/* ---- the verbs ---------------------------------------------------------- */

static int
check_key(const char *key, ctrk_error_t *err)
{
	if (!key[0])
		return ctrk_error_set(err, 0, "a snapshot key must not be empty");
	for (const char *p = key; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return ctrk_error_set(err, 0, "snapshot key '%s' has a control character", key);
	return 0;
}

int
snap_create(snap_store_t *s, const char *key, const char *parent, snap_kind_t kind, bool is_volatile,
	    cJSON **mounts, ctrk_error_t *err)
{
	if (check_key(key, err) < 0 || snap_lock(s, true, err) < 0)
		return -1;
	cleanup_free char *dir = NULL;
	snap_info_buf_t b = {0};
	if (snap_get(s, key)) {
		ctrk_error_set(err, 0, "snapshot '%s' already exists", key);
		goto fail;
	}
	if (parent) {
		const cJSON *pe = snap_need(s, parent, err);
		if (!pe)
			goto fail;
		if (snap_entry_kind(pe) != SNAP_COMMITTED) {
			ctrk_error_set(err, 0, "parent '%s' is %s, not committed", parent,
				       snap_kind_name(snap_entry_kind(pe)));
			goto fail;
		}
	}
	unsigned file = is_volatile ? DIRTY_VOLATILE : DIRTY_DURABLE;
	cJSON *e = add_entry(s, key, kind, parent, next_id(s, file));
	if (is_volatile)
		cJSON_AddBoolToObject(e, "volatile", true);
	s->dirty |= file;
	if (snap_info_get(s, key, e, &b, err) < 0)
		goto fail;
	dir = ctrk_xstrdup(b.dir);
	/* The directory first, then the metadata that names it. */
	if (mkdir(dir, 0700) < 0) {
		ctrk_error_errno(err, "cannot create '%s'", dir);
		free(steal_pointer(&dir));
		goto fail;
	}
	if (s->driver.ops->prepare(&s->driver, &b.info, err) < 0)
		goto undo;
	*mounts = s->driver.ops->mounts(&s->driver, &b.info, err);
	if (!*mounts)
		goto undo;
	if (snap_save(s, err) < 0) {
		cJSON_Delete(steal_pointer(mounts));
		goto undo;
	}
	snap_info_free(&b);
	snap_unlock(s);
	return 0;
undo:
	ctrk_remove_tree(dir, &(ctrk_error_t){0});
fail:
	snap_info_free(&b);
	snap_unlock(s);
	return ctrk_error_wrap(err, "%s '%s'", kind == SNAP_VIEW ? "cannot create view" : "cannot prepare", key);
}

int
snap_mounts(snap_store_t *s, const char *key, cJSON **mounts, cJSON **snapshot, ctrk_error_t *err)
{
	if (snap_lock(s, false, err) < 0)
		return -1;
	snap_info_buf_t b = {0};
	const cJSON *e = snap_need(s, key, err);
	int ret = -1;
	if (!e)
		goto out;
	if (snap_entry_kind(e) == SNAP_COMMITTED) {
		ctrk_error_set(err, 0, "snapshot '%s' is committed: prepare or view a child of it", key);
		goto out;
	}
	if (snap_info_get(s, key, e, &b, err) < 0)
		goto out;
	*mounts = s->driver.ops->mounts(&s->driver, &b.info, err);
	if (*mounts)
		*snapshot = snap_descriptor_field(s, key, snap_entry_kind(e), snap_entry_parent(e),
						  snap_entry_is_volatile(e));
	ret = *mounts ? 0 : -1;
out:
	snap_info_free(&b);
	snap_unlock(s);
	return ret < 0 ? ctrk_error_wrap(err, "mounts of '%s'", key) : 0;
}

int
snap_commit(snap_store_t *s, const char *name, const char *key, ctrk_error_t *err)
{
	if (check_key(name, err) < 0 || snap_lock(s, true, err) < 0)
		return -1;
	snap_info_buf_t b = {0};
	cJSON *e = snap_need(s, key, err);
	int ret = -1;
	if (!e)
		goto out;
	if (snap_entry_kind(e) != SNAP_ACTIVE) {
		ctrk_error_set(err, 0, "snapshot '%s' is %s, not active", key, snap_kind_name(snap_entry_kind(e)));
		goto out;
	}
	if (snap_get(s, name)) {
		ctrk_error_set(err, 0, "snapshot '%s' already exists", name);
		goto out;
	}
	if (snap_info_get(s, key, e, &b, err) < 0 || s->driver.ops->commit(&s->driver, &b.info, err) < 0)
		goto out;
	/* A committed snapshot is durable, whatever it was prepared as. */
	s->dirty |= DIRTY_DURABLE | (snap_entry_is_volatile(e) ? DIRTY_VOLATILE : 0);
	e = cJSON_DetachItemFromObjectCaseSensitive(snapshots(s), key);
	cJSON_ReplaceItemInObjectCaseSensitive(e, "kind", cJSON_CreateString("committed"));
	cJSON_DeleteItemFromObjectCaseSensitive(e, "volatile");
	ctrk_json_set(snapshots(s), name, e);
	ret = snap_save(s, err);
out:
	snap_info_free(&b);
	snap_unlock(s);
	return ret < 0 ? ctrk_error_wrap(err, "cannot commit '%s' as '%s'", key, name) : 0;
}

static int
compare_index(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* The mounts that use snapshot KEY (entry E, driver view B): any mount of
 * a directory in its own DIR, and the mounts of what the driver hands out
 * for it (a view of overlay names only its parents' directories).  Taken
 * under the locks ctrk-mount takes (lib/common/mountinfo.h), which stay in
 * *LOCKS for the caller to drop once the snapshot is gone. */
static int
find_users(snap_store_t *s, const cJSON *e, const snap_info_buf_t *b, ctrk_dir_locks_t *locks,
	   ctrk_mount_table_t *t, size_t **found, size_t *nfound, ctrk_error_t *err)
{
	cleanup_json cJSON *mounts = NULL;
	const cJSON *m;
	char *dirs[8] = {0};
	size_t ndirs = 0;
	ctrk_error_t ignored = {0};
	dirs[ndirs++] = snap_fs_dir(b->dir);
	/* The built-in drivers say what their mounts are in-process; an
	 * external one keeps its files in DIR/fs (driver.h), and is not run
	 * once more just to ask. */
	if (snap_entry_kind(e) != SNAP_COMMITTED && !s->driver.program)
		mounts = s->driver.ops->mounts(&s->driver, &b->info, &ignored);
	cJSON_ArrayForEach(m, mounts) if (ndirs < 8) dirs[ndirs++] = ctrk_mount_object_dir(m);
	int ret = ctrk_dir_locks_take(locks, dirs, ndirs, err);
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i]);
	if (ret < 0 || ctrk_mount_table_read_all(t, err) < 0)
		return -1;
	ctrk_mounts_using(t, b->dir, found, nfound);
	cJSON_ArrayForEach(m, mounts) ctrk_mounts_of(t, m, found, nfound);
	if (*nfound > 1)
		qsort(*found, *nfound, sizeof **found, compare_index); /* the kernel's order: oldest first */
	return 0;
}

/* Refuse to remove snapshot KEY while it is mounted; with FORCE, detach
 * this namespace's mounts of it instead (MNT_DETACH: a process that still
 * uses one keeps what it has open, on files that are about to be
 * deleted).  A mount in another mount namespace (a running container's
 * copy) cannot be detached from here: it is refused also with FORCE.
 * *DETACHED lists what was detached. */
static int
check_not_mounted(snap_store_t *s, const char *key, const cJSON *e, const snap_info_buf_t *b, bool force,
		  char **detached, ctrk_dir_locks_t *locks, ctrk_error_t *err)
{
	ctrk_mount_table_t t = {0};
	cleanup_free size_t *found = NULL;
	/* Declared before the first goto: a jump over a cleanup variable's
	 * declaration would free garbage at the end of the scope. */
	cleanup_free char *where = NULL;
	size_t nfound = 0;
	int ret = 0;
	if (find_users(s, e, b, locks, &t, &found, &nfound, err) < 0) {
		ret = -1; /* fail closed: not knowing is not "not mounted" */
		goto out;
	}
	if (nfound == 0)
		goto out;
	where = ctrk_mount_targets(&t, found, nfound);
	bool elsewhere = false;
	for (size_t i = 0; i < nfound; i++)
		elsewhere |= t.v[found[i]].ns_pid != 0;
	if (elsewhere && force) {
		ret = ctrk_error_set(err, 0, "snapshot '%s' is mounted on %s: stop what runs there first", key, where);
		err->errnum = EBUSY;
		goto out;
	}
	if (!force) {
		ret = ctrk_error_set(err, 0, "snapshot '%s' is mounted on %s: unmount it first (or --force)", key, where);
		err->errnum = EBUSY;
		goto out;
	}
	/* The newest first; detaching one also detaches the mounts on it. */
	for (size_t i = nfound; i-- > 0;) {
		const char *target = t.v[found[i]].target;
		if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT) {
			ret = ctrk_error_errno(err, "cannot detach '%s'", target);
			goto out;
		}
	}
	*detached = steal_pointer(&where);
out:
	ctrk_mount_table_free(&t);
	return ret;
}

int
snap_remove(snap_store_t *s, const char *key, bool force, char **detached, ctrk_error_t *err)
{
	*detached = NULL;
	if (snap_lock(s, true, err) < 0)
		return -1;
	snap_info_buf_t b = {0};
	ctrk_dir_locks_t locks = {0};
	cleanup_free char *trash = NULL;
	cleanup_close int held = -1;
	cJSON *e = snap_need(s, key, err);
	int ret = -1;
	if (!e) {
		err->errnum = ENOENT; /* for teardown: already removed */
		goto out;
	}
	if (snap_has_children(s, key)) {
		ctrk_error_set(err, 0, "snapshot '%s' has children: remove them first", key);
		goto out;
	}
	if (snap_info_get(s, key, e, &b, err) < 0)
		goto out;
	if (check_not_mounted(s, key, e, &b, force, detached, &locks, err) < 0)
		goto out;
	if (s->driver.ops->remove && s->driver.ops->remove(&s->driver, &b.info, err) < 0)
		goto out;
	/* The metadata first, then the directory: a crash in between leaves
	 * an orphan directory, never a snapshot without its files. */
	s->dirty |= snap_entry_is_volatile(e) ? DIRTY_VOLATILE : DIRTY_DURABLE;
	cJSON_DeleteItemFromObjectCaseSensitive(snapshots(s), key);
	if (snap_save(s, err) < 0)
		goto out;
	/* Held until its files are gone, so that `check --fix` leaves them. */
	held = ctrk_lock_dir(b.dir, false, &(ctrk_error_t){0});
	trash = ctrk_strdup_printf("%s/trash-%lld", s->dir, b.info.id);
	if (rename(b.dir, trash) < 0 && errno != ENOENT) {
		ctrk_error_errno(err, "cannot move '%s' to '%s'", b.dir, trash);
		goto out;
	}
	ret = 0;
out:
	/* Once the directory is renamed, a ctrk-mount that waited for the
	 * lock finds it gone. */
	ctrk_dir_locks_release(&locks);
	snap_info_free(&b);
	snap_unlock(s);
	if (ret < 0)
		return ctrk_error_wrap(err, "cannot remove '%s'", key);
	/* Deleting can take long: not under the lock. */
	if (ctrk_remove_tree(trash, err) < 0)
		return ctrk_error_wrap(err, "snapshot '%s' removed, but deleting its files failed", key);
	return 0;
}

cJSON *
snap_stat_json(const snap_store_t *s, const char *key, const cJSON *e)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "key", key);
	cJSON_AddStringToObject(j, "kind", snap_kind_name(snap_entry_kind(e)));
	if (snap_entry_parent(e))
		cJSON_AddStringToObject(j, "parent", snap_entry_parent(e));
	if (snap_entry_is_volatile(e))
		cJSON_AddBoolToObject(j, "volatile", true);
	cJSON_AddStringToObject(j, "driver", s->driver.name);
	cJSON_AddStringToObject(j, "root", s->root);
	cJSON_AddNumberToObject(j, "id", (double)snap_entry_id(e));
	const char *created = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "created"));
	if (created)
		cJSON_AddStringToObject(j, "created", created);
	return j;
}

cJSON *
snap_descriptor_field(const snap_store_t *s, const char *key, snap_kind_t kind, const char *parent,
		      bool is_volatile)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "key", key);
	cJSON_AddStringToObject(j, "kind", snap_kind_name(kind));
	if (parent)
		cJSON_AddStringToObject(j, "parent", parent);
	if (is_volatile)
		cJSON_AddBoolToObject(j, "volatile", true);
	cJSON_AddStringToObject(j, "driver", s->driver.name);
	cJSON_AddStringToObject(j, "root", s->root);
	return j;
}

/* ---- usage: what the snapshot's own directory holds ---------------------- */

int
snap_usage(snap_store_t *s, const char *key, cJSON **out, ctrk_error_t *err)
{
	if (snap_lock(s, false, err) < 0)
		return -1;
	const cJSON *e = snap_need(s, key, err);
	cleanup_free char *fs = e ? ctrk_strdup_printf("%s/%lld/fs", s->dir, snap_entry_id(e)) : NULL;
	snap_unlock(s);
	if (!e)
		return -1;
	ctrk_tree_usage_t u;
	if (ctrk_tree_usage(fs, &u, err) < 0)
		return -1;
	*out = cJSON_CreateObject();
	cJSON_AddNumberToObject(*out, "size", (double)u.size);
	cJSON_AddNumberToObject(*out, "inodes", (double)u.inodes);
	return 0;
}
