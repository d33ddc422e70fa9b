/* Registry credentials from the places podman, skopeo and docker keep them. */
#ifndef CTRK_AUTH_H
#define CTRK_AUTH_H

#include "error.h"

typedef struct ctrk_creds {
	char *username;
	char *password;
	char *identity_token; /* a refresh token from a helper ("<token>" user) */
} ctrk_creds_t;

typedef struct ctrk_auth_opts {
	const char *creds;    /* --creds USER[:PASS], or NULL */
	const char *authfile; /* --authfile FILE, or NULL */
} ctrk_auth_opts_t;

/* Find credentials for REGISTRY ("docker.io", "localhost:5000").  Order:
 * --creds; --authfile; $REGISTRY_AUTH_FILE; $XDG_RUNTIME_DIR/containers/auth.json;
 * $DOCKER_CONFIG/config.json or ~/.docker/config.json.  In a file:
 * credHelpers[REGISTRY], then auths[REGISTRY], then credsStore.
 * Returns 1 when found, 0 when there are none, -1 on error. */
int ctrk_auth_lookup(const ctrk_auth_opts_t *opts, const char *registry, ctrk_creds_t *out,
		     ctrk_error_t *err);

/* Wipe and free. */
void ctrk_creds_clear(ctrk_creds_t *c);

#endif
