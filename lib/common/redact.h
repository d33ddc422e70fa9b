/* Server text made fit for a message, and the secrets it must not show.
 *
 * What a registry sends back (an error body, a header, a URL, a manifest
 * field) can hold our own secrets: a server that echoes the request, or one
 * that wants them printed into a CI log.  Every secret is remembered where it
 * is learnt (ctrk_secret_add: credentials by auth.c, tokens by registry.c);
 * every message a tool prints (ctrk_report, ctrk_warn, ctrk_note) and every
 * piece of server text put into a ctrk_error_t goes through ctrk_redact(). */
#ifndef CTRK_REDACT_H
#define CTRK_REDACT_H

#include <stddef.h>

#include "error.h"

#define CTRK_REDACTED "[redacted]"

/* A copy of TEXT (LEN bytes) in which every occurrence of each of the
 * NSECRETS SECRETS (NULL and empty ones are skipped) is CTRK_REDACTED, as is
 * the start of one that the end of TEXT cuts off (at least 4 bytes of it),
 * and in which control characters (C0 and DEL, which would move the
 * cursor, clear the screen or forge a line) are written "\xNN".  Caller frees. */
char *ctrk_redact(const char *text, size_t len, const char *const *secrets, size_t nsecrets);

/* Remember SECRET (a copy, with its URL-encoded form) until exit, when the
 * copies are wiped.  From then on messages never show it. */
void ctrk_secret_add(const char *secret);

/* A user's credentials: PASS, "USER:PASS" (when PASS is not empty: "user:"
 * alone gives nothing away) and its base64 as a Basic header sends it. */
void ctrk_secret_add_credentials(const char *user, const char *pass);

/* ctrk_redact() with every secret remembered so far. */
char *ctrk_redact_known(const char *text, size_t len);

#endif
