/* ctrk-vol's store: volume names, the metadata check, and the options
 * each type takes (checked at create, before anything is made), and the
 * hold ids a descriptor carries. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "ctrk-vol/types.h"
#include "ctrk-vol/vol.h"
#include "json.h"

static void
names(void)
{
	static const char *const good[] = {"a", "A", "0", "db-data", "x.y_z", "a..b", "9-"};
	static const char *const bad[] = {"", "-a", ".a", "_a", "a/b", "..", ".", "a b", "a\nb", "\xc3\xa9", "a:b"};
	ctrk_error_t err;
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		ok(vol_name_check(good[i], &err) == 0, "name '%s' is good", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ok(vol_name_check(bad[i], &err) < 0 && strstr(err.msg, "invalid volume name"), "name #%zu refused", i);
	char n[VOL_NAME_MAX + 2];
	memset(n, 'x', sizeof n);
	n[VOL_NAME_MAX] = '\0';
	ok(vol_name_check(n, &err) == 0, "%d bytes are allowed", VOL_NAME_MAX);
	n[VOL_NAME_MAX] = 'x';
	n[VOL_NAME_MAX + 1] = '\0';
	ok(vol_name_check(n, &err) < 0 && strstr(err.msg, "longer than 128 bytes"), "%d bytes are not", VOL_NAME_MAX + 1);
}

static void
meta(void)
{
	static const struct {
		const char *json, *want; /* want NULL: valid */
	} cases[] = {
		{"{\"version\":1,\"name\":\"v\",\"type\":\"dir\",\"options\":{},\"labels\":{},\"created\":\"t\"}", NULL},
		{"{\"version\":1,\"name\":\"v\",\"type\":\"dir\",\"options\":{},\"labels\":{\"a\":\"b\"},\"created\":\"t\","
		 "\"uid\":1000,\"gid\":0,\"mode\":493,\"anonymous\":true,\"populating\":false,\"populated_from\":{}}",
		 NULL},
		{"{\"version\":2,\"name\":\"v\",\"type\":\"dir\",\"options\":{},\"labels\":{},\"created\":\"t\"}",
		 "not supported"},
		{"{\"version\":1,\"name\":\"w\",\"type\":\"dir\",\"options\":{},\"labels\":{},\"created\":\"t\"}",
		 "not the volume's name"},
		{"{\"version\":1,\"name\":\"v\",\"type\":\"\",\"options\":{},\"labels\":{},\"created\":\"t\"}", "empty"},
		{"{\"version\":1,\"name\":\"v\",\"type\":\"dir\",\"options\":{\"a\":1},\"labels\":{},\"created\":\"t\"}",
		 "options.a"},
		{"{\"version\":1,\"name\":\"v\",\"type\":\"dir\",\"options\":{},\"created\":\"t\"}", "labels"},
		{"{\"version\":1,\"name\":\"v\",\"type\":\"dir\",\"options\":{},\"labels\":{},\"created\":\"t\","
		 "\"mode\":4096}",
		 "out of range"},
		{"{\"version\":1,\"name\":\"v\",\"type\":\"dir\",\"options\":{},\"labels\":{},\"created\":\"t\","
		 "\"uid\":-1}",
		 "out of range"},
		{"{\"version\":1,\"name\":\"v\",\"type\":\"dir\",\"options\":{},\"labels\":{},\"created\":\"t\","
		 "\"anonymous\":\"yes\"}",
		 "true or false"},
		{"[]", "expected a JSON object"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ctrk_error_t err = {0};
		cJSON *m = ctrk_json_parse(cases[i].json, strlen(cases[i].json), "meta", &err);
		int rc = m ? vol_meta_validate(m, "v", "meta.json", &err) : -1;
		if (!cases[i].want)
			ok(rc == 0, "meta #%zu is valid (%s)", i, rc ? err.msg : "");
		else
			ok(rc < 0 && strstr(err.msg, cases[i].want), "meta #%zu refused: %s", i, err.msg);
		cJSON_Delete(m);
	}
}

/* types_new_meta() for TYPE with the --opt list OPTS (NULL-ended); NULL
 * and ERR filled when refused. */
