/* Applying one image layer (a tar stream) onto a directory.
 *
 * Nothing from a layer may be created, changed or removed outside the
 * directory: every path is resolved inside it as if it were "/"
 * (ctrk_inroot_open(): openat2(RESOLVE_IN_ROOT) or the same by hand), so
 * "..", absolute paths and symlinks (chains, symlinked parents, a symlink
 * replaced later in the same layer) all stay inside. */
#ifndef CTRK_SNAP_APPLY_H
#define CTRK_SNAP_APPLY_H

#include <stdbool.h>
#include <stddef.h>

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

/* What an OVERLAY layer, applied alone into its own directory, cannot decide
 * without the layers below it; apply_overlay_fixup() decides it once they
 * are there.  Paths are relative to the layer's directory, symlink-free. */
typedef struct apply_fixups {
	/* Directories made because an entry needed them, in the order made
	 * (parents first), not listed by the layer itself. */
	char **implicit;
	size_t nimplicit;
	/* The whiteouts (0/0 character devices) made. */
	char **whiteouts;
	size_t nwhiteouts;
} apply_fixups_t;

/* Apply the layer read from LAYER_FD (tar, tar+gzip or tar+zstd) onto
 * ROOT_FD.  The SHA-256 of the uncompressed tar stream is written to
 * DIFF_ID.  Owners, modes, setuid/setgid, mtimes, xattrs, hardlinks, device
 * nodes, fifos and sparse files are preserved.  FIXUPS (may be NULL) is
 * filled in OVERLAY mode; free it with apply_fixups_free().
 *
 * Both modes give the same merged tree (ctrk-snap(1), LAYERS): what was
 * there before the layer (a lower layer's, or in OVERLAY mode a whiteout) is
 * never followed or linked to: a symlink or a non-directory from below in
 * an entry's parent path is replaced by a directory, and a hardlink's
 * target must be a file of this layer. */
int apply_layer(int root_fd, int layer_fd, apply_whiteouts_t whiteouts, char diff_id[CTRK_DIGEST_LEN + 1],
		apply_stats_t *stats, apply_fixups_t *fixups, ctrk_error_t *err);

/* Finish the OVERLAY layer in ROOT_FD, given its lower layers' directories
 * LOWER[0..NLOWER) (the nearest first), all applied and fixed up already:
 * a whiteout of a name no lower layer shows is removed (in a directory no
 * lower layer has, overlayfs would list it and stat would not find it); an
 * implicit directory takes the metadata of the directory below it, as on a
 * copy of the lower layers it keeps its own, or goes when it is empty and
 * nothing is below it. */
int apply_overlay_fixup(int root_fd, const int *lower, size_t nlower, const apply_fixups_t *fixups,
			ctrk_error_t *err);
void apply_fixups_free(apply_fixups_t *fixups);

/* Does the directory FD (a layer's top) hide all the layers below it (an
 * opaque marker at the layer's root)?  overlayfs ignores the opaque xattr on
 * a layer's root: the overlay driver leaves the layers below out instead. */
bool apply_root_is_opaque(int fd);

#endif
