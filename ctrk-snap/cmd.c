/* The verbs: read the descriptor where a verb hands out a snapshot, call
 * the store, write the result. */
#include "cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "descriptor.h"
#include "diff.h"
#include "fsutil.h"
#include "image.h"
#include "json.h"
#include "paths.h"
#include "snap.h"

static int
open_store(const snap_opts_t *o, snap_store_t *s, ctrk_error_t *err)
{
	return snap_store_open(s, o->root, o->driver, err);
}

static int
write_json(const cJSON *j, ctrk_error_t *err)
{
	return ctrk_json_write_fd(STDOUT_FILENO, j, isatty(STDOUT_FILENO), err);
}

/* The image to unpack: --image REF from the store (replacing the
 * descriptor's), or the descriptor's own, which must be in this store. */
static int
take_image(const snap_opts_t *o, const snap_store_t *s, cJSON *d, const cJSON **image, ctrk_error_t *err)
{
	*image = NULL;
	if (o->image) {
		ctrk_store_t store;
		if (ctrk_store_open(&store, s->root, err) < 0)
			return -1;
		cJSON *img = ctrk_image_from_store(&store, o->image, err);
		ctrk_store_close(&store);
		if (!img)
			return -1;
		ctrk_json_set(d, "image", img);
		*image = img;
		return 0;
	}
	const cJSON *img = cJSON_GetObjectItemCaseSensitive(d, "image");
	if (!img)
		return 0;
	const char *root = NULL;
	if (ctrk_json_get_string(img, "root", true, &root, "image", err) < 0)
		return ctrk_error_wrap(err, "descriptor");
	char abs[PATH_MAX];
	if (!realpath(root, abs) || strcmp(abs, s->root) != 0)
		return ctrk_error_set(err, 0,
				      "the image is in the store at '%s', not in '%s': pass --root '%s' (or "
				      "set CTRK_ROOT)",
				      root, s->root, root);
	*image = img;
	return 0;
}

/* Hand out a snapshot: the descriptor with `snapshot` and the rootfs mounts. */
static int
hand_out(cJSON *d, cJSON *snapshot, cJSON *mounts, ctrk_error_t *err)
{
	ctrk_json_set(d, "snapshot", snapshot);
	if (mounts)
		ctrk_descriptor_set_rootfs_mounts(d, mounts);
	return ctrk_descriptor_write(STDOUT_FILENO, d, err);
}

int
cmd_prepare(const snap_opts_t *o, bool view, const char *key, const char *parent)
{
	ctrk_error_t err = {0};
	snap_store_t s;
	cleanup_json cJSON *d = ctrk_descriptor_read(STDIN_FILENO, true, &err);
	if (!d || open_store(o, &s, &err) < 0)
		return ctrk_fail(&err);
	const cJSON *image = NULL;
	cleanup_free char *top = NULL;
	cJSON *mounts = NULL;
	snap_kind_t kind = view ? SNAP_VIEW : SNAP_ACTIVE;
	int ret = CTRK_EXIT_FAILURE;
	if (take_image(o, &s, d, &image, &err) < 0)
		goto fail;
	if (image && parent) {
		ret = ctrk_usage_error("PARENT '%s' and an image (%s) exclude each other", parent,
				       o->image ? "--image" : "in the descriptor");
		goto out;
	}
	if (image) {
		if (snap_unpack(&s, image, &top, &err) < 0)
			goto fail;
		parent = top;
	}
	if (snap_create(&s, key, parent, kind, o->is_volatile, &mounts, &err) < 0 ||
	    hand_out(d, snap_descriptor_field(&s, key, kind, parent, o->is_volatile), mounts, &err) < 0)
		goto fail;
	ret = CTRK_EXIT_OK;
	goto out;
fail:
	ret = ctrk_fail(&err);
out:
	snap_store_close(&s);
	return ret;
}

