/* JSON discipline: read exactly one bounded document, type-check every field
 * with case-sensitive getters, build output with cJSON, never printf. */
#ifndef CTRK_JSON_H
#define CTRK_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "error.h"

/* Nesting deeper than this is refused ("too deeply nested"); cJSON's own
 * limit (CJSON_NESTING_LIMIT) is the same. */
#define CTRK_JSON_MAX_DEPTH 1000

/* Parse one JSON document of LEN bytes; trailing garbage other than white
 * space is an error.  Strictly, as Go, Python and jq read it, so that no
 * other tool reads another meaning into the same bytes: a string with an
 * escaped NUL (\u0000), invalid UTF-8, a key twice in one object, and
 * nesting deeper than CTRK_JSON_MAX_DEPTH are refused, naming the field.
 * WHAT names the input in messages. */
cJSON *ctrk_json_parse(const char *buf, size_t len, const char *what, ctrk_error_t *err);

/* Read all of FD (at most MAX bytes) and parse it as one document. */
cJSON *ctrk_json_read_fd(int fd, size_t max, const char *what, ctrk_error_t *err);

/* Read and parse a file (at most MAX bytes). */
cJSON *ctrk_json_read_file(const char *path, size_t max, ctrk_error_t *err);

/* Typed, case-sensitive getters.  They return -1 with a message naming
 * WHAT.KEY when the field is present with the wrong type; when it is absent,
 * *out is left untouched and 0 is returned unless REQUIRED. */
int ctrk_json_get_string(const cJSON *obj, const char *key, bool required, const char **out,
			 const char *what, ctrk_error_t *err);
int ctrk_json_get_int64(const cJSON *obj, const char *key, bool required, long long *out,
			const char *what, ctrk_error_t *err);
int ctrk_json_get_object(const cJSON *obj, const char *key, bool required, const cJSON **out,
			 const char *what, ctrk_error_t *err);
int ctrk_json_get_array(const cJSON *obj, const char *key, bool required, const cJSON **out,
			const char *what, ctrk_error_t *err);
/* An array whose every element is a string. */
int ctrk_json_get_string_array(const cJSON *obj, const char *key, bool required, const cJSON **out,
			       const char *what, ctrk_error_t *err);

/* Replace (or add) OBJ[KEY] with VALUE, taking ownership of VALUE. */
void ctrk_json_set(cJSON *obj, const char *key, cJSON *value);

/* Render compactly (PRETTY false) or indented; caller frees. */
char *ctrk_json_render(const cJSON *doc, bool pretty);

/* Write one document and a newline to FD in full. */
int ctrk_json_write_fd(int fd, const cJSON *doc, bool pretty, ctrk_error_t *err);

#endif
