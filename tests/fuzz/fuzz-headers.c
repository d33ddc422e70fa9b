/* libFuzzer target: the header fields a registry sends that ctrk parses
 * itself, WWW-Authenticate (ctrk_challenge_parse) and Link (ctrk_link_next),
 * and the redaction every server text goes through (ctrk_redact).  None may
 * crash, leak or read out of bounds; what a challenge yields is never a
 * value that could end a header line; a redacted text never holds a secret
 * or a control character. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httphdr.h"
#include "redact.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	ctrk_challenge_t c;
	ctrk_error_t err = {0};
	if (ctrk_challenge_parse(s, &c, &err) == 0) {
		const char *v[] = {c.realm, c.service, c.scope};
		for (size_t i = 0; i < 3; i++)
			if (v[i] && !ctrk_hdr_value_ok(v[i]))
				abort(); /* a control character got through */
		if (!c.scheme || !*c.scheme)
			abort();
		ctrk_challenge_free(&c);
	}

	char *next = ctrk_link_next(s);
	if (next && !ctrk_hdr_value_ok(next))
		abort();
	free(next);

	char *hv = ctrk_hdr_value(s, size, "WWW-Authenticate");
	free(hv);

	/* The input's first line is a secret, the rest the server's text. */
	char *nl = memchr(s, '\n', size);
	if (nl) {
		*nl = '\0';
		const char *secrets[] = {s};
		size_t tlen = size - (size_t)(nl + 1 - s);
		char *out = ctrk_redact(nl + 1, tlen, secrets, 1);
		for (const char *p = out; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		/* A secret never survives.  Only checked on text without
		 * control characters and for a secret that "[redacted]" cannot
		 * make up: else the output's own "\x0a" and "[redacted]" can
		 * spell a secret that the text never held (the first crash this
		 * harness found, tests/unit/test-redact.c). */
		bool ctl = false;
		for (size_t i = 0; i < tlen; i++)
			ctl |= (unsigned char)nl[1 + i] < 0x20 || nl[1 + i] == 0x7f;
		if (!ctl && strlen(s) >= 4 && ctrk_hdr_value_ok(s) && !strpbrk(s, "[]") && !strstr(CTRK_REDACTED, s) &&
		    strstr(out, s))
			abort();
		free(out);
	}
	free(s);
	return 0;
}
