/* Platform parsing, normalisation and matching, after containerd's rules. */
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "tap.h"

/* Parse S and compare the normalised string with WANT. */
static void
good(const char *s, const char *want)
{
	ctrk_platform_t p;
	ctrk_error_t err = { 0 };

	int rc = ctrk_platform_parse(s, &p, &err);
	ok(rc == 0, "parse '%s'", s);
	if (rc < 0) {
		printf("#   error: %s\n", err.msg);
		return;
	}
	char *str = ctrk_platform_string(&p);
	is_str(str, want, "'%s' normalises to '%s'", s, want);
	free(str);
	ctrk_platform_free(&p);
}

static void
bad(const char *s, const char *why)
{
	ctrk_platform_t p;
	ctrk_error_t err = { 0 };

	int rc = ctrk_platform_parse(s, &p, &err);
	ok(rc == -1, "reject '%s'", s);
	ok(strstr(err.msg, why) != NULL, "'%s' error mentions '%s'", s, why);
	printf("#   %s\n", err.msg);
	ok(!p.os && !p.arch && !p.variant, "'%s' leaves nothing allocated", s);
}

static bool
match(const char *want, const char *candidate)
{
	ctrk_platform_t w, c;
	ctrk_error_t err = { 0 };

	if (ctrk_platform_parse(want, &w, &err) < 0 || ctrk_platform_parse(candidate, &c, &err) < 0) {
		printf("#   error: %s\n", err.msg);
		abort();
	}
	bool m = ctrk_platform_match(&w, &c);
	ctrk_platform_free(&w);
	ctrk_platform_free(&c);
	return m;
}

static void
test_parse(void)
{
	good("linux/amd64", "linux/amd64");
	good("Linux/x86_64", "linux/amd64");
	good("linux/x86-64", "linux/amd64");
	good("linux/amd64/v1", "linux/amd64");
	good("linux/amd64/v3", "linux/amd64/v3");
	good("linux/arm64", "linux/arm64");
	good("linux/arm64/v8", "linux/arm64");
	good("linux/aarch64", "linux/arm64");
	good("linux/aarch64/8", "linux/arm64");
	good("linux/arm64/v9.0", "linux/arm64/v9");
	good("linux/arm/v7", "linux/arm/v7");
	good("linux/arm", "linux/arm/v7");
	good("linux/arm/6", "linux/arm/v6");
	good("linux/armhf", "linux/arm/v7");
	good("linux/armel", "linux/arm/v6");
	good("linux/i386", "linux/386");
	good("linux/i686", "linux/386");
	good("linux/ppc64le", "linux/ppc64le");
	good("windows/AMD64", "windows/amd64");
	good("macos/arm64", "darwin/arm64");

	bad("", "invalid platform '': expected OS/ARCH[/VARIANT]");
	bad("linux", "invalid platform 'linux': expected OS/ARCH[/VARIANT]");
	bad("linux/", "expected OS/ARCH[/VARIANT]");
	bad("/amd64", "expected OS/ARCH[/VARIANT]");
	bad("linux/arm/", "expected OS/ARCH[/VARIANT]");
	bad("linux/arm/v7/x", "expected OS/ARCH[/VARIANT]");
	bad("linux//v7", "expected OS/ARCH[/VARIANT]");
	bad("linux/am d64", "'am d64' must be letters, digits");
	bad("linux/arm/v7+1", "'v7+1' must be letters, digits, '.', '_' or '-'");
	bad("linux.x/amd64", "'linux.x' must be letters, digits, '_' or '-'");
}

static void
test_match(void)
{
	ok(match("linux/amd64", "linux/amd64"), "amd64 matches amd64");
	ok(match("linux/amd64", "linux/x86_64"), "amd64 matches x86_64");
	ok(!match("linux/amd64", "linux/arm64"), "amd64 does not match arm64");
	ok(!match("linux/amd64", "windows/amd64"), "linux does not match windows");
	ok(match("linux/arm64", "linux/arm64/v8"), "arm64 matches arm64/v8");
	ok(match("linux/arm64/v8", "linux/arm64"), "arm64/v8 matches arm64");
	ok(match("linux/arm64/v8", "linux/aarch64"), "arm64/v8 matches aarch64");
	ok(match("linux/arm/v7", "linux/arm/v7"), "arm/v7 matches arm/v7");
	ok(match("linux/arm/v7", "linux/arm"), "arm/v7 matches arm (v7 by default)");
	ok(match("linux/arm/v7", "linux/armhf"), "arm/v7 matches armhf");
	ok(!match("linux/arm/v7", "linux/arm/v6"), "arm/v7 does not match arm/v6");
	ok(!match("linux/arm/v6", "linux/arm/v7"), "arm/v6 does not match arm/v7");
	ok(!match("linux/arm/v7", "linux/arm64"), "arm does not match arm64");
	ok(match("linux/amd64", "linux/amd64/v3"), "no variant wanted: any variant matches");
	ok(!match("linux/amd64/v3", "linux/amd64"), "a wanted variant must be there");

	/* Hand-built structs are normalised when compared. */
	ctrk_platform_t want = { .os = "Linux", .arch = "aarch64", .variant = "v8" };
	ctrk_platform_t cand = { .os = "linux", .arch = "arm64", .variant = NULL };
	ok(ctrk_platform_match(&want, &cand), "hand-built aarch64/v8 matches arm64");
	ctrk_platform_t empty = { 0 };
	ok(!ctrk_platform_match(&empty, &cand), "an empty platform matches nothing");
}

