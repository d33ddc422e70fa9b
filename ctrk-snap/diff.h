/* ctrk-snap diff: the changes of a snapshot against its parent, as an OCI
 * image layer written into the content store. */
#ifndef CTRK_SNAP_DIFF_H
#define CTRK_SNAP_DIFF_H

#include <cjson/cJSON.h>

#include "digest.h"
#include "error.h"
#include "snap.h"

typedef enum diff_compression {
	DIFF_GZIP,
	DIFF_ZSTD,
	DIFF_NONE,
} diff_compression_t;

/* "gzip", "zstd" or "none"; -1 for anything else. */
int diff_compression_parse(const char *name, diff_compression_t *out);

typedef struct diff_layer {
	const char *media_type;
	char digest[CTRK_DIGEST_LEN + 1];  /* of the blob, as stored */
	char diff_id[CTRK_DIGEST_LEN + 1]; /* of the uncompressed tar */
	long long size;                    /* of the blob */
} diff_layer_t;

/* Write the changes of snapshot KEY (active or committed) against its
 * parent, or its whole tree when it has none, as a layer blob into the
 * store under the same root. */
int snap_diff(snap_store_t *s, const char *key, diff_compression_t c, diff_layer_t *out, ctrk_error_t *err);

/* The descriptor's `layer` field: {"mediaType", "digest", "size", "diffId"}. */
cJSON *diff_layer_json(const diff_layer_t *l);

#endif
