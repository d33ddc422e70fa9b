#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

/* ---- one strict reading ------------------------------------------------
 *
 * cJSON reads three things differently from Go, Python and jq: "\u0000"
 * cuts a string short, a repeated key keeps its first value (they keep the
 * last), and invalid UTF-8 passes through.  A scanner or policy check could
 * then see another user, command or path than ctrk acts on, so all three
 * are refused, naming the field.  The scan runs before cJSON and only
 * looks for these (cJSON judges the rest); the repeated keys are found in
 * the tree cJSON built, which keeps every member. */

/* Where the scan is: one frame per open object or array. */
typedef struct scan_frame {
	bool object;
	const char *key; /* object: the current member's key, raw */
	size_t key_len;
	size_t index; /* array: the current element */
} scan_frame_t;

/* "a.b[2].c" of the open frames, at most SIZE bytes. */
static void
scan_path(const scan_frame_t *f, size_t depth, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < depth && n + 1 < size; i++) {
		int w = f[i].object ? snprintf(out + n, size - n, "%s%.*s", n ? "." : "", (int)f[i].key_len,
					       f[i].key ? f[i].key : "")
				    : snprintf(out + n, size - n, "[%zu]", f[i].index);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
}

/* Length of the UTF-8 sequence at P (at most N bytes), 0 when invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629). */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	if (p[0] < 0x80)
		return 1;
	size_t len = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3
						      : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
	if (!len || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) || (p[0] == 0xf0 && p[1] < 0x90) ||
	    (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return len;
}

static int
scan_error(const scan_frame_t *f, size_t depth, bool in_key, const char *what, const char *problem,
	   ctrk_error_t *err)
{
	char path[256];
	/* A key's own problem: its object is the place. */
	scan_path(f, depth, path, sizeof path);
	if (in_key)
		return ctrk_error_set(err, 0, "%s: a key in '%s' %s", what, *path ? path : "(the top)", problem);
	if (!*path)
		return ctrk_error_set(err, 0, "%s: the document %s", what, problem);
	return ctrk_error_set(err, 0, "%s: field '%s' %s", what, path, problem);
}

/* The string at BUF[*I] (the opening quote): no \u0000, valid UTF-8.
 * *I ends on the closing quote. */
static int
scan_string(const char *buf, size_t len, size_t *i, const scan_frame_t *f, size_t depth, bool in_key,
	    const char *what, ctrk_error_t *err)
{
	for (size_t j = *i + 1; j < len; j++) {
		unsigned char c = (unsigned char)buf[j];
		if (c == '"') {
			*i = j;
			return 0;
		}
		if (c == '\\') {
			if (j + 5 < len && buf[j + 1] == 'u' && memcmp(buf + j + 2, "0000", 4) == 0)
				return scan_error(f, depth, in_key, what, "holds a NUL character (\\u0000)", err);
			j++; /* the escaped character; cJSON checks the rest */
			continue;
		}
		size_t n = utf8_len((const unsigned char *)buf + j, len - j);
		if (!n)
			return scan_error(f, depth, in_key, what, "is not valid UTF-8", err);
		j += n - 1;
	}
	*i = len; /* unterminated: cJSON says so */
	return 0;
}

