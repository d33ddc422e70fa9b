/* External drivers: the program ctrk-snap-NAME on PATH, run once for each
 * operation with one JSON request on stdin; it answers with one JSON object
 * on stdout and exit status 0, or fails with a message on stderr and a
 * non-zero status.  The protocol is in ctrk-snap(1), EXTERNAL DRIVERS. */
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "descriptor.h"
#include "driver.h"
#include "json.h"

#define REPLY_MAX (1u << 20)

static cJSON *
call(const driver_t *d, const char *op, const snap_info_t *s, ctrk_error_t *err)
{
	cleanup_json cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", op);
	cJSON_AddStringToObject(req, "key", s->key);
	cJSON_AddNumberToObject(req, "id", (double)s->id);
	cJSON_AddStringToObject(req, "kind", snap_kind_name(s->kind));
	cJSON_AddStringToObject(req, "dir", s->dir);
	cJSON *parents = cJSON_AddArrayToObject(req, "parents");
	for (size_t i = 0; i < s->nparents; i++)
		cJSON_AddItemToArray(parents, cJSON_CreateString(s->parents[i]));
	cJSON_AddBoolToObject(req, "readonly", s->kind != SNAP_ACTIVE);
	cleanup_free char *text = ctrk_json_render(req, false);
	cleanup_free char *out = NULL;
	size_t len = 0;
	char *argv[] = {d->program, NULL};
	if (snap_run(argv, text, strlen(text), REPLY_MAX, &out, &len, err) < 0)
		goto fail;
	if (strspn(out, " \t\r\n") == len)
		return cJSON_CreateObject();
	cJSON *reply = ctrk_json_parse(out, len, "reply", err);
	if (reply && !cJSON_IsObject(reply)) {
		cJSON_Delete(reply);
		ctrk_error_set(err, 0, "the reply is not a JSON object");
		goto fail;
	}
	if (reply)
		return reply;
fail:
	ctrk_error_wrap(err, "driver '%s': %s '%s'", d->name, op, s->key);
	return NULL;
}

static int
exec_simple(const driver_t *d, const char *op, const snap_info_t *s, ctrk_error_t *err)
{
	cJSON *reply = call(d, op, s, err);
	cJSON_Delete(reply);
	return reply ? 0 : -1;
}

static int
exec_prepare(const driver_t *d, const snap_info_t *s, ctrk_error_t *err)
{
	return exec_simple(d, "prepare", s, err);
}

static cJSON *
exec_mounts(const driver_t *d, const snap_info_t *s, ctrk_error_t *err)
{
	cleanup_json cJSON *reply = call(d, "mounts", s, err);
	if (!reply)
		return NULL;
	const cJSON *mounts = NULL, *m;
	if (ctrk_json_get_array(reply, "mounts", true, &mounts, "reply", err) < 0)
		goto fail;
	int i = 0;
	cJSON_ArrayForEach(m, mounts)
	{
		char what[48];
		snprintf(what, sizeof what, "mounts[%d]", i++);
		if (ctrk_mount_validate(m, what, err) < 0)
			goto fail;
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "target")), "/") != 0) {
			ctrk_error_set(err, 0, "%s: 'target' must be \"/\"", what);
			goto fail;
		}
	}
	return cJSON_DetachItemFromObjectCaseSensitive(reply, "mounts");
fail:
	ctrk_error_wrap(err, "driver '%s': mounts of '%s'", d->name, s->key);
	return NULL;
}

static int
exec_commit(const driver_t *d, const snap_info_t *s, ctrk_error_t *err)
{
	return exec_simple(d, "commit", s, err);
}

static int
exec_remove(const driver_t *d, const snap_info_t *s, ctrk_error_t *err)
{
	return exec_simple(d, "remove", s, err);
}

const struct driver_ops driver_exec_ops = {
	.apply = APPLY_WHITEOUTS_DELETE,
	.prepare = exec_prepare,
	.mounts = exec_mounts,
	.commit = exec_commit,
	.remove = exec_remove,
};
