/* Reading the HTTP header fields a registry sends, and checking the ones we
 * send.  Pure string functions, so that they can be unit-tested and fuzzed
 * (tests/fuzz/fuzz-headers.c) apart from the network. */
#ifndef CTRK_HTTPHDR_H
#define CTRK_HTTPHDR_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* The value of the header line "NAME: value" (LINE is LEN bytes, with or
 * without its CRLF), white space trimmed; NULL when LINE is another header.
 * Caller frees. */
char *ctrk_hdr_value(const char *line, size_t len, const char *name);

/* True when S can go into a header we send: no control character (C0, which
 * includes CR, LF and NUL, or DEL) that would end the line early or inject
 * another header. */
bool ctrk_hdr_value_ok(const char *s);

/* The first challenge of a WWW-Authenticate header (RFC 7235 section 4.1):
 * its scheme and the parameters a registry uses.  Absent ones are NULL. */
typedef struct ctrk_challenge {
	char *scheme; /* "Bearer", "Basic", as sent */
	char *realm;
	char *service;
	char *scope;
} ctrk_challenge_t;

/* Parse HEADER into OUT.  A parameter given twice, an unterminated quoted
 * string, or a value with a control character is an error: a registry gets
 * one reading of its challenge, and nothing in it can end up as a second
 * header line in a token request. */
int ctrk_challenge_parse(const char *header, ctrk_challenge_t *out, ctrk_error_t *err);
void ctrk_challenge_free(ctrk_challenge_t *c);

/* The URI-reference of the link with rel "next" in a Link header (RFC 8288),
 * as registries page tag and catalog lists; NULL when there is none or the
 * header is malformed.  Caller frees. */
char *ctrk_link_next(const char *header);

/* base64("USER:PASS") as a Basic Authorization header carries it (PASS NULL
 * counts as empty); the clear pair is wiped.  The caller wipes and frees. */
char *ctrk_basic_credentials(const char *user, const char *pass);

#endif
