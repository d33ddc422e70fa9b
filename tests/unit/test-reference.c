/* Image reference parsing and normalisation, checked against what docker
 * and the distribution reference library make of the same strings. */
#include <stdlib.h>
#include <string.h>

#include "reference.h"
#include "tap.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DIGEST "sha256:" HEX64

/* Parse S and compare every field and the full string with the wants. */
static void
good(const char *s, const char *domain, const char *path, const char *tag, const char *digest, const char *full)
{
	ctrk_reference_t ref;
	ctrk_error_t err = { 0 };

	int rc = ctrk_reference_parse(s, &ref, &err);
	ok(rc == 0, "parse '%s'", s);
	if (rc < 0) {
		printf("#   error: %s\n", err.msg);
		return;
	}
	is_str(ref.domain, domain, "'%s' domain", s);
	is_str(ref.path, path, "'%s' path", s);
	is_str(ref.tag, tag, "'%s' tag", s);
	is_str(ref.digest, digest, "'%s' digest", s);
	char *str = ctrk_reference_string(&ref);
	is_str(str, full, "'%s' string", s);
	free(str);
	ctrk_reference_free(&ref);
}

/* Parse S, expect a failure whose message contains WHY. */
static void
bad(const char *s, const char *why)
{
	ctrk_reference_t ref;
	ctrk_error_t err = { 0 };

	int rc = ctrk_reference_parse(s, &ref, &err);
	ok(rc == -1, "reject '%s'", s);
	ok(strncmp(err.msg, "invalid reference '", strlen("invalid reference '")) == 0 && strstr(err.msg, why),
	   "'%s' error mentions '%s'", s, why);
	printf("#   %s\n", err.msg);
	ok(!ref.domain && !ref.path && !ref.tag && !ref.digest, "'%s' leaves nothing allocated", s);
	ctrk_reference_free(&ref);
}

static void
test_good(void)
{
	good("busybox", "docker.io", "library/busybox", "latest", NULL, "docker.io/library/busybox:latest");
	good("busybox:1.36", "docker.io", "library/busybox", "1.36", NULL, "docker.io/library/busybox:1.36");
	good("docker.io/library/busybox:1.36", "docker.io", "library/busybox", "1.36", NULL,
	     "docker.io/library/busybox:1.36");
	good("docker.io/busybox", "docker.io", "library/busybox", "latest", NULL,
	     "docker.io/library/busybox:latest");
	good("library/busybox", "docker.io", "library/busybox", "latest", NULL, "docker.io/library/busybox:latest");
	good("index.docker.io/x/y", "docker.io", "x/y", "latest", NULL, "docker.io/x/y:latest");
	good("index.docker.io/busybox", "docker.io", "library/busybox", "latest", NULL,
	     "docker.io/library/busybox:latest");
	good("localhost:5000/a/b@" DIGEST, "localhost:5000", "a/b", NULL, DIGEST, "localhost:5000/a/b@" DIGEST);
	good("localhost/a", "localhost", "a", "latest", NULL, "localhost/a:latest");
	good("[::1]:5000/a:t", "[::1]:5000", "a", "t", NULL, "[::1]:5000/a:t");
	good("[::1]/a", "[::1]", "a", "latest", NULL, "[::1]/a:latest");
	good("example.com/a/b:t@" DIGEST, "example.com", "a/b", "t", DIGEST, "example.com/a/b:t@" DIGEST);
	good("busybox@" DIGEST, "docker.io", "library/busybox", NULL, DIGEST, "docker.io/library/busybox@" DIGEST);
	/* An uppercase first component can only be a domain. */
	good("Foo/bar", "Foo", "bar", "latest", NULL, "Foo/bar:latest");
	/* Without a '/', "localhost:5000" is the image localhost, tag 5000. */
	good("localhost:5000", "docker.io", "library/localhost", "5000", NULL,
	     "docker.io/library/localhost:5000");
	good("quay.io/a-b/c__d.e_f--g:V1.0-rc_1", "quay.io", "a-b/c__d.e_f--g", "V1.0-rc_1", NULL,
	     "quay.io/a-b/c__d.e_f--g:V1.0-rc_1");
	good("10.0.0.1:443/x", "10.0.0.1:443", "x", "latest", NULL, "10.0.0.1:443/x:latest");
	good("my-registry.local:5000/team/app:_tag", "my-registry.local:5000", "team/app", "_tag", NULL,
	     "my-registry.local:5000/team/app:_tag");

	char tag128[129];
	memset(tag128, 'a', 128);
	tag128[128] = '\0';
	char *s = malloc(strlen("x:") + 129);
	strcpy(s, "x:");
	strcat(s, tag128);
	char *full = malloc(strlen("docker.io/library/x:") + 129);
	strcpy(full, "docker.io/library/x:");
	strcat(full, tag128);
	good(s, "docker.io", "library/x", tag128, NULL, full);
	free(s);
	free(full);
}

