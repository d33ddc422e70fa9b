/* WWW-Authenticate and Link parsing, and the control-character check on
 * every header value ctrk sends. */
#include <stdlib.h>
#include <string.h>

#include "httphdr.h"
#include "tap.h"

static void
challenge(const char *h, const char *scheme, const char *realm, const char *service, const char *scope,
	  const char *name)
{
	ctrk_challenge_t c;
	ctrk_error_t err = {0};
	int r = ctrk_challenge_parse(h, &c, &err);
	ok(r == 0, "%s: parses", name);
	if (r < 0) {
		printf("#   error: %s\n", err.msg);
		return;
	}
	is_str(c.scheme, scheme, "%s: scheme", name);
	is_str(c.realm, realm, "%s: realm", name);
	is_str(c.service, service, "%s: service", name);
	is_str(c.scope, scope, "%s: scope", name);
	ctrk_challenge_free(&c);
}

static void
challenge_error(const char *h, const char *want, const char *name)
{
	ctrk_challenge_t c;
	ctrk_error_t err = {0};
	int r = ctrk_challenge_parse(h, &c, &err);
	ok(r == -1, "%s: refused", name);
	ok(strstr(err.msg, want) != NULL, "%s: message '%s'", name, err.msg);
	if (r == 0)
		ctrk_challenge_free(&c);
}

static void
link_next(const char *h, const char *want, const char *name)
{
	char *got = ctrk_link_next(h);
	is_str(got, want, "%s", name);
	free(got);
}

int
main(void)
{
	challenge("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\"", "Bearer",
		  "https://auth.docker.io/token", "registry.docker.io", NULL, "Docker Hub");
	challenge("Bearer realm=\"https://r/t\",service=\"s\",scope=\"repository:a/b:pull\",error=\"insufficient_scope\"",
		  "Bearer", "https://r/t", "s", "repository:a/b:pull", "with scope and error");
	challenge("bearer  REALM = https://r/t , Service=s", "bearer", "https://r/t", "s", NULL,
		  "case-insensitive names, tokens, white space");
	challenge("Basic realm=\"Registry Realm\"", "Basic", "Registry Realm", NULL, NULL, "Basic");
	challenge("Basic", "Basic", NULL, NULL, NULL, "a scheme alone");
	challenge("Bearer realm=\"a\\\"b\\\\c\"", "Bearer", "a\"b\\c", NULL, NULL, "quoted-pair escapes");
	challenge("Bearer realm=\"https://r/t\", Basic realm=\"x\"", "Bearer", "https://r/t", NULL, NULL,
		  "the first of two challenges");
	challenge("Bearer realm=\"\",service=", "Bearer", "", "", NULL, "empty values");

	challenge_error("", "no authentication scheme", "empty header");
	challenge_error("=x", "no authentication scheme", "no scheme");
	challenge_error("Bearer realm=\"https://r/t", "unterminated", "unterminated quoted string");
	challenge_error("Bearer realm=\"https://a/t\",realm=\"https://b/t\"", "given twice", "realm twice");
	challenge_error("Bearer realm=\"https://a/t\r\nX-Evil: 1\"", "control character", "realm with CR LF");
	challenge_error("Bearer realm=\"https://a/t\",service=\"s\x01\"", "control character", "service with ^A");
	challenge_error("Bearer realm=https://a/\x7f", "control character", "realm with DEL");
	challenge("Bearer realm=\"https://a/t\",other=\"\x01\"", "Bearer", "https://a/t", NULL, NULL,
		  "an unused parameter is not checked");

	link_next("</v2/_catalog?last=b&n=2>; rel=\"next\"", "/v2/_catalog?last=b&n=2", "distribution's Link");
	link_next("<https://x/a>; rel=prev, <https://x/c>; rel=\"next\"", "https://x/c", "the next of two");
	link_next("<https://x/c>; title=\"a;b,c\"; rel=\"prev next\"", "https://x/c", "rel list, quoted ';' and ','");
	link_next("<https://x/a>; rel=\"prev\"", NULL, "no next");
	link_next("https://x/a; rel=next", NULL, "no angle brackets");
	link_next("<https://x/a; rel=next", NULL, "unterminated <");
	link_next("<https://x/a\r\nX: y>; rel=next", NULL, "control character in the URI");
	link_next("<https://x/a>; rel=\"next", NULL, "unterminated quote");
	link_next("", NULL, "empty");

	ok(ctrk_hdr_value_ok("Authorization: Bearer abc.def-_~+/="), "a token is fine");
	ok(!ctrk_hdr_value_ok("Bearer abc\r\nX-Evil: 1"), "CR LF refused");
	ok(!ctrk_hdr_value_ok("abc\n"), "LF refused");
	ok(!ctrk_hdr_value_ok("a\tb"), "TAB refused");
	ok(!ctrk_hdr_value_ok("a\x7f"), "DEL refused");
	ok(ctrk_hdr_value_ok("caf\xc3\xa9"), "UTF-8 is not a control character");

	char *v = ctrk_hdr_value("content-length:  42 \r\n", 22, "Content-Length");
	is_str(v, "42", "header value, trimmed, case-insensitive name");
	free(v);
	v = ctrk_hdr_value("Content-Type: x\r\n", 17, "Content-Length");
	ok(v == NULL, "another header");
	free(v);
	v = ctrk_hdr_value("Location:\r\n", 11, "Location");
	is_str(v, "", "an empty value");
	free(v);
	return done_testing();
}
