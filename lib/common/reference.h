/* Image references, by the grammar of the distribution spec, normalised as
 * Docker does: "busybox" is "docker.io/library/busybox:latest". */
#ifndef CTRK_REFERENCE_H
#define CTRK_REFERENCE_H

#include "error.h"

typedef struct ctrk_reference {
	char *domain; /* "docker.io", "localhost:5000", "[::1]:5000" */
	char *path;   /* "library/busybox", "a/b" */
	char *tag;    /* "latest"; NULL when only a digest was given */
	char *digest; /* "sha256:<64 hex>" or NULL */
} ctrk_reference_t;

/* Parse and normalise S.  Without tag and digest the tag is "latest". */
int ctrk_reference_parse(const char *s, ctrk_reference_t *ref, ctrk_error_t *err);
void ctrk_reference_free(ctrk_reference_t *ref);

/* "domain/path" (caller frees). */
char *ctrk_reference_name(const ctrk_reference_t *ref);
/* The full normalised form: "domain/path:tag", "domain/path@digest" or
 * "domain/path:tag@digest" (caller frees). */
char *ctrk_reference_string(const ctrk_reference_t *ref);
/* The host to talk to: "registry-1.docker.io" for docker.io, else domain. */
const char *ctrk_reference_api_host(const ctrk_reference_t *ref);
/* Is the registry host on loopback (localhost, 127.0.0.0/8, ::1)? */
int ctrk_host_is_loopback(const char *host_port);

#endif
