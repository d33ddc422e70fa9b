/* check: what crashes left in a driver's snapshot directory, and (--fix)
 * removing it.
 *
 * What a killed command leaves, and how a live one is told apart:
 *   N/             a prepare or view killed between its mkdir and its
 *                  metadata save (all under the store's exclusive lock, so
 *                  a live one is never seen), or an unpack killed while it
 *                  applied layers (a live unpack holds a flock(2) on each
 *                  of its directories, taken under the store's lock when
 *                  the directory was made);
 *   trash-N/       a remove killed while it deleted (a live one holds the
 *                  directory's flock);
 *   probe-XXXXXX/  a first-use overlay probe (a live one holds its flock;
 *                  its mount lived in a namespace that died with it; a
 *                  probe of an older ctrk-snap mounted on the host, and that
 *                  mount is detached);
 *   .metadata.json.XXXXXX, .volatile.json.XXXXXX
 *                  a metadata write killed before its rename (writers hold
 *                  the store's exclusive lock).
 * check --fix takes the store's lock exclusively, so nothing new appears
 * while it looks, and removes a directory only while it holds the
 * directory's flock itself.  A directory that metadata.json or
 * volatile.json names is never removed, also when the record is stale. */
#include "snap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "extract.h"
#include "fsutil.h"
#include "json.h"

#define META_MAX (64u << 20)

/* The ids of every record in volatile.json, read as it is on disk (the
 * merge drops stale records, whose directories must still not be touched).
 * Returns -1 when the file exists but cannot be read: then it may name any
 * directory. */
static int
volatile_ids(const snap_store_t *s, cJSON **ids)
{
	cleanup_free char *path = ctrk_strdup_printf("%s/volatile.json", s->dir);
	struct stat st;
	*ids = cJSON_CreateArray();
	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (st.st_size == 0)
		return 0; /* a crash before the first write: names nothing */
	ctrk_error_t ignored = {0};
	cleanup_json cJSON *v = ctrk_json_read_file(path, META_MAX, &ignored);
	const cJSON *snaps = cJSON_GetObjectItemCaseSensitive(v, "snapshots"), *e;
	if (!cJSON_IsObject(snaps))
		return -1;
	cJSON_ArrayForEach(e, snaps)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
		if (!cJSON_IsNumber(id))
			return -1;
		cJSON_AddItemToArray(*ids, cJSON_CreateNumber(id->valuedouble));
	}
	return 0;
}

static bool
id_named(const cJSON *snapshots, const cJSON *ids, long long id)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, snapshots)
	if (snap_entry_id(e) == id)
		return true;
	cJSON_ArrayForEach(e, ids)
	if ((long long)e->valuedouble == id)
		return true;
	return false;
}

static cJSON *
finding(cJSON *out, const char *problem, const char *key, const char *path, const char *detail)
{
	cJSON *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "problem", problem);
	if (key)
		cJSON_AddStringToObject(f, "snapshot", key);
	if (path)
		cJSON_AddStringToObject(f, "path", path);
	cJSON_AddStringToObject(f, "detail", detail);
	cJSON_AddItemToArray(out, f);
	return f;
}

static void
set_state(cJSON *f, const char *state)
{
	ctrk_json_set(f, "state", cJSON_CreateString(state));
}

/* An overlay mount an older probe left on PROBE/m, in our namespace. */
static bool
has_probe_mount(const char *probe)
{
	cleanup_free char *m = ctrk_strdup_printf("%s/m", probe);
	struct stat a, b;
	return lstat(probe, &a) == 0 && lstat(m, &b) == 0 && S_ISDIR(b.st_mode) && a.st_dev != b.st_dev;
}

/* Remove leftover PATH (a directory unless FILE) unless a live process
 * holds it; record what happened in F. */