static void
test_bad(void)
{
	bad("", "empty reference");
	bad("a b", "invalid path component 'a b'");
	bad("busybox:", "missing tag");
	bad("busybox@", "missing digest");
	bad("x@sha256:short", "expected 64 lowercase hex");
	bad("x@sha256:" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "lowercase hex");
	bad("x@md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest algorithm 'md5'");
	bad("x@sha512:" HEX64 HEX64, "unsupported digest algorithm 'sha512'");
	bad("x@" HEX64, "invalid digest");
	bad("a//b", "empty path component");
	bad("a/b/", "empty path component");
	bad("example.com/", "empty path component");
	bad("/a", "empty path component");
	bad("UPPER", "repository name must be lowercase");
	bad("example.com/Foo", "repository name must be lowercase");
	bad("Foo/../x", "invalid path component '..'");
	bad("a/-b", "invalid path component '-b'");
	bad("a/b_", "invalid path component 'b_'");
	bad("a/b___c", "invalid path component 'b___c'");
	bad("a:-x", "invalid tag '-x'");
	bad("a:b:c", "invalid tag 'b:c'");
	bad("a:b/c", "invalid port");
	bad("localhost:99999/a", "invalid port");
	bad("-bad.com/a", "invalid domain '-bad.com'");
	bad("bad..com/a", "invalid domain");
	bad("[::1/a", "invalid IPv6");
	bad("[zz::1]:5000/a", "invalid IPv6");
	bad("[::1]x/a", "invalid port");
	bad(HEX64, "image ID");

	char tag129[130];
	memset(tag129, 'a', 129);
	tag129[129] = '\0';
	char *s = malloc(strlen("x:") + 130);
	strcpy(s, "x:");
	strcat(s, tag129);
	bad(s, "tag must not be more than 128 characters");
	free(s);

	/* docker.io/library/ is 18 characters: a 237-character name is 255. */
	char name[240], path[260], full[280];
	memset(name, 'a', 237);
	name[237] = '\0';
	snprintf(path, sizeof path, "library/%s", name);
	snprintf(full, sizeof full, "docker.io/%s:latest", path);
	good(name, "docker.io", path, "latest", NULL, full);
	memset(name, 'a', 238);
	name[238] = '\0';
	bad(name, "must not be more than 255 characters");
}

static void
test_helpers(void)
{
	ctrk_reference_t ref;
	ctrk_error_t err = { 0 };

	ok(ctrk_reference_parse("busybox", &ref, &err) == 0, "parse busybox");
	is_str(ctrk_reference_api_host(&ref), "registry-1.docker.io", "docker.io talks to registry-1.docker.io");
	char *name = ctrk_reference_name(&ref);
	is_str(name, "docker.io/library/busybox", "name of busybox");
	free(name);
	ctrk_reference_free(&ref);

	ok(ctrk_reference_parse("localhost:5000/a/b:t", &ref, &err) == 0, "parse localhost:5000/a/b:t");
	is_str(ctrk_reference_api_host(&ref), "localhost:5000", "other registries are their domain");
	ctrk_reference_free(&ref);
	ctrk_reference_free(&ref); /* twice is harmless */

	static const char *const loopback[] = {
		"localhost", "localhost:5000", "LOCALHOST:5000", "127.0.0.1", "127.0.0.1:5000", "127.1.2.3",
		"[::1]", "[::1]:5000", "::1", "[::ffff:127.0.0.1]:5000",
	};
	for (size_t i = 0; i < sizeof loopback / sizeof *loopback; i++)
		ok(ctrk_host_is_loopback(loopback[i]), "'%s' is loopback", loopback[i]);

	static const char *const remote[] = {
		"", "docker.io", "registry-1.docker.io:443", "128.0.0.1", "10.0.0.1:5000", "[::2]:5000",
		"[::1", "[::1]x", "localhost:", "localhost:abc", "localhost:5000:1", "localhost.example.com",
		"127.0.0.1.example.com", "[localhost]", "127.1", "0.0.0.0", "[::]",
	};
	for (size_t i = 0; i < sizeof remote / sizeof *remote; i++)
		ok(!ctrk_host_is_loopback(remote[i]), "'%s' is not loopback", remote[i]);
	ok(!ctrk_host_is_loopback(NULL), "NULL is not loopback");
}

int
main(void)
{
	test_good();
	test_bad();
	test_helpers();
	return done_testing();
}
