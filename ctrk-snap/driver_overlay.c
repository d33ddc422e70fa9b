/* overlay: an active snapshot is an upper directory over its parents'
 * directories, so preparing one copies nothing.  An image's layers are
 * unpacked each into its own empty directory, with whiteouts as overlayfs
 * writes them (see apply.h).
 * https://docs.kernel.org/filesystems/overlayfs.html */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "descriptor.h"
#include "driver.h"
#include "extract.h"
#include "fsutil.h"

#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* Is a module parameter of overlay ("index", "metacopy"...) on? */
static bool
overlay_param_on(const char *name)
{
	char path[128], v = 'N';
	snprintf(path, sizeof path, "/sys/module/overlay/parameters/%s", name);
	FILE *f = fopen(path, "re");
	if (f) {
		if (fread(&v, 1, 1, f) != 1)
			v = 'N';
		fclose(f);
	}
	return v == 'Y';
}

/* Mount a two-layer overlay in a scratch directory once, before the first
 * snapshot: the kernel may lack overlay, or the file system under DIR may
 * not take an upper directory (overlayfs itself, or one without the
 * trusted.* xattrs overlay needs). */
static int
overlay_probe(const driver_t *d, const char *dir, ctrk_error_t *err)
{
	cleanup_free char *base = ctrk_strdup_printf("%s/probe-%d", dir, (int)getpid());
	static const char *const subs[] = {"l1", "l2", "u", "w", "m"};
	char *p[5] = {0};
	cleanup_free char *opts = NULL;
	int ret = -1, saved = 0;
	for (int i = 0; i < 5; i++) {
		p[i] = ctrk_strdup_printf("%s/%s", base, subs[i]);
		if (ctrk_mkdir_p(p[i], 0700, err) < 0)
			goto out;
	}
	opts = ctrk_strdup_printf("lowerdir=%s:%s,upperdir=%s,workdir=%s", p[0], p[1], p[2], p[3]);
	if (mount("overlay", p[4], "overlay", 0, opts) == 0) {
		umount2(p[4], MNT_DETACH);
		ret = 0;
		goto out;
	}
	saved = errno;
	struct statfs sf;
	const char *why = "";
	if (statfs(dir, &sf) == 0 && (unsigned long)sf.f_type == OVERLAYFS_SUPER_MAGIC)
		why = " (it is itself on overlayfs, which cannot hold an upper directory)";
	else if (statfs(dir, &sf) == 0 && (unsigned long)sf.f_type == TMPFS_MAGIC)
		why = " (it is on tmpfs)";
	ctrk_error_set(err, saved, "overlay does not work on '%s'%s; use --driver native", dir, why);
out:
	ctrk_remove_tree(base, &(ctrk_error_t){0});
	for (int i = 0; i < 5; i++)
		free(p[i]);
	return ret;
}

static int
overlay_prepare(const driver_t *d, const snap_info_t *s, ctrk_error_t *err)
{
	cleanup_free char *fs = snap_fs_dir(s->dir);
	cleanup_free char *work = ctrk_strdup_printf("%s/work", s->dir);
	/* The rootfs's own "/": 0755 as an image's is, whatever the umask (a
	 * 0700 one locks a non-root container user out of everything); what
	 * keeps others out is the 0700 snapshot directory around it. */
	if (mkdir(fs, 0755) < 0 || chmod(fs, 0755) < 0)
		return ctrk_error_errno(err, "cannot create '%s'", fs);
	if (s->kind == SNAP_ACTIVE && mkdir(work, 0700) < 0)
		return ctrk_error_errno(err, "cannot create '%s'", work);
	return 0;
}

static cJSON *
overlay_mounts(const driver_t *d, const snap_info_t *s, ctrk_error_t *err)
{
	bool view = s->kind == SNAP_VIEW;
	if (s->nparents == 0) {
		cleanup_free char *fs = snap_fs_dir(s->dir);
		return snap_bind_mounts(fs, view);
	}
	/* overlay needs two lower layers when there is no upper one. */
	if (view && s->nparents == 1) {
		cleanup_free char *fs = snap_fs_dir(s->parents[0]);
		return snap_bind_mounts(fs, true);
	}
	size_t len = 16;
	for (size_t i = 0; i < s->nparents; i++)
		len += strlen(s->parents[i]) + 4;
	cleanup_free char *lower = ctrk_xmalloc(len);
	char *w = stpcpy(lower, "lowerdir=");
	for (size_t i = 0; i < s->nparents; i++)
		w += sprintf(w, "%s%s/fs", i ? ":" : "", s->parents[i]);
	cleanup_free char *upper = ctrk_strdup_printf("upperdir=%s/fs", s->dir);
	cleanup_free char *work = ctrk_strdup_printf("workdir=%s/work", s->dir);
	const char *opts[5] = {lower};
	int n = 1;
	if (!view) {
		opts[n++] = upper;
		opts[n++] = work;
	}
	/* With the index on, overlay ties an upper directory to the lowers it
	 * was first mounted with; off keeps a snapshot mountable as its parents
	 * are (as containerd does).  Said only where the kernel defaults on. */
	if (overlay_param_on("index"))
		opts[n++] = "index=off";
	opts[n] = NULL;
	/* Options longer than a page of mount data are handed out as they
	 * are: ctrk-mount mounts them with lowerdir+ or relative paths. */
	cJSON *a = cJSON_CreateArray();
	cJSON_AddItemToArray(a, ctrk_mount_new("overlay", "overlay", "/", opts));
	return a;
}

static int
overlay_commit(const driver_t *d, const snap_info_t *s, ctrk_error_t *err)
{
	/* The upper directory is the layer: nothing moves. */
	return 0;
}

const struct driver_ops driver_overlay_ops = {
	.apply = APPLY_WHITEOUTS_OVERLAY,
	.probe = overlay_probe,
	.prepare = overlay_prepare,
	.mounts = overlay_mounts,
	.commit = overlay_commit,
};
