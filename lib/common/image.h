/* Images: manifests, indexes and configs (OCI and Docker schema 2), and
 * the descriptor's `image` field built from what the store holds, so that
 * every tool describes an image the same way ctrk-pull does. */
#ifndef CTRK_IMAGE_H
#define CTRK_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "digest.h"
#include "error.h"
#include "platform.h"
#include "store.h"

#define CTRK_CONFIG_MAX (8u << 20)
/* Where an image was pulled through an index, that index's digest. */
#define CTRK_ANNOTATION_INDEX "dev.ctrk.index.digest"

typedef struct ctrk_blob {
	char *media_type;
	char digest[CTRK_DIGEST_LEN + 1];
	long long size;
} ctrk_blob_t;

typedef enum ctrk_doc_kind {
	CTRK_DOC_MANIFEST,
	CTRK_DOC_INDEX,
} ctrk_doc_kind_t;

typedef struct ctrk_manifest {
	char *media_type;
	ctrk_blob_t config;
	ctrk_blob_t *layers;
	size_t nlayers;
} ctrk_manifest_t;

/* Is BODY a manifest or an index?  MEDIA_TYPE is what the server said (may
 * be NULL or empty); the document's own mediaType wins when present.
 * Schema 1 and unknown types are errors that say so. */
int ctrk_doc_kind(const char *body, size_t len, const char *media_type, ctrk_doc_kind_t *kind,
		  char **resolved_type, ctrk_error_t *err);

int ctrk_manifest_parse(const char *body, size_t len, const char *media_type, ctrk_manifest_t *m,
			ctrk_error_t *err);
void ctrk_manifest_free(ctrk_manifest_t *m);

/* Pick the manifest for WANT from an index: its descriptor in *OUT and its
 * platform in *GOT.  No match is an error listing what the index offers. */
int ctrk_index_select(const char *body, size_t len, const ctrk_platform_t *want, ctrk_blob_t *out,
		      ctrk_platform_t *got, ctrk_error_t *err);

/* Parse and check an image config against its manifest (one diff_id per
 * layer).  *CONFIG owns the parsed document. */
int ctrk_config_parse(const char *body, size_t len, const ctrk_manifest_t *m, cJSON **config,
		      ctrk_error_t *err);

/* The `image` field for the image that ref NAME names in the store.  NAME
 * is matched as written, then as a normalised reference ("busybox"). */
cJSON *ctrk_image_from_store(const ctrk_store_t *s, const char *name, ctrk_error_t *err);

/* Read a descriptor {mediaType, digest, size} with every field checked. */
int ctrk_blob_parse(const cJSON *j, ctrk_blob_t *b, const char *what, ctrk_error_t *err);
void ctrk_blob_free(ctrk_blob_t *b);
cJSON *ctrk_blob_to_json(const ctrk_blob_t *b);

/* Layer media types ctrk can unpack. */
bool ctrk_is_layer_type(const char *media_type);

#endif