static int
scan_json(const char *buf, size_t len, const char *what, ctrk_error_t *err)
{
	scan_frame_t *f = ctrk_xcalloc(CTRK_JSON_MAX_DEPTH, sizeof *f);
	size_t depth = 0;
	bool want_key = false;
	int ret = 0;
	for (size_t i = 0; i < len && ret == 0; i++) {
		switch (buf[i]) {
		case '{':
		case '[':
			if (depth == CTRK_JSON_MAX_DEPTH) {
				ret = ctrk_error_set(err, 0, "%s: too deeply nested (more than %d levels) at byte %zu",
						     what, CTRK_JSON_MAX_DEPTH, i);
				break;
			}
			f[depth] = (scan_frame_t){.object = buf[i] == '{'};
			want_key = f[depth++].object;
			break;
		case '}':
		case ']':
			if (depth)
				depth--;
			want_key = false;
			break;
		case ',':
			if (depth && f[depth - 1].object)
				want_key = true;
			else if (depth)
				f[depth - 1].index++;
			break;
		case '"': {
			size_t start = i;
			bool key = want_key && depth;
			ret = scan_string(buf, len, &i, f, depth, key, what, err);
			if (key) {
				f[depth - 1].key = buf + start + 1;
				f[depth - 1].key_len = i > start ? i - start - 1 : 0;
				want_key = false;
			}
			break;
		}
		default:
			break;
		}
	}
	free(f);
	return ret;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Anywhere in NODE (PATH is where NODE is): a key twice in one object, or a
 * number too large for a double (cJSON makes it infinite and writes it
 * back as null: a field passed through would change). */
static int
check_tree(const cJSON *node, char *path, size_t plen, size_t size, const char *what, ctrk_error_t *err)
{
	size_t n = 0, i = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, node) n++;
	if (cJSON_IsObject(node) && n > 1) {
		const char **names = ctrk_xcalloc(n, sizeof *names);
		cJSON_ArrayForEach(c, node) names[i++] = c->string ? c->string : "";
		qsort(names, n, sizeof *names, compare_names);
		for (i = 1; i < n && strcmp(names[i - 1], names[i]) != 0; i++)
			;
		int ret = 0;
		if (i < n)
			ret = ctrk_error_set(err, 0, "%s: key '%s' appears twice in %s%s%s", what, names[i],
					     plen ? "'" : "the top object", path, plen ? "'" : "");
		free(names);
		if (ret < 0)
			return -1;
	}
	i = 0;
	cJSON_ArrayForEach(c, node)
	{
		if (cJSON_IsNumber(c) && !isfinite(c->valuedouble)) {
			if (cJSON_IsObject(node))
				return ctrk_error_set(err, 0, "%s: field '%s%s%s' is a number out of range", what, path,
						      plen ? "." : "", c->string);
			return ctrk_error_set(err, 0, "%s: a number in '%s' is out of range", what,
					      plen ? path : "(the top)");
		}
		if (!cJSON_IsObject(c) && !cJSON_IsArray(c)) {
			i++;
			continue;
		}
		int w = cJSON_IsObject(node) ? snprintf(path + plen, size - plen, "%s%s", plen ? "." : "", c->string)
					     : snprintf(path + plen, size - plen, "[%zu]", i);
		size_t next = w < 0 || (size_t)w >= size - plen ? plen : plen + (size_t)w;
		if (check_tree(c, path, next, size, what, err) < 0)
			return -1;
		path[plen] = '\0';
		i++;
	}
	return 0;
}

cJSON *
ctrk_json_parse(const char *buf, size_t len, const char *what, ctrk_error_t *err)
{
	if (scan_json(buf, len, what, err) < 0)
		return NULL;
	const char *end = NULL;
	cJSON *doc = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (!doc) {
		size_t off = end && end >= buf ? (size_t)(end - buf) : 0;
		size_t blank = 0;
		while (blank < len && strchr(" \t\r\n", buf[blank]) && buf[blank])
			blank++;
		if (blank == len) /* BUF need not end in a NUL: LEN bytes only */
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
	char path[256] = "";
	if (cJSON_IsNumber(doc) && !isfinite(doc->valuedouble)) {
		cJSON_Delete(doc);
		ctrk_error_set(err, 0, "%s: the number is out of range", what);
		return NULL;
	}
	if (check_tree(doc, path, 0, sizeof path, what, err) < 0) {
		cJSON_Delete(doc);
		return NULL;
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
	/* 2^53: beyond it a double no longer holds every integer.  The range
	 * first: converting a double outside long long's is undefined (found
	 * by make fuzz: "version": 7.7e99). */
	if (!(v >= -9007199254740992.0 && v <= 9007199254740992.0) || v != (double)(long long)v)
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
