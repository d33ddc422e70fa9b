/* Server text made fit for an error message.
 *
 * What a registry sends back (an error body, a header, a URL) can hold our
 * own secrets: a server that echoes the request, or one that wants them
 * printed into a CI log.  Every path that puts such text into a
 * ctrk_error_t goes through ctrk_redact() first. */
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

/* ctrk_redact() on ERR's message, in place (it may end up truncated). */
void ctrk_redact_error(ctrk_error_t *err, const char *const *secrets, size_t nsecrets);

#endif
