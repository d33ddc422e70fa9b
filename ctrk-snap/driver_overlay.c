/* overlay: an active snapshot is an upper directory over its parents'
 * directories, so preparing one copies nothing.  An image's layers are
 * unpacked each into its own empty directory, with whiteouts as overlayfs
 * writes them (see apply.h).
 * https://docs.kernel.org/filesystems/overlayfs.html */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "descriptor.h"
#include "driver.h"
#include "extract.h"
#include "fsutil.h"
#include "process.h"

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

/* The probe's mount, in a child in a mount namespace of its own: the mount
 * lives and dies with that namespace, so no kill of ours or the child's at
 * any moment can leave it behind on the host.  Exit status 0, or the errno
 * of the mount (PROBE_NO_NAMESPACE: no private namespace could be made). */
enum { PROBE_NO_NAMESPACE = 255 };

static int
probe_mount(const char *target, const char *opts, pid_t parent)
{
	/* The namespace dies with the child; the child must die with us. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		return PROBE_NO_NAMESPACE;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return PROBE_NO_NAMESPACE;
	return mount("overlay", target, "overlay", 0, opts) == 0 ? 0 : errno;
}

static int
probe_in_child(const char *target, const char *opts, ctrk_error_t *err)
{
	pid_t parent = getpid(), pid = fork();
	if (pid < 0)
		return ctrk_error_errno(err, "cannot start the overlay probe");
	if (pid == 0)
		_exit(probe_mount(target, opts, parent));
	int status;
	if (ctrk_wait(pid, &status, err) < 0)
		return -1;
	if (WIFSIGNALED(status))
		return ctrk_error_set(err, 0, "the overlay probe was killed by signal %d", WTERMSIG(status));
	if (WEXITSTATUS(status) == PROBE_NO_NAMESPACE)
		return ctrk_error_set(err, 0, "cannot make a private mount namespace for the overlay probe");
	errno = WEXITSTATUS(status);
	return errno ? -1 : 0;
}

/* Mount a two-layer overlay in SCRATCH once, before the first snapshot: the
 * kernel may lack overlay, or the file system under DIR may not take an
 * upper directory (overlayfs itself, or one without the trusted.* xattrs
 * overlay needs). */
static int
overlay_probe(const driver_t *d, const char *dir, const char *scratch, ctrk_error_t *err)
{
	static const char *const subs[] = {"l1", "l2", "u", "w", "m"};
	char *p[5] = {0};
	cleanup_free char *opts = NULL;
	int ret = -1;
	for (int i = 0; i < 5; i++) {
		p[i] = ctrk_strdup_printf("%s/%s", scratch, subs[i]);
		if (mkdir(p[i], 0700) < 0) {
			ctrk_error_errno(err, "cannot create '%s'", p[i]);
			goto out;
		}
	}
	opts = ctrk_strdup_printf("lowerdir=%s:%s,upperdir=%s,workdir=%s", p[0], p[1], p[2], p[3]);
	ctrk_error_t why_not = {0};
	if (probe_in_child(p[4], opts, &why_not) == 0) {
		ret = 0;
		goto out;
	}
	if (why_not.msg[0]) {
		*err = why_not;
		goto out;
	}
	int saved = errno;
	struct statfs sf;
	const char *why = "";
	if (statfs(dir, &sf) == 0 && (unsigned long)sf.f_type == OVERLAYFS_SUPER_MAGIC)
		why = " (it is itself on overlayfs, which cannot hold an upper directory)";
	else if (statfs(dir, &sf) == 0 && (unsigned long)sf.f_type == TMPFS_MAGIC)
		why = " (it is on tmpfs)";
	ctrk_error_set(err, saved, "overlay does not work on '%s'%s; use --driver native", dir, why);
out:
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

/* How many of S's parents overlay must see: up to the first whose root is
 * opaque (an opaque marker at a layer's root, see apply.h), which hides
 * the ones below it as the native driver's copy deletes them. */
static size_t
visible_parents(const snap_info_t *s)
{
	for (size_t i = 0; i < s->nparents; i++) {
		cleanup_free char *fs = snap_fs_dir(s->parents[i]);
		cleanup_close int fd = open(fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && apply_root_is_opaque(fd))
			return i + 1;
	}
	return s->nparents;
}

static cJSON *
overlay_mounts(const driver_t *d, const snap_info_t *s_in, ctrk_error_t *err)
{
	snap_info_t visible = *s_in;
	visible.nparents = visible_parents(s_in);
	const snap_info_t *s = &visible;
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