int
cmd_mounts(const snap_opts_t *o, const char *key)
{
	ctrk_error_t err = {0};
	snap_store_t s;
	cleanup_json cJSON *d = ctrk_descriptor_read(STDIN_FILENO, true, &err);
	if (!d || open_store(o, &s, &err) < 0)
		return ctrk_fail(&err);
	cJSON *mounts = NULL, *snapshot = NULL;
	int rc = snap_mounts(&s, key, &mounts, &snapshot, &err);
	if (rc == 0)
		rc = hand_out(d, snapshot, mounts, &err);
	snap_store_close(&s);
	return rc < 0 ? ctrk_fail(&err) : CTRK_EXIT_OK;
}

int
cmd_unpack(const snap_opts_t *o, const char *ref)
{
	ctrk_error_t err = {0};
	snap_store_t s;
	cleanup_json cJSON *d = ctrk_descriptor_read(STDIN_FILENO, true, &err);
	if (!d || open_store(o, &s, &err) < 0)
		return ctrk_fail(&err);
	snap_opts_t with_ref = *o;
	with_ref.image = ref;
	const cJSON *image = NULL;
	cleanup_free char *top = NULL;
	int rc = take_image(&with_ref, &s, d, &image, &err);
	if (rc == 0 && !image)
		rc = ctrk_error_set(&err, 0, "no image: give REF, or a descriptor with an image on stdin");
	if (rc == 0)
		rc = snap_unpack(&s, image, &top, &err);
	if (rc == 0) {
		/* The parent of the top layer, from the metadata. */
		rc = snap_lock(&s, false, &err);
		const cJSON *e = rc == 0 ? snap_need(&s, top, &err) : NULL;
		cJSON *field = e ? snap_descriptor_field(&s, top, SNAP_COMMITTED, snap_entry_parent(e), false) : NULL;
		snap_unlock(&s);
		rc = field ? hand_out(d, field, NULL, &err) : -1;
	}
	snap_store_close(&s);
	return rc < 0 ? ctrk_fail(&err) : CTRK_EXIT_OK;
}

int
cmd_commit(const snap_opts_t *o, const char *name, const char *key)
{
	ctrk_error_t err = {0};
	snap_store_t s;
	if (open_store(o, &s, &err) < 0)
		return ctrk_fail(&err);
	int rc = snap_commit(&s, name, key, &err);
	snap_store_close(&s);
	return rc < 0 ? ctrk_fail(&err) : CTRK_EXIT_OK;
}

static int
remove_key(const snap_opts_t *o, const char *key, ctrk_error_t *err)
{
	snap_store_t s;
	cleanup_free char *detached = NULL;
	if (open_store(o, &s, err) < 0)
		return -1;
	int rc = snap_remove(&s, key, o->force, &detached, err);
	snap_store_close(&s);
	if (detached)
		ctrk_warn("detached %s, which used snapshot '%s'", detached, key);
	return rc;
}

/* The descriptor without what ctrk-snap added: `snapshot` and the rootfs
 * mounts (target "/"); `mounts` goes too when nothing else is left in it. */
static void
drop_snapshot(cJSON *d)
{
	cJSON *mounts = cJSON_GetObjectItemCaseSensitive(d, "mounts");
	cJSON_DeleteItemFromObjectCaseSensitive(d, "snapshot");
	if (!cJSON_IsArray(mounts))
		return;
	for (cJSON *m = mounts->child, *next; m; m = next) {
		const char *target = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "target"));
		next = m->next;
		if (target && strcmp(target, "/") == 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(mounts, m));
	}
	if (!mounts->child)
		cJSON_DeleteItemFromObjectCaseSensitive(d, "mounts");
}

/* Teardown: remove the descriptor's snapshot (in its driver and root,
 * unless --driver or --root say otherwise) and pass the descriptor on
 * without it.  Already removed is a note, not an error. */
