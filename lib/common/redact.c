#include "redact.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

/* Below this many bytes a cut-off start of a secret is too common a string
 * to hide without garbling the message (and gives little away). */
#define PARTIAL_MIN 4

/* The length of the longest secret that starts at TEXT (full, or cut off by
 * the end when that leaves at least PARTIAL_MIN bytes), 0 when none does. */
static size_t
secret_at(const char *text, size_t left, const char *const *secrets, size_t nsecrets)
{
	size_t best = 0;
	for (size_t i = 0; i < nsecrets; i++) {
		const char *s = secrets[i];
		size_t slen = s ? strlen(s) : 0;
		if (slen == 0)
			continue;
		if (slen <= left) {
			if (slen > best && memcmp(text, s, slen) == 0)
				best = slen;
		} else if (left >= PARTIAL_MIN && left > best && memcmp(text, s, left) == 0) {
			best = left;
		}
	}
	return best;
}

char *
ctrk_redact(const char *text, size_t len, const char *const *secrets, size_t nsecrets)
{
	/* Worst case: every byte becomes "\xNN". */
	size_t cap = 4 * len + sizeof CTRK_REDACTED;
	char *out = ctrk_xmalloc(cap + 1);
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		size_t s = secret_at(text + i, len - i, secrets, nsecrets);
		if (s > 0) {
			/* Two redactions in a row read as one. */
			size_t rl = strlen(CTRK_REDACTED);
			if (!(n >= rl && memcmp(out + n - rl, CTRK_REDACTED, rl) == 0)) {
				if (n + rl > cap) {
					cap = n + rl;
					out = ctrk_xrealloc(out, cap + 1);
				}
				memcpy(out + n, CTRK_REDACTED, rl);
				n += rl;
			}
			i += s;
			continue;
		}
		unsigned char c = (unsigned char)text[i++];
		if (n + 4 > cap) {
			cap = n + 4 + 4 * (len - i);
			out = ctrk_xrealloc(out, cap + 1);
		}
		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, 5, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

void
ctrk_redact_error(ctrk_error_t *err, const char *const *secrets, size_t nsecrets)
{
	if (!err)
		return;
	char *clean = ctrk_redact(err->msg, strnlen(err->msg, sizeof err->msg), secrets, nsecrets);
	snprintf(err->msg, sizeof err->msg, "%s", clean);
	free(clean);
}
