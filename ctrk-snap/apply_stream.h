/* The uncompressed tar stream of a layer, for apply.c only.
 *
 * A thread of its own reads the layer, undoes its compression (gzip, zstd or
 * none: libarchive's "raw" format with its built-in filters) and hashes it,
 * while the caller's thread parses the tar and writes files: decompressing
 * overlaps with the file system work, as in `tar -xzf`, whose gzip is a
 * second process.  Memory stays bounded: a ring of a few blocks. */
#ifndef CTRK_SNAP_APPLY_STREAM_H
#define CTRK_SNAP_APPLY_STREAM_H

#include <sys/types.h>

#include "digest.h"
#include "error.h"

typedef struct apply_stream apply_stream_t;

/* Start reading LAYER_FD.  The descriptor must stay open until
 * apply_stream_free(); a pipe whose writer never closes keeps
 * apply_stream_free() waiting. */
apply_stream_t *apply_stream_open(int layer_fd, ctrk_error_t *err);

/* The next block of the stream in *BUF, valid until the next call: its
 * length, 0 at the end, -1 on error. */
ssize_t apply_stream_next(apply_stream_t *s, const void **buf, ctrk_error_t *err);

/* Read the stream to its end (the diff_id covers what follows the tar's
 * end-of-archive blocks too), then its SHA-256 into DIFF_ID and its length
 * into *BYTES. */
int apply_stream_finish(apply_stream_t *s, char diff_id[CTRK_DIGEST_LEN + 1], long long *bytes, ctrk_error_t *err);

/* Stop the thread (wherever it is) and free everything.  NULL is fine. */
void apply_stream_free(apply_stream_t *s);

#endif