static int
remove_described(const snap_opts_t *o, ctrk_error_t *err)
{
	cleanup_json cJSON *d = ctrk_descriptor_read(STDIN_FILENO, false, err);
	const cJSON *snapshot = NULL;
	const char *key = NULL, *driver = NULL, *root = NULL;
	if (!d || ctrk_json_get_object(d, "snapshot", false, &snapshot, "descriptor", err) < 0)
		return -1;
	if (!snapshot) {
		ctrk_note("the descriptor has no 'snapshot': nothing to remove");
		return ctrk_descriptor_write(STDOUT_FILENO, d, err);
	}
	if (ctrk_json_get_string(snapshot, "key", true, &key, "descriptor: snapshot", err) < 0 ||
	    ctrk_json_get_string(snapshot, "driver", false, &driver, "descriptor: snapshot", err) < 0 ||
	    ctrk_json_get_string(snapshot, "root", false, &root, "descriptor: snapshot", err) < 0)
		return -1;
	snap_opts_t from = *o;
	if (driver && !o->driver_given)
		from.driver = driver;
	if (root && !o->root)
		from.root = root;
	/* A store that is gone holds no snapshot; opening it would make it
	 * (and probe the driver) just to find that out. */
	cleanup_free char *dir =
		ctrk_strdup_printf("%s/snapshots/%s", from.root ? from.root : ctrk_default_root(), from.driver);
	if (!ctrk_path_exists(dir))
		ctrk_note("snapshot '%s' was already removed", key);
	else if (remove_key(&from, key, err) < 0) {
		if (err->errnum != ENOENT)
			return -1;
		ctrk_note("snapshot '%s' was already removed", key);
	}
	drop_snapshot(d);
	return ctrk_descriptor_write(STDOUT_FILENO, d, err);
}

int
cmd_remove(const snap_opts_t *o, const char *key)
{
	ctrk_error_t err = {0};
	if (!key && isatty(STDIN_FILENO))
		return ctrk_usage_error("remove without KEY reads a descriptor on stdin");
	int rc = key ? remove_key(o, key, &err) : remove_described(o, &err);
	return rc < 0 ? ctrk_fail(&err) : CTRK_EXIT_OK;
}

int
cmd_stat(const snap_opts_t *o, const char *key)
{
	ctrk_error_t err = {0};
	snap_store_t s;
	if (open_store(o, &s, &err) < 0)
		return ctrk_fail(&err);
	int rc = snap_lock(&s, false, &err);
	const cJSON *e = rc == 0 ? snap_need(&s, key, &err) : NULL;
	cleanup_json cJSON *j = e ? snap_stat_json(&s, key, e) : NULL;
	snap_store_close(&s);
	if (!j || write_json(j, &err) < 0)
		return ctrk_fail(&err);
	return CTRK_EXIT_OK;
}

static void
print_tree(const snap_store_t *s, const char *parent, int depth)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s->meta, "snapshots"))
	{
		const char *p = snap_entry_parent(e);
		/* Roots: no parent, or a parent that is gone (check reports it). */
		bool mine = parent ? p && strcmp(p, parent) == 0 : !p || !snap_get(s, p);
		if (!mine)
			continue;
		printf("%*s%s (%s)\n", 2 * depth, "", e->string, snap_kind_name(snap_entry_kind(e)));
		if (depth < 4096)
			print_tree(s, e->string, depth + 1);
	}
}

static void
print_table(const snap_store_t *s)
{
	const cJSON *e, *all = cJSON_GetObjectItemCaseSensitive(s->meta, "snapshots");
	int w = 3;
	cJSON_ArrayForEach(e, all) if ((int)strlen(e->string) > w) w = (int)strlen(e->string);
	printf("%-*s  %-9s  %s\n", w, "KEY", "KIND", "PARENT");
	cJSON_ArrayForEach(e, all)
	{
		const char *p = snap_entry_parent(e);
		printf("%-*s  %-9s  %s\n", w, e->string, snap_kind_name(snap_entry_kind(e)), p ? p : "");
	}
}

int
cmd_list(const snap_opts_t *o)
{
	ctrk_error_t err = {0};
	snap_store_t s;
	if (open_store(o, &s, &err) < 0 || snap_lock(&s, false, &err) < 0)
		goto fail;
	if (o->json) {
		cleanup_json cJSON *a = cJSON_CreateArray();
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s.meta, "snapshots"))
		cJSON_AddItemToArray(a, snap_stat_json(&s, e->string, e));
		if (write_json(a, &err) < 0)
			goto fail;
	} else if (o->tree) {
		print_tree(&s, NULL, 0);
	} else {
		print_table(&s);
	}
	if (fflush(stdout) != 0) {
		ctrk_error_errno(&err, "cannot write to stdout");
		goto fail;
	}
	snap_store_close(&s);
	return CTRK_EXIT_OK;
