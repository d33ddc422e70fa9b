/* native: every snapshot is a full copy of its parent, bind-mounted.  It
 * works on any file system (also overlayfs and tmpfs), at the cost of a
 * copy for each prepare and each layer. */
#include <sys/stat.h>

#include "cleanup.h"
#include "driver.h"

static int
native_prepare(const driver_t *d, const snap_info_t *s, ctrk_error_t *err)
{
	cleanup_free char *fs = snap_fs_dir(s->dir);
	/* The rootfs's own "/": 0755 as an image's is, whatever the umask (a
	 * 0700 one locks a non-root container user out of everything); what
	 * keeps others out is the 0700 snapshot directory around it. */
	if (mkdir(fs, 0755) < 0 || chmod(fs, 0755) < 0)
		return ctrk_error_errno(err, "cannot create '%s'", fs);
	if (s->nparents == 0)
		return 0;
	cleanup_free char *from = snap_fs_dir(s->parents[0]);
	return snap_copy_tree(from, fs, err);
}

static cJSON *
native_mounts(const driver_t *d, const snap_info_t *s, ctrk_error_t *err)
{
	cleanup_free char *fs = snap_fs_dir(s->dir);
	return snap_bind_mounts(fs, s->kind == SNAP_VIEW);
}

static int
native_commit(const driver_t *d, const snap_info_t *s, ctrk_error_t *err)
{
	return 0;
}

const struct driver_ops driver_native_ops = {
	.apply = APPLY_WHITEOUTS_DELETE,
	.prepare = native_prepare,
	.mounts = native_mounts,
	.commit = native_commit,
};
