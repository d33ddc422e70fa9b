/* ctrk-pull's offline sources, between source_layout.c (oci:, oci-archive:
 * and what all three share) and source_archive.c (docker-archive:). */
#ifndef CTRK_PULL_LAYOUT_H
#define CTRK_PULL_LAYOUT_H

#include <stddef.h>

#include "digest.h"
#include "error.h"
#include "extract.h"
#include "image.h"
#include "pull.h"
#include "store.h"

/* A blob of a docker-archive: which file holds it. */
struct offline_file {
	char digest[CTRK_DIGEST_LEN + 1];
	char *path; /* relative to dirfd, cleaned */
};

struct offline {
	char *spec;   /* as given, for messages */
	int dirfd;    /* the layout, or the extracted archive */
	char *tmpdir; /* the extracted archive, removed on close */
	/* oci:, oci-archive: the index.json entry the spec names. */
	ctrk_blob_t root;
	/* docker-archive: the manifest made up for the image, and the files
	 * that hold its blobs (when NULL, blobs are at blobs/sha256/HEX). */
	char *manifest;
	size_t manifest_len;
	struct offline_file *files;
	size_t nfiles;
};

/* Extract the archive FILE into a new private directory in the store's
 * ingest area (the same file system as the store), set o->tmpdir and
 * o->dirfd to it. */
int offline_extract(struct offline *o, const ctrk_store_t *store, const char *file, ctrk_extract_t *x,
		    ctrk_error_t *err);

/* Open PATH (relative to o->dirfd) for reading: beneath the layout, with no
 * symbolic link on the way (ELOOP), without blocking, and only if it is a
 * regular file.  A missing file is an error with errnum ENOENT. */
int offline_open(const struct offline *o, const char *path, ctrk_error_t *err);

/* The store's name for the image called NAME: a full reference
 * ("busybox:latest") normalised so that `busybox` finds it; anything else
 * ("single", "v1") as it is. */
char *offline_store_name(const char *name);

/* Append ", S" to the list in BUF (CAP bytes, *USED of them used) for an
 * error message; what does not fit is left out. */
void offline_list_add(char *buf, size_t cap, size_t *used, const char *s);

/* docker-archive:FILE[:NAME:TAG]: fills SRC (a source with an empty struct
 * offline) from REST, what follows the prefix. */
int docker_archive_open(source_t *src, const ctrk_store_t *store, const char *rest, ctrk_error_t *err);

#endif
