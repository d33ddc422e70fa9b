/* Applying one image layer (a tar stream) onto a directory.
 *
 * Nothing from a layer may be created, changed or removed outside the
 * directory: every path is resolved inside it as if it were "/"
 * (ctrk_inroot_open(): openat2(RESOLVE_IN_ROOT) or the same by hand), so
 * "..", absolute paths and symlinks (chains, symlinked parents, a symlink
 * replaced later in the same layer) all stay inside. */
#ifndef CTRK_SNAP_APPLY_H
#define CTRK_SNAP_APPLY_H

#include "digest.h"
#include "error.h"

typedef enum apply_whiteouts {
	/* The layer lands in its own empty directory, an overlay upper layer:
	 * ".wh.NAME" becomes a 0/0 character device, ".wh..wh..opq" the
	 * trusted.overlay.opaque xattr. */
	APPLY_WHITEOUTS_OVERLAY,
	/* The layer lands on a full copy of its parent: whiteouts delete. */
	APPLY_WHITEOUTS_DELETE,
} apply_whiteouts_t;

typedef struct apply_stats {
	long long entries;
	long long bytes; /* uncompressed */
} apply_stats_t;

/* Apply the layer read from LAYER_FD (tar, tar+gzip or tar+zstd: libarchive
 * detects which) onto ROOT_FD.  The SHA-256 of the uncompressed tar stream
 * is written to DIFF_ID.  Owners, modes, setuid/setgid, mtimes, xattrs,
 * hardlinks, device nodes, fifos and sparse files are preserved. */
int apply_layer(int root_fd, int layer_fd, apply_whiteouts_t whiteouts, char diff_id[CTRK_DIGEST_LEN + 1],
		apply_stats_t *stats, ctrk_error_t *err);

#endif
