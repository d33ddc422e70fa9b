#include "redact.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "httphdr.h"

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

/* ---- the secrets this process knows ------------------------------------ */

#define KNOWN_MAX 256

static pthread_mutex_t known_lock = PTHREAD_MUTEX_INITIALIZER;
static char *known[KNOWN_MAX];
static size_t nknown;

static void
forget_all(void)
{
	pthread_mutex_lock(&known_lock);
	for (size_t i = 0; i < nknown; i++) {
		explicit_bzero(known[i], strlen(known[i]));
		free(known[i]);
		known[i] = NULL;
	}
	nknown = 0;
	pthread_mutex_unlock(&known_lock);
}

static char *
filter_message(const char *msg, size_t len)
{
	return ctrk_redact_known(msg, len);
}

static void
install(void)
{
	atexit(forget_all);
	ctrk_message_filter = filter_message;
}

/* Caller holds known_lock.  A full list drops its oldest entry: the newest
 * secrets (a fresh token) are the ones a server can still echo. */
static void
remember(const char *s)
{
	for (size_t i = 0; i < nknown; i++)
		if (strcmp(known[i], s) == 0)
			return;
	if (nknown == KNOWN_MAX) {
		explicit_bzero(known[0], strlen(known[0]));
		free(known[0]);
		memmove(known, known + 1, sizeof known[0] * (KNOWN_MAX - 1));
		nknown--;
	}
	known[nknown++] = ctrk_xstrdup(s);
}

/* S percent-encoded as curl_easy_escape() and Python's quote() write it in
 * a query or a form: all but the unreserved characters of RFC 3986. */
static char *
url_encoded(const char *s)
{
	char *out = ctrk_xmalloc(3 * strlen(s) + 1);
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p))
			out[n++] = (char)*p;
		else
			n += (size_t)snprintf(out + n, 4, "%%%02X", *p);
	}
	out[n] = '\0';
	return out;
}

void
ctrk_secret_add(const char *secret)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	if (!secret || !*secret)
		return;
	pthread_once(&once, install);
	char *enc = url_encoded(secret);
	pthread_mutex_lock(&known_lock);
	remember(secret);
	if (strcmp(enc, secret) != 0)
		remember(enc);
	pthread_mutex_unlock(&known_lock);
	explicit_bzero(enc, strlen(enc));
	free(enc);
}

char *
ctrk_redact_known(const char *text, size_t len)
{
	pthread_mutex_lock(&known_lock);
	char *out = ctrk_redact(text, len, (const char *const *)known, nknown);
	pthread_mutex_unlock(&known_lock);
	return out;
}

void
ctrk_secret_add_credentials(const char *user, const char *pass)
{
	ctrk_secret_add(pass);
	if (!user)
		return;
	char *b64 = ctrk_basic_credentials(user, pass);
	ctrk_secret_add(b64);
	explicit_bzero(b64, strlen(b64));
	free(b64);
	if (pass && *pass) {
		char *pair = ctrk_strdup_printf("%s:%s", user, pass);
		ctrk_secret_add(pair);
		explicit_bzero(pair, strlen(pair));
		free(pair);
	}
}
