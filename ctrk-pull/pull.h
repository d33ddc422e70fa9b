/* ctrk-pull: images from a registry or an offline source into the store. */
#ifndef CTRK_PULL_H
#define CTRK_PULL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "platform.h"
#include "registry.h"
#include "store.h"

typedef struct pull_opts {
	const char *root;
	ctrk_platform_t platform;
	bool platform_given;
	ctrk_registry_opts_t registry;
	int jobs;
	bool quiet;
} pull_opts_t;

/* Where an image comes from.  Each kind (registry, OCI layout, archive)
 * fills in the operations; pull.c does the rest the same way for all. */
typedef struct source source_t;

struct source_ops {
	/* The manifest or index the source names, and its media type when the
	 * source says one (else NULL). */
	int (*get_root)(source_t *src, char **body, size_t *len, char **media_type, ctrk_error_t *err);
	/* A manifest by digest, after picking it from an index. */
	int (*get_manifest)(source_t *src, const char *digest, char **body, size_t *len, char **media_type,
			    ctrk_error_t *err);
	/* Per-worker state, such as a connection. */
	void *(*worker_new)(source_t *src);
	void (*worker_free)(void *worker);
	/* Transfer one blob into the opened ingest IN and verify it
	 * (ctrk_ingest_finish); IN is closed on return either way. */
	int (*fetch_blob)(source_t *src, void *worker, ctrk_ingest_t *in, ctrk_progress_fn progress, void *pctx,
			  ctrk_error_t *err);
	void (*close)(source_t *src);
};

struct source {
	const struct source_ops *ops;
	char *ref_name;      /* the store's name for the image */
	char *source_id;     /* "oci:DIR:TAG" for offline sources, else NULL */
	char *pinned_digest; /* what the reference pins the root document to */
	void *priv;
};

/* Open SPEC: a registry reference, oci:DIR[:TAG], oci-archive:FILE[:TAG] or
 * docker-archive:FILE. */
int source_open(const char *spec, const pull_opts_t *opts, const ctrk_store_t *store, source_t **out,
		ctrk_error_t *err);
void source_free(source_t *src);

int source_registry_open(const char *ref, const pull_opts_t *opts, source_t **out, ctrk_error_t *err);
int source_layout_open(const char *spec, const pull_opts_t *opts, const ctrk_store_t *store, source_t **out,
		       ctrk_error_t *err);

/* Pull SPEC into the store and print the descriptor on stdout. */
int pull_image(const char *spec, const pull_opts_t *opts, ctrk_error_t *err);

#endif
