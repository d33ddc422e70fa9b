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
/* The most layers an image may have: overlayfs stacks at most 500 lower
 * directories (OVL_MAX_STACK in fs/overlayfs), so an image with more could
 * be stored but never mounted.  Docker's overlay2 stops at 128; podman's
 * storage lifted that to store more in 2019 (containers/storage#489). */
#define CTRK_LAYERS_MAX 500
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

/* Is BODY a manifest or an index?  MEDIA_TYPE is what the server or the
 * descriptor that points at BODY said (may be NULL or empty, and a generic
 * type such as application/json is ignored).  A document with both an
 * image's fields (config, layers) and an index's (manifests), or whose own
 * mediaType disagrees with MEDIA_TYPE or with its shape, is an error, as
 * are schema 1 and unknown types. */
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

/* Is MEDIA_TYPE that of an image manifest or an index (OCI or Docker)? */
bool ctrk_is_doc_type(const char *media_type);

/* Layer media types ctrk can unpack. */
bool ctrk_is_layer_type(const char *media_type);

#endif