static void
fix_one(cJSON *f, const char *path, bool file, bool fix)
{
	ctrk_error_t err = {0};
	if (file) {
		bool failed = fix && unlink(path) < 0 && errno != ENOENT;
		set_state(f, !fix ? "found" : failed ? "failed" : "removed");
		if (failed)
			ctrk_json_set(f, "error", cJSON_CreateString(strerror(errno)));
		return;
	}
	cleanup_close int held = ctrk_lock_dir(path, false, &err);
	if (held < 0 && err.errnum == EWOULDBLOCK) {
		set_state(f, "in use");
		return;
	}
	if (held < 0 && err.errnum == ENOENT) {
		set_state(f, fix ? "removed" : "found");
		return;
	}
	if (held >= 0 && !fix) {
		set_state(f, "found");
		return;
	}
	if (held >= 0) {
		cleanup_free char *m = ctrk_strdup_printf("%s/m", path);
		if (has_probe_mount(path) && umount2(m, MNT_DETACH) < 0)
			ctrk_error_errno(&err, "cannot unmount '%s'", m);
		else if (ctrk_remove_tree(path, &err) == 0) {
			set_state(f, "removed");
			return;
		}
	}
	set_state(f, fix ? "failed" : "found");
	ctrk_json_set(f, "error", cJSON_CreateString(err.msg));
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The snapshot directory's entries that no record names. */
static void
check_entries(snap_store_t *s, DIR *d, const cJSON *vids, bool vol_unreadable, bool fix, cJSON *out)
{
	const cJSON *snapshots = cJSON_GetObjectItemCaseSensitive(s->meta, "snapshots");
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		cleanup_free char *path = ctrk_strdup_printf("%s/%s", s->dir, n);
		char *end = NULL;
		long long id = strtoll(n, &end, 10);
		cJSON *f;
		if (n[0] >= '0' && n[0] <= '9' && *end == '\0') {
			if (id_named(snapshots, NULL, id))
				continue;
			if (id_named(NULL, vids, id)) {
				f = finding(out, "orphan directory", NULL, path,
					    "belongs to no snapshot, but a stale record in volatile.json names it");
				set_state(f, "kept");
			} else if (vol_unreadable) {
				f = finding(out, "orphan directory", NULL, path,
					    "belongs to no snapshot, but volatile.json cannot be read and may name it");
				set_state(f, "kept");
			} else {
				fix_one(finding(out, "orphan directory", NULL, path, "belongs to no snapshot"), path,
					false, fix);
			}
		} else if (starts_with(n, "trash-")) {
			fix_one(finding(out, "orphan directory", NULL, path, "is left from a removal"), path, false,
				fix);
		} else if (starts_with(n, "probe-")) {
			f = finding(out, "probe leftover", NULL, path,
				    has_probe_mount(path) ? "is left from an overlay probe, with its mount"
							  : "is left from an overlay probe");
			fix_one(f, path, false, fix);
		} else if (starts_with(n, ".metadata.json.") || starts_with(n, ".volatile.json.")) {
			fix_one(finding(out, "temp file", NULL, path, "is left from a metadata write"), path, true,
				fix);
		}
	}
}

int
snap_check(snap_store_t *s, bool fix, cJSON **findings, ctrk_error_t *err)
{
	if (snap_lock(s, fix, err) < 0)
		return -1;
	cleanup_json cJSON *vids = NULL;
	bool vol_unreadable = volatile_ids(s, &vids) < 0;
	cJSON *out = cJSON_CreateArray();
	DIR *d = opendir(s->dir);
	if (!d) {
		ctrk_error_errno(err, "cannot read '%s'", s->dir);
		cJSON_Delete(out);
		snap_unlock(s);
		return -1;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s->meta, "snapshots"))
	{
		const char *p = snap_entry_parent(e);
		cleanup_free char *dir = snap_dir(s, snap_entry_id(e));
		if (p && !snap_get(s, p)) {
			cleanup_free char *detail = ctrk_strdup_printf("names parent '%s', which does not exist", p);
			set_state(finding(out, "dangling parent", e->string, NULL, detail), fix ? "kept" : "found");
		}
		if (!ctrk_path_exists(dir)) {
			cleanup_free char *detail = ctrk_strdup_printf("has no directory '%s'", dir);
			set_state(finding(out, "missing directory", e->string, dir, detail), fix ? "kept" : "found");
		}
	}
	check_entries(s, d, vids, vol_unreadable, fix, out);
	closedir(d);
	snap_unlock(s);
	*findings = out;
	return 0;
}
