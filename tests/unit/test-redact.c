/* ctrk_redact: server text is printed only with every known secret taken
 * out, also one cut off at the end, and with control characters shown. */
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "tap.h"

static void
check(const char *text, const char *const *secrets, size_t n, const char *want, const char *name)
{
	char *got = ctrk_redact(text, strlen(text), secrets, n);
	is_str(got, want, "%s", name);
	free(got);
}

int
main(void)
{
	const char *s[] = {"hunter2", "dXNlcjpodW50ZXIy", "eyJhbGciOi.tok.sig", NULL, ""};
	size_t n = sizeof s / sizeof s[0];

	check("no secret here", s, n, "no secret here", "text without secrets is kept");
	check("bad password hunter2 for user", s, n, "bad password [redacted] for user", "a password");
	check("Authorization: Basic dXNlcjpodW50ZXIy", s, n, "Authorization: Basic [redacted]",
	      "user:password in base64");
	check("Bearer eyJhbGciOi.tok.sig!", s, n, "Bearer [redacted]!", "a bearer token");
	check("hunter2hunter2 and hunter2", s, n, "[redacted] and [redacted]", "every occurrence, runs merged");
	check("cut off: eyJhbGc", s, n, "cut off: [redacted]", "a token cut off by the end of the text");
	check("ends in hun", s, n, "ends in hun", "three bytes of a secret at the end are kept");
	check("a\r\nX-Evil: 1\x1b[2J\x7f", s, n, "a\\x0d\\x0aX-Evil: 1\\x1b[2J\\x7f", "control characters are shown");
	check("h\x01unter2", s, n, "h\\x01unter2", "a control character splits no secret into view");
	check("", s, n, "", "empty text");
	check("hunter2", NULL, 0, "hunter2", "no secrets known");

	const char *nested[] = {"abc", "xabcx"};
	check("1 xabcx 2", nested, 2, "1 [redacted] 2", "the longest secret that matches wins");
	const char *one[] = {"a"};
	check("banana", one, 1, "b[redacted]n[redacted]n[redacted]", "a one-byte secret is still taken out");

	/* Found by tests/fuzz/fuzz-headers.c: the escape of a control
	 * character followed by the rest of a secret spells the secret in the
	 * output ("\x0a" ends in "a"), although the text never held it; the
	 * harness now knows that this is no leak. */
	const char *tail[] = {"abcd"};
	check("\nbcd", tail, 1, "\\x0abcd", "an escape next to a secret's tail is not a match");
	check("\nabcd", tail, 1, "\\x0a[redacted]", "a secret after a control character");

	char *big = ctrk_redact("\x01\x01\x01\x01", 4, s, n);
	is_str(big, "\\x01\\x01\\x01\\x01", "output grows as needed");
	free(big);

	ctrk_error_t err = {0};
	snprintf(err.msg, sizeof err.msg, "fetching manifest: HTTP 400: echo hunter2");
	ctrk_redact_error(&err, s, n);
	is_str(err.msg, "fetching manifest: HTTP 400: echo [redacted]", "ctrk_redact_error in place");
	/* The end of a full message cuts a token off. */
	memset(err.msg, 'x', sizeof err.msg);
	memcpy(err.msg + sizeof err.msg - 9, "eyJhbGci", 9);
	ctrk_redact_error(&err, s, n);
	ok(strstr(err.msg, "eyJh") == NULL && strstr(err.msg, "[redact") != NULL,
	   "a token cut off by the message size is redacted");
	return done_testing();
}
