/* Reading a possibly gzip-compressed stream with every gzip trailer checked.
 *
 * libarchive's gzip filter never checks a member's trailer (its CRC-32 and
 * length: "XXX TODO: Verify the length and CRC-32" in
 * archive_read_support_filter_gzip.c), so a corrupted or tampered layer or
 * archive would be used as if it were whole, where gzip(1) and Go's
 * compress/gzip (containerd, docker) refuse it.  This reader undoes gzip
 * itself with zlib, which checks both, member after member (a concatenation
 * of gzip members is one stream, as gzip -d reads it); anything after the
 * last member that is not another member is refused, as Go does.  A stream
 * that does not start with the gzip magic passes through unchanged, for
 * libarchive's other filters (zstd, xz, bzip2) or none. */
#ifndef CTRK_GZREAD_H
#define CTRK_GZREAD_H

#include <sys/types.h>

#include "error.h"

struct archive;
typedef struct ctrk_gzread ctrk_gzread_t;

/* Read FD (which stays the caller's).  Nothing is read yet. */
ctrk_gzread_t *ctrk_gzread_new(int fd);

/* archive_read_open() of A on G's output; an error of G reaches A's
 * archive_error_string(). */
int ctrk_gzread_archive_open(struct archive *a, ctrk_gzread_t *g);

void ctrk_gzread_free(ctrk_gzread_t *g);

#endif
