#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

cJSON *
ctrk_json_parse(const char *buf, size_t len, const char *what, ctrk_error_t *err)
{
	const char *end = NULL;
	cJSON *doc = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (!doc) {
		size_t off = end && end >= buf ? (size_t)(end - buf) : 0;
		if (len == 0 || strspn(buf, " \t\r\n") == len)
			ctrk_error_set(err, 0, "%s: empty input, expected a JSON document", what);
		else
			ctrk_error_set(err, 0, "%s: invalid JSON near byte %zu", what, off);
		return NULL;
	}
	size_t used = (size_t)(end - buf);
	for (size_t i = used; i < len; i++) {
		char c = buf[i];
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\0') {
			cJSON_Delete(doc);
			ctrk_error_set(err, 0, "%s: trailing data after the JSON document at byte %zu",
				       what, i);
			return NULL;
		}
	}
	return doc;
}

cJSON *
ctrk_json_read_fd(int fd, size_t max, const char *what, ctrk_error_t *err)
{
	cleanup_free char *buf = NULL;
	size_t len = 0;
	if (ctrk_read_all_fd(fd, max, &buf, &len, err) < 0) {
		ctrk_error_wrap(err, "reading %s", what);
		return NULL;
	}
	return ctrk_json_parse(buf, len, what, err);
}

cJSON *
ctrk_json_read_file(const char *path, size_t max, ctrk_error_t *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ctrk_error_errno(err, "open '%s'", path);
		return NULL;
	}
	return ctrk_json_read_fd(fd, max, path, err);
}

static int
get_typed(const cJSON *obj, const char *key, bool required, const cJSON **item, cJSON_bool (*is)(const cJSON *),
	  const char *type, const char *what, ctrk_error_t *err)
{
	*item = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	if (!*item || cJSON_IsNull(*item)) {
		*item = NULL;
		if (required)
			return ctrk_error_set(err, 0, "%s: missing field '%s'", what, key);
		return 0;
	}
	if (!is(*item))
		return ctrk_error_set(err, 0, "%s: field '%s' must be %s", what, key, type);
	return 0;
}

int
ctrk_json_get_string(const cJSON *obj, const char *key, bool required, const char **out, const char *what,
		     ctrk_error_t *err)
{
	const cJSON *item;
	if (get_typed(obj, key, required, &item, cJSON_IsString, "a string", what, err) < 0)
		return -1;
	if (item)
		*out = item->valuestring;
	return 0;
}

int
ctrk_json_get_int64(const cJSON *obj, const char *key, bool required, long long *out, const char *what,
		    ctrk_error_t *err)
{
	const cJSON *item;
	if (get_typed(obj, key, required, &item, cJSON_IsNumber, "a number", what, err) < 0)
		return -1;
	if (!item)
		return 0;
	double v = item->valuedouble;
	/* 2^53: beyond it a double no longer holds every integer. */
	if (v != (double)(long long)v || v < -9007199254740992.0 || v > 9007199254740992.0)
		return ctrk_error_set(err, 0, "%s: field '%s' must be an integer", what, key);
	*out = (long long)v;
	return 0;
}

int
ctrk_json_get_object(const cJSON *obj, const char *key, bool required, const cJSON **out, const char *what,
		     ctrk_error_t *err)
{
	const cJSON *item;
	if (get_typed(obj, key, required, &item, cJSON_IsObject, "an object", what, err) < 0)
		return -1;
	if (item)
		*out = item;
	return 0;
}

int
ctrk_json_get_array(const cJSON *obj, const char *key, bool required, const cJSON **out, const char *what,
		    ctrk_error_t *err)
{
	const cJSON *item;
	if (get_typed(obj, key, required, &item, cJSON_IsArray, "an array", what, err) < 0)
		return -1;
	if (item)
		*out = item;
	return 0;
}

int
ctrk_json_get_string_array(const cJSON *obj, const char *key, bool required, const cJSON **out,
			   const char *what, ctrk_error_t *err)
{
	const cJSON *arr = NULL;
	if (ctrk_json_get_array(obj, key, required, &arr, what, err) < 0)
		return -1;
	if (!arr)
		return 0;
	const cJSON *el;
	cJSON_ArrayForEach(el, arr)
	{
		if (!cJSON_IsString(el))
			return ctrk_error_set(err, 0, "%s: field '%s' must be an array of strings", what, key);
	}
	*out = arr;
	return 0;
}

void
ctrk_json_set(cJSON *obj, const char *key, cJSON *value)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, value);
	else
		cJSON_AddItemToObject(obj, key, value);
}

char *
ctrk_json_render(const cJSON *doc, bool pretty)
{
	return pretty ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
}

int
ctrk_json_write_fd(int fd, const cJSON *doc, bool pretty, ctrk_error_t *err)
{
	cleanup_free char *text = ctrk_json_render(doc, pretty);
	if (!text)
		return ctrk_error_set(err, ENOMEM, "rendering JSON");
	size_t len = strlen(text);
	text[len] = '\0';
	if (ctrk_write_all(fd, text, len, err) < 0 || ctrk_write_all(fd, "\n", 1, err) < 0)
		return -1;
	return 0;
}
