/* A client for the OCI distribution API (what docker-registry serves).
 *
 * One ctrk_registry_t per registry host holds what all transfers share:
 * scheme, TLS settings, credentials and bearer tokens (under a mutex).  One
 * ctrk_conn_t per thread holds a curl handle whose connection is reused from
 * request to request. */
#ifndef CTRK_REGISTRY_H
#define CTRK_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "error.h"
#include "store.h"

#define CTRK_MANIFEST_MAX (4u << 20)

#define CTRK_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define CTRK_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define CTRK_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define CTRK_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define CTRK_MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define CTRK_MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

typedef struct ctrk_registry_opts {
	const char *ca_file;  /* extra CA certificates (PEM) */
	const char *cert_dir; /* instead of /etc/{containers,docker}/certs.d/HOST */
	bool plain_http;      /* http:// even off loopback */
	int retries;          /* on connection errors, 5xx and 429 */
	ctrk_auth_opts_t auth;
} ctrk_registry_opts_t;

typedef struct ctrk_registry ctrk_registry_t;
typedef struct ctrk_conn ctrk_conn_t;

/* Reach DOMAIN ("docker.io", "localhost:5000"): settle the scheme (a
 * loopback registry that speaks plain HTTP is used over HTTP) and load
 * credentials. */
ctrk_registry_t *ctrk_registry_open(const char *domain, const ctrk_registry_opts_t *opts, ctrk_error_t *err);
void ctrk_registry_close(ctrk_registry_t *r);

ctrk_conn_t *ctrk_conn_new(ctrk_registry_t *r);
void ctrk_conn_free(ctrk_conn_t *c);

/* GET a manifest or index by tag or digest into memory (at most
 * CTRK_MANIFEST_MAX bytes).  *MEDIA_TYPE is the Content-Type. */
int ctrk_registry_get_manifest(ctrk_conn_t *c, const char *repo, const char *reference, char **body, size_t *len,
			       char **media_type, ctrk_error_t *err);

/* Called as bytes of a blob arrive (from any thread); returning false
 * cancels the transfer. */
typedef bool (*ctrk_progress_fn)(void *ctx, long long done, long long total);

/* Stream a blob into the ingest IN, resuming at in->offset with a Range
 * request and again after each interrupted attempt, then verify it
 * (ctrk_ingest_finish).  IN is closed on return either way. */
int ctrk_registry_fetch_blob(ctrk_conn_t *c, const char *repo, ctrk_ingest_t *in, ctrk_progress_fn progress,
			     void *progress_ctx, ctrk_error_t *err);

#endif