static cJSON *
new_meta(const char *type, const char *const *opts, long uid, ctrk_error_t *err)
{
	vol_opts_t o = {.type = type, .uid = uid, .gid = -1, .mode = -1};
	for (; opts && *opts; opts++)
		ctrk_strlist_push(&o.opts, *opts);
	cJSON *m = types_new_meta(&o, "v", err);
	ctrk_strlist_free(&o.opts);
	return m;
}

static void
options(void)
{
	static const struct {
		const char *type;
		const char *opts[3];
		long uid;
		const char *want; /* NULL: accepted */
	} cases[] = {
		{"dir", {NULL}, 5, NULL},
		{"dir", {"size=1m", NULL}, -1, "unknown option 'size' for a dir volume (it takes none)"},
		{"dir", {"novalue", NULL}, -1, "invalid --opt 'novalue'"},
		{"dir", {"=v", NULL}, -1, "invalid --opt '=v'"},
		{"loop", {"size=16m", NULL}, -1, NULL},
		{"loop", {"size=1G", NULL}, 0, NULL},
		{"loop", {NULL}, -1, "needs --opt size=N"},
		{"loop", {"size=16", NULL}, -1, "1m to 16t"},
		{"loop", {"size=17t", NULL}, -1, "1m to 16t"},
		{"loop", {"size=16x", NULL}, -1, "invalid size '16x'"},
		{"loop", {"size=-1m", NULL}, -1, "invalid size '-1m'"},
		{"loop", {"size=99999999999999999999", NULL}, -1, "invalid size"},
		{"loop", {"size=16m", "size=8m"}, -1, "given twice"},
		{"loop", {"size=16m", "fs=xfs"}, -1, "unknown option 'fs' for a loop volume (size)"},
		{"bind", {"path=/", NULL}, -1, "it holds ctrk's own state"},
		{"bind", {"path=rel", NULL}, -1, "must be absolute"},
		{"bind", {"path=/nonexistent-ctrk-dir", NULL}, -1, "No such file"},
		{"bind", {"path=/etc/passwd", NULL}, -1, "Not a directory"},
		{"bind", {"path=/etc", NULL}, 1, "do not apply to a bind volume"},
		{"no-such-driver", {NULL}, -1, "no 'ctrk-vol-no-such-driver' on PATH"},
		{"Bad/Type", {NULL}, -1, "invalid volume type 'Bad/Type'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ctrk_error_t err = {0};
		cJSON *m = new_meta(cases[i].type, cases[i].opts, cases[i].uid, &err);
		if (!cases[i].want)
			ok(m != NULL, "%s #%zu accepted (%s)", cases[i].type, i, m ? "" : err.msg);
		else
			ok(!m && strstr(err.msg, cases[i].want), "%s #%zu refused: %s", cases[i].type, i, err.msg);
		cJSON_Delete(m);
	}
	/* What is kept: the options as given (a bind's path canonical), the
	 * owner only when given. */
	ctrk_error_t err;
	const char *opts[] = {"path=/etc/../etc/", NULL};
	cJSON *m = new_meta("bind", opts, -1, &err);
	char *text = m ? ctrk_json_render(m, false) : NULL;
	is_str(text, "{\"version\":1,\"name\":\"v\",\"type\":\"bind\",\"options\":{\"path\":\"/etc\"},\"labels\":{}}",
	       "a bind volume's metadata");
	free(text);
	cJSON_Delete(m);
}

/* A hold id names a file under $CTRK_RUN/volumes/.holds/NAME/ and comes
 * from a descriptor: nothing but 16 lowercase hex digits. */
static void
hold_ids(void)
{
	static const char *const good[] = {"0123456789abcdef", "ffffffffffffffff"};
	static const char *const bad[] = {"", "0123456789abcde", "0123456789abcdef0", "0123456789ABCDEF",
					  "../../etc/passw", "0123456789abcde/", ".123456789abcdef"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		ok(vol_hold_id_valid(good[i]), "hold id '%s' is good", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ok(!vol_hold_id_valid(bad[i]), "hold id '%s' refused", bad[i]);
	char hex[65];
	vol_random_hex(hex, 8);
	ok(vol_hold_id_valid(hex), "a new hold id (%s) is valid", hex);
}

int
main(void)
{
	/* ctrk's state, which a bind volume must neither be in nor hold. */
	setenv("CTRK_ROOT", "/var/lib/ctrk-test-vol", 1);
	setenv("CTRK_RUN", "/run/ctrk-test-vol", 1);
	names();
	meta();
	options();
	hold_ids();
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}