static void
test_json(void)
{
	ctrk_platform_t p;
	ctrk_error_t err = { 0 };

	cJSON *j = cJSON_Parse("{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}");
	ok(ctrk_platform_from_json(j, &p, &err) == 0, "from_json arm64/v8");
	char *s = ctrk_platform_string(&p);
	is_str(s, "linux/arm64", "from_json normalises arm64/v8");
	free(s);
	cJSON *out = ctrk_platform_to_json(&p);
	char *text = cJSON_PrintUnformatted(out);
	is_str(text, "{\"os\":\"linux\",\"architecture\":\"arm64\"}", "to_json leaves out an empty variant");
	free(text);
	cJSON_Delete(out);
	ctrk_platform_free(&p);
	cJSON_Delete(j);

	j = cJSON_Parse("{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\",\"os.version\":\"x\"}");
	ok(ctrk_platform_from_json(j, &p, &err) == 0, "from_json arm/v7");
	out = ctrk_platform_to_json(&p);
	text = cJSON_PrintUnformatted(out);
	is_str(text, "{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}", "to_json arm/v7");
	free(text);
	cJSON_Delete(out);
	ctrk_platform_free(&p);
	cJSON_Delete(j);

	j = cJSON_Parse("{\"os\":\"linux\",\"architecture\":\"amd64\",\"variant\":\"\"}");
	ok(ctrk_platform_from_json(j, &p, &err) == 0 && p.variant == NULL, "an empty variant is none");
	ctrk_platform_free(&p);
	cJSON_Delete(j);

	static const struct {
		const char *json, *why;
	} bad_json[] = {
		{ "{\"architecture\":\"amd64\"}", "missing field 'os'" },
		{ "{\"os\":\"linux\"}", "missing field 'architecture'" },
		{ "{\"os\":1,\"architecture\":\"amd64\"}", "field 'os' must be a string" },
		{ "{\"os\":\"linux\",\"architecture\":[]}", "field 'architecture' must be a string" },
		{ "{\"os\":\"linux\",\"architecture\":\"amd64\",\"variant\":7}", "field 'variant' must be a string" },
		{ "{\"OS\":\"linux\",\"architecture\":\"amd64\"}", "missing field 'os'" },
		{ "{\"os\":\"\",\"architecture\":\"amd64\"}", "invalid os ''" },
		{ "{\"os\":\"linux\",\"architecture\":\"a/b\"}", "invalid architecture 'a/b'" },
		{ "{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v 7\"}", "invalid variant 'v 7'" },
		{ "[]", "expected an object" },
	};
	for (size_t i = 0; i < sizeof bad_json / sizeof *bad_json; i++) {
		j = cJSON_Parse(bad_json[i].json);
		err.msg[0] = '\0';
		ok(ctrk_platform_from_json(j, &p, &err) == -1 && strstr(err.msg, bad_json[i].why),
		   "from_json rejects %s", bad_json[i].json);
		printf("#   %s\n", err.msg);
		ctrk_platform_free(&p);
		cJSON_Delete(j);
	}
}

static void
test_host(void)
{
	ctrk_platform_t host, want;
	ctrk_error_t err = { 0 };
	const char *expect = NULL;

#if defined(__x86_64__)
	expect = "linux/amd64";
#elif defined(__aarch64__)
	expect = "linux/arm64/v8";
#endif
	ctrk_platform_host(&host);
	ok(host.os && host.arch, "host platform is known");
	char *s = ctrk_platform_string(&host);
	printf("# host: %s\n", s);
	free(s);
	is_str(host.os, "linux", "host os is linux");
	if (expect) {
		ok(ctrk_platform_parse(expect, &want, &err) == 0, "parse %s", expect);
		ok(ctrk_platform_match(&want, &host), "host matches %s", expect);
		ctrk_platform_free(&want);
	}
	ctrk_platform_free(&host);
}

int
main(void)
{
	test_parse();
	test_match();
	test_json();
	test_host();
	return done_testing();
}
