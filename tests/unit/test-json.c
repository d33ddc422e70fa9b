/* lib/common/json.c: one strict reading of JSON. */
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "json.h"
#include "tap.h"

static void
refused(const char *text, const char *fragment)
{
	ctrk_error_t err = {0};
	cJSON *d = ctrk_json_parse(text, strlen(text), "doc", &err);
	ok(d == NULL && strstr(err.msg, fragment) != NULL, "refused: %s (%s)", text, err.msg);
	cJSON_Delete(d);
}

static void
accepted(const char *text)
{
	ctrk_error_t err = {0};
	cJSON *d = ctrk_json_parse(text, strlen(text), "doc", &err);
	ok(d != NULL, "accepted: %s (%s)", text, err.msg);
	cJSON_Delete(d);
}

/* LEVELS nested arrays. */
static char *
nested(size_t levels)
{
	char *s = ctrk_xmalloc(2 * levels + 1);
	memset(s, '[', levels);
	memset(s + levels, ']', levels);
	s[2 * levels] = '\0';
	return s;
}

int
main(void)
{
	/* An escaped NUL would cut the string short: refused, naming it. */
	refused("{\"User\":\"root\\u0000nobody\"}", "field 'User' holds a NUL");
	refused("{\"config\":{\"Cmd\":[\"sh\",\"-c\\u0000x\"]}}", "field 'config.Cmd[1]' holds a NUL");
	refused("{\"a\\u0000b\":1}", "a key in '(the top)' holds a NUL");
	refused("\"\\u0000\"", "the document holds a NUL");
	accepted("{\"a\":\"back\\\\u0000slash\"}"); /* an escaped backslash, then text */
	accepted("{\"a\":\"\\u0001 \\u00e9 \\ud83d\\ude00\"}");

	/* A key twice: Go, Python and jq take the last, cJSON the first. */
	refused("{\"User\":\"nobody\",\"User\":\"root\"}", "key 'User' appears twice in the top object");
	refused("{\"image\":{\"config\":{\"User\":\"a\",\"Env\":[],\"User\":\"b\"}}}",
		"key 'User' appears twice in 'image.config'");
	refused("{\"l\":[{},{\"x\":1,\"x\":1}]}", "key 'x' appears twice in 'l[1]'");
	accepted("{\"a\":{\"x\":1},\"b\":{\"x\":1},\"x\":[{\"x\":1},{\"x\":2}]}");

	/* Invalid UTF-8, in values and keys; valid multi-byte text passes. */
	refused("{\"WorkingDir\":\"/a\xff\"}", "field 'WorkingDir' is not valid UTF-8");
	refused("{\"p\":\"\xc0\xaf\"}", "not valid UTF-8");         /* overlong '/' */
	refused("{\"p\":\"\xed\xa0\x80\"}", "not valid UTF-8");     /* a surrogate */
	refused("{\"p\":\"\xf4\x90\x80\x80\"}", "not valid UTF-8"); /* above U+10FFFF */
	refused("{\"p\":\"\xe2\x82\"}", "not valid UTF-8");         /* cut short */
	refused("{\"k\xfe\":1}", "a key in '(the top)' is not valid UTF-8");
	accepted("{\"p\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");

	/* Nesting: up to the limit; past it "too deeply nested". */
	ctrk_error_t err = {0};
	char *deep = nested(CTRK_JSON_MAX_DEPTH);
	cJSON *d = ctrk_json_parse(deep, strlen(deep), "doc", &err);
	ok(d != NULL, "%d levels are read (%s)", CTRK_JSON_MAX_DEPTH, err.msg);
	cJSON_Delete(d);
	free(deep);
	deep = nested(CTRK_JSON_MAX_DEPTH + 1);
	d = ctrk_json_parse(deep, strlen(deep), "doc", &err);
	ok(d == NULL && strstr(err.msg, "too deeply nested"), "one more is refused: %s", err.msg);
	cJSON_Delete(d);
	free(deep);

	/* A number a double cannot hold would be written back as null. */
	refused("{\"image\":{\"size\":1e400}}", "field 'image.size' is a number out of range");
	refused("[1,-2e999]", "a number in '(the top)' is out of range");
	refused("1e400", "the number is out of range");
	accepted("{\"n\":1.7e308,\"m\":-1e-400}");

	/* Integers: only what a double holds exactly, checked before any
	 * conversion (7.7e99 to long long is undefined). */
	const char *big = "{\"version\":7.7e99,\"n\":-1e300,\"f\":1.5,\"ok\":9007199254740992}";
	cJSON *ints = ctrk_json_parse(big, strlen(big), "doc", &err);
	long long v = 0;
	ok(ints && ctrk_json_get_int64(ints, "version", false, &v, "doc", &err) < 0 &&
		   strstr(err.msg, "'version' must be an integer"),
	   "7.7e99 is not an integer here (%s)", err.msg);
	ok(ints && ctrk_json_get_int64(ints, "n", false, &v, "doc", &err) < 0, "nor is -1e300");
	ok(ints && ctrk_json_get_int64(ints, "f", false, &v, "doc", &err) < 0, "nor 1.5");
	ok(ints && ctrk_json_get_int64(ints, "ok", false, &v, "doc", &err) == 0 && v == 9007199254740992LL,
	   "2^53 is");
	cJSON_Delete(ints);

	/* What was refused before still is. */
	refused("{\"a\":1} x", "trailing data");
	refused("{\"a\":", "invalid JSON");
	refused("", "empty input");
	return done_testing();
}