fail:
	snap_store_close(&s);
	return ctrk_fail(&err);
}

int
cmd_usage(const snap_opts_t *o, const char *key)
{
	ctrk_error_t err = {0};
	snap_store_t s;
	cleanup_json cJSON *j = NULL;
	if (open_store(o, &s, &err) < 0)
		return ctrk_fail(&err);
	int rc = snap_usage(&s, key, &j, &err);
	snap_store_close(&s);
	if (rc < 0 || write_json(j, &err) < 0)
		return ctrk_fail(&err);
	return CTRK_EXIT_OK;
}

/* One finding of check as a line: what it is, and what --fix did. */
static void
print_finding(const cJSON *f)
{
	const char *problem = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "problem"));
	const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "snapshot"));
	const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "path"));
	const char *detail = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "detail"));
	const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "state"));
	const char *error = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "error"));
	if (strcmp(state, "removed") == 0)
		printf("removed %s '%s' (it %s)\n", problem, path, detail);
	else if (strcmp(state, "in use") == 0)
		printf("in use: '%s' is held by a running process; left alone\n", path);
	else if (key)
		printf("%s: snapshot '%s' %s%s\n", problem, key, detail,
		       strcmp(state, "kept") == 0 ? "; --fix does not change metadata" : "");
	else if (strcmp(state, "failed") == 0)
		printf("%s: '%s' %s; cannot remove it: %s\n", problem, path, detail, error ? error : "");
	else
		printf("%s: '%s' %s%s\n", problem, path, detail, strcmp(state, "kept") == 0 ? "; left alone" : "");
}

int
cmd_check(const snap_opts_t *o)
{
	ctrk_error_t err = {0};
	snap_store_t s;
	cleanup_json cJSON *findings = NULL;
	if (open_store(o, &s, &err) < 0)
		return ctrk_fail(&err);
	int rc = snap_check(&s, o->fix, &findings, &err);
	snap_store_close(&s);
	if (rc < 0)
		return ctrk_fail(&err);
	int problems = 0, removed = 0, in_use = 0;
	const cJSON *f;
	cJSON_ArrayForEach(f, findings)
	{
		const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "state"));
		if (strcmp(state, "removed") == 0)
			removed++;
		else if (strcmp(state, "in use") == 0)
			in_use++;
		else
			problems++;
		if (!o->json)
			print_finding(f);
	}
	if (o->json ? write_json(findings, &err) < 0 : fflush(stdout) != 0) {
		if (!o->json)
			ctrk_error_errno(&err, "cannot write to stdout");
		return ctrk_fail(&err);
	}
	if (removed)
		ctrk_note("removed %d leftover%s in '%s'", removed, removed == 1 ? "" : "s", o->driver);
	if (in_use)
		ctrk_note("%d in use by running processes, left alone", in_use);
	if (problems) {
		ctrk_report_msg("%s %d problem%s in '%s'", o->fix ? "could not fix" : "found", problems,
				problems == 1 ? "" : "s", o->driver);
		return CTRK_EXIT_FAILURE;
	}
	return CTRK_EXIT_OK;
}

int
cmd_diff(const snap_opts_t *o, const char *key)
{
	ctrk_error_t err = {0};
	snap_store_t s;
	diff_compression_t c = DIFF_GZIP;
	if (o->compression)
		diff_compression_parse(o->compression, &c); /* checked by main */
	cleanup_json cJSON *d = ctrk_descriptor_read(STDIN_FILENO, true, &err);
	if (!d || open_store(o, &s, &err) < 0)
		return ctrk_fail(&err);
	diff_layer_t layer;
	int rc = snap_diff(&s, key, c, &layer, &err);
	snap_store_close(&s);
	if (rc == 0) {
		ctrk_json_set(d, "layer", diff_layer_json(&layer));
		rc = ctrk_descriptor_write(STDOUT_FILENO, d, &err);
	}
	return rc < 0 ? ctrk_fail(&err) : CTRK_EXIT_OK;
}
