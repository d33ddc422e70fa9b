/* The content store: an OCI image layout at $CTRK_ROOT/content.
 *
 * Blobs arrive through an ingest: a partial file in $CTRK_ROOT/ingest (the
 * same file system, so the final rename is atomic) that is locked while one
 * process writes it, verified for size and digest, fsynced and renamed into
 * blobs/sha256/.  A transfer killed midway leaves only the partial file,
 * which the next ingest of the same blob resumes.  Refs live in index.json
 * with the org.opencontainers.image.ref.name annotation, updated under a
 * lock on the layout directory, so skopeo and umoci read the store as is. */
#ifndef CTRK_STORE_H
#define CTRK_STORE_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "digest.h"
#include "error.h"
#include "paths.h"

#define CTRK_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
/* Where an image came from, for refs of offline sources ("oci:DIR:TAG"). */
#define CTRK_ANNOTATION_SOURCE "dev.ctrk.source"

typedef struct ctrk_store {
	char *root;    /* $CTRK_ROOT */
	char *content; /* the OCI layout */
	char *ingest;  /* partial blobs */
} ctrk_store_t;

/* Open the store at ROOT (NULL: the default), creating the layout if needed. */
int ctrk_store_open(ctrk_store_t *s, const char *root, ctrk_error_t *err);
void ctrk_store_close(ctrk_store_t *s);

char *ctrk_store_blob_path(const ctrk_store_t *s, const char *digest);
/* Is the blob present (with SIZE bytes, unless SIZE < 0)?  By name and size
 * only: whether it is right is for ctrk_store_read_blob() (which hashes) or
 * the reader's own check (ctrk-snap compares each layer's diff_id). */
bool ctrk_store_has_blob(const ctrk_store_t *s, const char *digest, long long size);
/* Read a blob of at most MAX bytes and check its digest. */
int ctrk_store_read_blob(const ctrk_store_t *s, const char *digest, size_t max, char **buf, size_t *len,
			 ctrk_error_t *err);
/* Store DATA as a blob; DIGEST (if not NULL) must match it. */
int ctrk_store_write_blob(const ctrk_store_t *s, const char *digest, const void *data, size_t len,
			  ctrk_error_t *err);

typedef struct ctrk_ingest {
	const ctrk_store_t *store;
	char digest[CTRK_DIGEST_LEN + 1];
	long long size;   /* expected size, -1 when unknown */
	long long offset; /* bytes written so far */
	long long flushed; /* bytes handed to writeback so far */
	/* Bytes from an earlier attempt were kept: a partial file, or a
	 * transfer resumed with a Range request.  Still valid after close. */
	bool resumed;
	/* The partial file was removed (it failed verification, or the server
	 * could not resume it): a fresh start may follow.  Valid after close. */
	bool discarded;
	char *path;       /* the partial file */
	int fd;
	ctrk_hasher_t *hasher;
	struct ingest_hashing *background; /* hashes a large blob behind the writer */
} ctrk_ingest_t;

/* Start (or resume) ingesting a blob.  Waits while another process ingests
 * the same blob.  Returns 1 when nothing needs to be transferred (the blob
 * is in the store, or verified and waiting in the ingest area; nothing to
 * close), 0 when ready to write at in->offset, -1 on error.  What an earlier
 * run left is hashed again first, never trusted by name and size: a wrong
 * blob in the store or in the ingest area is removed (and so transferred
 * again), a wrong partial file fails ctrk_ingest_finish() and is deleted. */
int ctrk_ingest_open(ctrk_ingest_t *in, const ctrk_store_t *s, const char *digest, long long size,
		     ctrk_error_t *err);
/* Append; writing past the expected size is refused. */
int ctrk_ingest_write(ctrk_ingest_t *in, const void *data, size_t len, ctrk_error_t *err);
/* Start over from byte 0 (the server ignored a Range request). */
int ctrk_ingest_restart(ctrk_ingest_t *in, ctrk_error_t *err);
/* Verify size and digest and fsync; the blob then waits in the ingest area
 * until ctrk_store_commit_blob(), so that a transfer of many blobs changes
 * the store only once all of them are good.  A blob whose content does not
 * match is deleted.  Closes the ingest either way. */
int ctrk_ingest_finish(ctrk_ingest_t *in, ctrk_error_t *err);
/* Release the lock, keeping the partial file so a later ingest resumes it. */
void ctrk_ingest_close(ctrk_ingest_t *in);
/* Release the lock and delete the partial file. */
void ctrk_ingest_discard(ctrk_ingest_t *in);

/* Read a blob (at most MAX bytes) that waits verified in the ingest area,
 * or is in the store already. */
int ctrk_store_read_pending(const ctrk_store_t *s, const char *digest, size_t max, char **buf, size_t *len,
			    ctrk_error_t *err);

/* Move a verified blob into the store; a no-op when it is there already
 * (ctrk_ingest_open() hashed it; the verified file is then deleted).
 * Call ctrk_store_sync() once after a batch of commits. */
int ctrk_store_commit_blob(const ctrk_store_t *s, const char *digest, ctrk_error_t *err);
/* Move TMP_PATH, a finished file in the ingest area whose content the
 * caller hashed to DIGEST while writing it, into the store: fsync, rename.
 * Nothing is verified.  When the blob is there already, TMP_PATH is deleted.
 * Call ctrk_store_sync() after. */
int ctrk_store_adopt_file(const ctrk_store_t *s, const char *tmp_path, const char *digest, ctrk_error_t *err);
/* Make renames into blobs/sha256 durable. */
int ctrk_store_sync(const ctrk_store_t *s, ctrk_error_t *err);

/* Point ref NAME at the manifest DESC ({mediaType, digest, size[, platform]})
 * in index.json, replacing what NAME pointed at.  ANNOTATIONS (may be NULL)
 * are added to the entry. */
int ctrk_store_set_ref(const ctrk_store_t *s, const char *name, const cJSON *desc, const cJSON *annotations,
		       ctrk_error_t *err);
/* The index.json entry for ref NAME (matched by the ref-name annotation or
 * the source annotation), or NULL with an error. */
cJSON *ctrk_store_get_ref(const ctrk_store_t *s, const char *name, ctrk_error_t *err);

#endif
