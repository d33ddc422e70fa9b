/* populate.c: copy-up of the image's content into an empty volume (the
 * rules are in populate.h). */
#include "populate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "extract.h"
#include "fsutil.h"
#include "inroot.h"
#include "json.h"
#include "process.h"

/* Each level of the copy holds two directories open: this bounds the
 * descriptors used (and the recursion) far below any fd limit, and far
 * above any real image's depth. */
#define COPY_DEPTH_MAX 256

/* The child's exit codes besides 0 (copied) and 1 (failed, the error on
 * the pipe). */
#define CHILD_NOTHING 3

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- The read-only view of the image ------------------------------------ */

/* The descriptor's rootfs mount: the last one at "/" (a later one covers
 * an earlier one), or NULL. */
static const cJSON *
rootfs_mount(const cJSON *d)
{
	const cJSON *m, *found = NULL;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(d, "mounts")) {
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "target"));
		if (t && strcmp(t, "/") == 0)
			found = m;
	}
	return found;
}

/* A layer path from the rootfs overlay's options: escapes ("\\") removed. */
static char *
unescape(const char *escaped, size_t n)
{
	char *path = ctrk_xmalloc(n + 1), *w = path;
	for (size_t i = 0; i < n; i++) {
		if (escaped[i] == '\\' && i + 1 < n)
			i++;
		*w++ = escaped[i];
	}
	*w = '\0';
	return path;
}

typedef struct layers {
	char **path;
	bool *data_only; /* after "::" in lowerdir=, or datadir+= */
	size_t n;
} layers_t;

static void
layers_add(layers_t *l, char *path, bool data_only)
{
	l->path = ctrk_xrealloc(l->path, (l->n + 1) * sizeof *l->path);
	l->data_only = ctrk_xrealloc(l->data_only, (l->n + 1) * sizeof *l->data_only);
	l->path[l->n] = path;
	l->data_only[l->n++] = data_only;
}

static void
layers_free(layers_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->path[i]);
	free(l->path);
	free(l->data_only);
}

/* The lower directories the rootfs overlay OPTIONS name, top first. */
static void
lower_layers(const cJSON *options, layers_t *l)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, options) {
		const char *s = cJSON_GetStringValue(o);
		if (s && has_prefix(s, "lowerdir=")) {
			bool data_only = false;
			for (const char *p = s + strlen("lowerdir="); *p;) {
				size_t n = 0;
				while (p[n] && p[n] != ':')
					n += (p[n] == '\\' && p[n + 1]) ? 2 : 1;
				if (n == 0)
					data_only = true;
				else
					layers_add(l, unescape(p, n), data_only);
				p += n + (p[n] == ':');
			}
		} else if (s && has_prefix(s, "lowerdir+=")) {
			layers_add(l, ctrk_xstrdup(s + strlen("lowerdir+=")), false);
		} else if (s && has_prefix(s, "datadir+=")) {
			layers_add(l, ctrk_xstrdup(s + strlen("datadir+=")), true);
		}
	}
}

static int bind_view(const char *source, const char *at, ctrk_error_t *err);

/* Where a kernel without the new mount API (or valgrind, which does not
 * know it) gets the view mounted the classic way: on the directory AT,
 * in the child's private mount namespace only (so AT is hidden nowhere
 * else), then opened. */
static int
open_mounted(const char *at, ctrk_error_t *err)
{
	int fd = open(at, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open the view of the image at '%s'", at);
	return fd;
}

static bool
layer_option(const char *s)
{
	return has_prefix(s, "lowerdir") || has_prefix(s, "datadir+=") || has_prefix(s, "upperdir=") ||
	       has_prefix(s, "workdir=") || strcmp(s, "volatile") == 0 || strcmp(s, "rw") == 0 || strcmp(s, "ro") == 0;
}

/* The overlay of L by mount(2): its data must fit in one page. */
static int
overlay_mount_classic(const layers_t *l, const cJSON *options, const char *at, ctrk_error_t *err)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t cap = (size_t)(page > 0 ? page : 4096), len = 0;
	cleanup_free char *data = ctrk_xmalloc(cap);
	bool fits = true;
#define PUT(str)                                                  \
	do {                                                      \
		size_t n_ = strlen(str);                          \
		if (len + n_ + 1 > cap)                           \
			fits = false;                             \
		else                                              \
			memcpy(data + len, str, n_), len += n_;   \
		data[len] = '\0';                                 \
	} while (0)
	PUT("lowerdir=");
	for (size_t i = 0; i < l->n; i++) {
		if (strpbrk(l->path[i], ":,\\"))
			return ctrk_error_set(err, 0, "the image's layer '%s' cannot be named to mount(2)", l->path[i]);
		if (i > 0)
			PUT(l->data_only[i] && !l->data_only[i - 1] ? "::" : ":");
		PUT(l->path[i]);
	}
	const cJSON *o;
	cJSON_ArrayForEach(o, options) {
		const char *s = cJSON_GetStringValue(o);
		if (s && !layer_option(s)) {
			PUT(",");
			PUT(s);
		}
	}
#undef PUT
	if (!fits)
		return ctrk_error_set(err, E2BIG, "the image's %zu layers do not fit in one mount(2) on this kernel",
				      l->n);
	if (mount("overlay", at, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, data) < 0)
		return ctrk_error_errno(err, "cannot make a read-only overlay of the image's layers");
	return open_mounted(at, err);
}

/* A detached, read-only overlay of the layers L, with the rootfs
 * overlay's other OPTIONS.  One layer at a time ("lowerdir+", Linux 6.8),
 * so that no number of layers hits mount(2)'s one page of options. */
static int
overlay_mount(const layers_t *l, const cJSON *options, const char *at, ctrk_error_t *err)
{
	cleanup_close int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0 && errno == ENOSYS)
		return overlay_mount_classic(l, options, at, err);
	if (fs < 0)
		return ctrk_error_errno(err, "cannot make a read-only overlay of the image");
	for (size_t i = 0; i < l->n; i++)
		if (fsconfig(fs, FSCONFIG_SET_STRING, l->data_only[i] ? "datadir+" : "lowerdir+", l->path[i], 0) < 0) {
			/* Before Linux 6.8 overlayfs takes no "lowerdir+". */
			if (i == 0 && errno == EINVAL)
				return overlay_mount_classic(l, options, at, err);
			return ctrk_error_errno(err, "cannot add the image's layer '%s' to a read-only overlay",
						l->path[i]);
		}
	const cJSON *o;
	cJSON_ArrayForEach(o, options) {
		const char *s = cJSON_GetStringValue(o);
		if (!s || layer_option(s))
			continue; /* the layers, and the container's own layer */
		/* How the layers were written (userxattr, metacopy=on,
		 * redirect_dir=...) must be read the same way. */
		const char *eq = strchr(s, '=');
		cleanup_free char *key = ctrk_xstrndup(s, eq ? (size_t)(eq - s) : strlen(s));
		if (fsconfig(fs, eq ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, key, eq ? eq + 1 : NULL, 0) < 0)
			return ctrk_error_errno(err, "cannot set overlay option '%s' for a read-only view", s);
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return ctrk_error_errno(err, "cannot make a read-only overlay of the image's layers");
	int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return ctrk_error_errno(err, "cannot mount a read-only overlay of the image's layers");
	return mnt;
}

/* The image without the container's upper layer: an overlay of the rootfs
 * overlay's lower directories only.  An image of one layer is that layer
 * (overlayfs wants two lower directories when there is no upper). */
static int
overlay_view(const cJSON *options, const char *at, ctrk_error_t *err)
{
	layers_t l = {0};
	lower_layers(options, &l);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		if (l.path[i][0] != '/')
			rc = ctrk_error_set(err, 0, "the image's layer '%s' is not an absolute path", l.path[i]);
	if (rc < 0)
		;
	else if (l.n == 0)
		rc = ctrk_error_set(err, 0, "the rootfs overlay has no lower directory");
	else if (l.n == 1 && !l.data_only[0])
		rc = bind_view(l.path[0], at, err);
	else
		rc = overlay_mount(&l, options, at, err);
	layers_free(&l);
	return rc;
}

/* A detached, read-only clone of the bind mount of SOURCE. */
static int
bind_view(const char *source, const char *at, ctrk_error_t *err)
{
	if (!source || source[0] != '/')
		return ctrk_error_set(err, 0, "the rootfs bind mount has no absolute source");
	cleanup_close int t = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (t < 0 && errno == ENOSYS) {
		if (mount(source, at, "none", MS_BIND, NULL) < 0 ||
		    mount("none", at, "none", MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			return ctrk_error_errno(err, "cannot make a read-only bind mount of '%s'", source);
		return open_mounted(at, err);
	}
	if (t < 0)
		return ctrk_error_errno(err, "cannot clone a bind mount of '%s'", source);
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
	if (mount_setattr(t, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
		return ctrk_error_errno(err, "cannot make the clone of '%s' read-only", source);
	return steal_fd(&t);
}

/* The read-only view of the image M (a rootfs mount object) mounts. */
static int
view_open(const cJSON *m, const char *at, ctrk_error_t *err)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "type"));
	const char *source = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "source"));
	const cJSON *options = cJSON_GetObjectItemCaseSensitive(m, "options");
	if (type && strcmp(type, "overlay") == 0)
		return overlay_view(options, at, err);
	if (type && strcmp(type, "bind") == 0)
		return bind_view(source, at, err);
	return ctrk_error_set(err, 0, "cannot populate from a rootfs mount of type '%s' (overlay or bind only); "
				      "use --populate never",
			      type ? type : "?");
}

/* ---- The copy ----------------------------------------------------------- */

typedef struct seen_link {
	dev_t dev;
	ino_t ino;
	char *path; /* relative to the volume's root */
} seen_link_t;

typedef struct copy {
	int droot; /* the volume's root */
	seen_link_t *links;
	size_t nlinks;
	bool xattr_warned;
	char path[PATH_MAX]; /* the entry at work, relative to the root */
} copy_t;

static void
copy_free(copy_t *c)
{
	for (size_t i = 0; i < c->nlinks; i++)
		free(c->links[i].path);
	free(c->links);
}

static const char *
shown(const copy_t *c)
{
	return c->path[0] ? c->path : ".";
}

/* One side of an xattr copy: a file by its descriptor (NAME NULL), or NAME
 * in the directory DIR by "/proc/self/fd/DIR/NAME" (every file type, a
 * symlink itself too: the last name is never followed). */
typedef struct xside {
	int fd;
	char path[PATH_MAX + 64];
	bool by_path;
} xside_t;

static void
xside_init(xside_t *x, int fd, const char *name)
{
	x->fd = fd;
	x->by_path = name != NULL;
	if (name)
		snprintf(x->path, sizeof x->path, "/proc/self/fd/%d/%s", fd, name);
}

static ssize_t
x_list(const xside_t *x, char *buf, size_t n)
{
	return x->by_path ? llistxattr(x->path, buf, n) : flistxattr(x->fd, buf, n);
}

static ssize_t
x_get(const xside_t *x, const char *k, void *buf, size_t n)
{
	return x->by_path ? lgetxattr(x->path, k, buf, n) : fgetxattr(x->fd, k, buf, n);
}

static int
x_set(const xside_t *x, const char *k, const void *val, size_t n)
{
	return x->by_path ? lsetxattr(x->path, k, val, n, 0) : fsetxattr(x->fd, k, val, n, 0);
}

/* Copy the xattrs of SRC to DST.  The overlay's own (trusted.overlay.*)
 * stay behind; an xattr the volume's file system cannot hold is a warning,
 * once. */
static int
copy_xattrs(copy_t *c, const xside_t *src, const xside_t *dst, ctrk_error_t *err)
{
	ssize_t n = x_list(src, NULL, 0);
	if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
		return 0;
	if (n < 0)
		return ctrk_error_errno(err, "cannot list the xattrs of '%s'", shown(c));
	if (n == 0)
		return 0;
	cleanup_free char *names = ctrk_xmalloc((size_t)n + 1);
	if ((n = x_list(src, names, (size_t)n)) < 0)
		return ctrk_error_errno(err, "cannot list the xattrs of '%s'", shown(c));
	for (char *k = names; k < names + n; k += strlen(k) + 1) {
		if (has_prefix(k, "trusted.overlay."))
			continue;
		ssize_t len = x_get(src, k, NULL, 0);
		if (len < 0)
			return ctrk_error_errno(err, "cannot read xattr '%s' of '%s'", k, shown(c));
		cleanup_free char *val = ctrk_xmalloc((size_t)len + 1);
		if ((len = x_get(src, k, val, (size_t)len)) < 0)
			return ctrk_error_errno(err, "cannot read xattr '%s' of '%s'", k, shown(c));
		if (x_set(dst, k, val, (size_t)len) == 0)
			continue;
		if (errno != ENOTSUP && errno != EOPNOTSUPP)
			return ctrk_error_errno(err, "cannot set xattr '%s' on '%s'", k, shown(c));
		if (!c->xattr_warned)
			ctrk_warn("the volume's file system cannot hold xattr '%s' (of '%s'): not copied", k, shown(c));
		c->xattr_warned = true;
	}
	return 0;
}

/* Give the new DNAME in DDIR what SNAME in SDIR has (ST): owner, mode,
 * xattrs, times, in that order (chown clears set-id bits and
 * security.capability; the times last, after everything that changes
 * them).  A NULL name is the directory itself.  OWNER and MODE false keep
 * the volume's own (its root, when the volume was made with them). */
static int
copy_meta(copy_t *c, int sdir, const char *sname, const struct stat *st, int ddir, const char *dname, bool owner,
	  bool mode, ctrk_error_t *err)
{
	const char *dn = dname ? dname : "";
	int at = dname ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH;
	if (owner && fchownat(ddir, dn, st->st_uid, st->st_gid, at) < 0)
		return ctrk_error_errno(err, "cannot set the owner of '%s'", shown(c));
	if (mode && !S_ISLNK(st->st_mode)) {
		int r = dname ? fchmodat(ddir, dname, st->st_mode & 07777, AT_SYMLINK_NOFOLLOW)
			      : fchmod(ddir, st->st_mode & 07777);
		if (r < 0)
			return ctrk_error_errno(err, "cannot set the mode of '%s'", shown(c));
	}
	xside_t src, dst;
	xside_init(&src, sdir, sname);
	xside_init(&dst, ddir, dname);
	if (copy_xattrs(c, &src, &dst, err) < 0)
		return -1;
	struct timespec times[2] = {st->st_atim, st->st_mtim};
	if ((dname ? utimensat(ddir, dname, times, AT_SYMLINK_NOFOLLOW) : futimens(ddir, times)) < 0)
		return ctrk_error_errno(err, "cannot set the times of '%s'", shown(c));
	return 0;
}

static int
copy_data(copy_t *c, int in, int out, ctrk_error_t *err)
{
	bool fallback = false;
	for (;;) {
		ssize_t n;
		if (!fallback) {
			n = copy_file_range(in, NULL, out, NULL, 1u << 30, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
				fallback = true;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return ctrk_error_errno(err, "cannot copy '%s'", shown(c));
			if (n == 0)
				return 0;
			continue;
		}
		char buf[65536];
		n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ctrk_error_errno(err, "cannot read '%s'", shown(c));
		if (n == 0)
			return 0;
		if (ctrk_write_all(out, buf, (size_t)n, err) < 0)
			return ctrk_error_wrap(err, "copying '%s'", shown(c));
	}
}

static int copy_dir(copy_t *c, int sfd, int dfd, int depth, ctrk_error_t *err);

/* Copy the entry NAME of SFD (ST) into DFD. */
static int
copy_entry(copy_t *c, int sfd, int dfd, const char *name, const struct stat *st, int depth, ctrk_error_t *err)
{
	/* A hard link to a file already copied: the same link in the volume. */
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		for (size_t i = 0; i < c->nlinks; i++)
			if (c->links[i].dev == st->st_dev && c->links[i].ino == st->st_ino) {
				/* The first name, found again without following
				 * a symlink on the way. */
				cleanup_close int first = ctrk_inroot_open(c->droot, c->links[i].path, O_PATH | O_NOFOLLOW,
									   CTRK_INROOT_NO_SYMLINKS | CTRK_INROOT_NO_XDEV, err);
				if (first < 0)
					return ctrk_error_wrap(err, "linking '%s'", shown(c));
				if (linkat(first, "", dfd, name, AT_EMPTY_PATH) < 0)
					return ctrk_error_errno(err, "cannot link '%s' to '%s'", shown(c),
								c->links[i].path);
				return 0;
			}
	}
	if (S_ISDIR(st->st_mode)) {
		if (depth >= COPY_DEPTH_MAX)
			return ctrk_error_set(err, 0, "'%s' is nested deeper than %d directories", shown(c),
					      COPY_DEPTH_MAX);
		if (mkdirat(dfd, name, 0700) < 0)
			return ctrk_error_errno(err, "cannot make '%s'", shown(c));
		cleanup_close int s = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		cleanup_close int d = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0 || d < 0)
			return ctrk_error_errno(err, "cannot open '%s'", shown(c));
		if (copy_dir(c, s, d, depth + 1, err) < 0)
			return -1;
		return copy_meta(c, s, NULL, st, d, NULL, true, true, err);
	}
	if (S_ISREG(st->st_mode)) {
		cleanup_close int s = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0)
			return ctrk_error_errno(err, "cannot open '%s'", shown(c));
		cleanup_close int d = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (d < 0)
			return ctrk_error_errno(err, "cannot make '%s'", shown(c));
		if (copy_data(c, s, d, err) < 0 || copy_meta(c, s, NULL, st, d, NULL, true, true, err) < 0)
			return -1;
	} else if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sfd, name, target, sizeof target);
		if (n < 0 || (size_t)n >= sizeof target)
			return ctrk_error_errno(err, "cannot read the symbolic link '%s'", shown(c));
		target[n] = '\0';
		if (symlinkat(target, dfd, name) < 0)
			return ctrk_error_errno(err, "cannot make the symbolic link '%s'", shown(c));
		if (copy_meta(c, sfd, name, st, dfd, name, true, false, err) < 0)
			return -1;
	} else {
		/* Devices, FIFOs and sockets: the node, never what it leads to. */
		if (mknodat(dfd, name, (st->st_mode & S_IFMT) | 0600, st->st_rdev) < 0)
			return ctrk_error_errno(err, "cannot make '%s'", shown(c));
		if (copy_meta(c, sfd, name, st, dfd, name, true, true, err) < 0)
			return -1;
	}
	if (st->st_nlink > 1) {
		c->links = ctrk_xrealloc(c->links, (c->nlinks + 1) * sizeof *c->links);
		c->links[c->nlinks++] = (seen_link_t){st->st_dev, st->st_ino, ctrk_xstrdup(c->path)};
	}
	return 0;
}

/* Copy the entries of directory SFD into directory DFD; every name is
 * looked up alone in its directory without following it (O_NOFOLLOW,
 * AT_SYMLINK_NOFOLLOW), so nothing outside the view is ever reached. */
static int
copy_dir(copy_t *c, int sfd, int dfd, int depth, ctrk_error_t *err)
{
	int fd = fcntl(sfd, F_DUPFD_CLOEXEC, 0);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return ctrk_error_errno(err, "cannot read '%s'", shown(c));
	}
	size_t base = strlen(c->path);
	int rc = 0;
	struct dirent *e;
	errno = 0;
	while (rc == 0 && (e = readdir(dir))) {
		if (ctrk_is_dot_or_dotdot(e->d_name))
			continue;
		if (base + 1 + strlen(e->d_name) >= sizeof c->path) {
			rc = ctrk_error_set(err, ENAMETOOLONG, "'%s/%s'", shown(c), e->d_name);
			break;
		}
		snprintf(c->path + base, sizeof c->path - base, "%s%s", base ? "/" : "", e->d_name);
		struct stat st;
		if (fstatat(sfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			rc = ctrk_error_errno(err, "cannot stat '%s'", shown(c));
		else
			rc = copy_entry(c, sfd, dfd, e->d_name, &st, depth, err);
		c->path[base] = '\0';
		errno = 0;
	}
	if (rc == 0 && errno != 0)
		rc = ctrk_error_errno(err, "cannot read '%s'", shown(c));
	closedir(dir);
	return rc;
}

/* ---- The child that copies ---------------------------------------------- */

typedef struct job {
	const cJSON *rootfs; /* the descriptor's rootfs mount */
	const char *target;
	int dfd;          /* the volume's root */
	const char *fallback_at; /* where a classic mount(2) may put the view */
	bool owner, mode; /* give the root the image's owner, mode */
} job_t;

/* In the child: 0 copied, CHILD_NOTHING when the image has no directory
 * at the target, -1 on failure. */
static int
child_copy(const job_t *j, int ready, int go, ctrk_error_t *err)
{
	/* Every mount made here stays in this process's own namespace (and the
	 * view is a detached mount besides): the host never sees it. */
	if (unshare(CLONE_NEWNS) < 0)
		return ctrk_error_errno(err, "cannot make a private mount namespace");
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		return ctrk_error_errno(err, "cannot make the mounts private");
	cleanup_close int view = view_open(j->rootfs, j->fallback_at, err);
	if (view < 0)
		return -1;
	/* Resolved inside the image, as the runtime resolves the mount's
	 * target: a symlink on the way stays in the view. */
	cleanup_close int src = ctrk_inroot_open(view, j->target, O_RDONLY | O_DIRECTORY, 0, err);
	if (src < 0 && (err->errnum == ENOENT || err->errnum == ENOTDIR))
		return CHILD_NOTHING;
	if (src < 0)
		return ctrk_error_wrap(err, "opening '%s' in the image", j->target);
	struct stat st;
	if (fstat(src, &st) < 0)
		return ctrk_error_errno(err, "cannot stat '%s' in the image", j->target);
	/* Something to copy: the parent marks the volume "populating" before
	 * the first file is written, and only then (an attach whose image has
	 * nothing there writes no metadata at all). */
	char c1 = 'y';
	if (write(ready, &c1, 1) != 1 || read(go, &c1, 1) != 1)
		return ctrk_error_set(err, 0, "the copy was called off");
	copy_t c = {.droot = j->dfd};
	int rc = copy_dir(&c, src, j->dfd, 0, err);
	if (rc == 0)
		rc = copy_meta(&c, src, NULL, &st, j->dfd, NULL, j->owner, j->mode, err);
	if (rc == 0 && fsync(j->dfd) < 0 && errno != EINVAL)
		rc = ctrk_error_errno(err, "cannot sync the volume");
	copy_free(&c);
	if (rc < 0)
		ctrk_error_wrap(err, "copying '%s' from the image", j->target);
	return rc;
}

static void
close_pipe(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
	p[0] = p[1] = -1;
}

/* Run the copy in a child; 0 copied, CHILD_NOTHING, or -1.  BEFORE_COPY
 * runs once the child found something to copy, before it writes. */
static int
run_child(const job_t *j, int (*before_copy)(vol_t *, ctrk_error_t *), vol_t *v, ctrk_error_t *err)
{
	int p[2] = {-1, -1}, ready[2] = {-1, -1}, go[2] = {-1, -1};
	if (pipe2(p, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
		ctrk_error_errno(err, "cannot make a pipe");
		close_pipe(p);
		close_pipe(ready);
		close_pipe(go);
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		close(ready[0]);
		close(go[1]);
		/* A killed attach takes its copy with it: nothing goes on
		 * writing into a volume the next attach empties. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		ctrk_error_t cerr = {0};
		int rc = child_copy(j, ready[1], go[0], &cerr);
		if (rc < 0) {
			/* One write below PIPE_BUF: read whole or not at all. */
			ssize_t ignored = write(p[1], &cerr, sizeof cerr);
			(void)ignored;
			_exit(1);
		}
		_exit(rc);
	}
	if (pid < 0) {
		ctrk_error_errno(err, "cannot fork");
		close_pipe(p);
		close_pipe(ready);
		close_pipe(go);
		return -1;
	}
	close(p[1]);
	close(ready[1]);
	close(go[0]);
	char c;
	ssize_t got;
	while ((got = read(ready[0], &c, 1)) < 0 && errno == EINTR)
		;
	close(ready[0]);
	bool called_off = false;
	if (got == 1 && before_copy(v, err) < 0)
		called_off = true; /* closing GO tells the child */
	else if (got == 1 && write(go[1], "g", 1) != 1)
		called_off = ctrk_error_errno(err, "cannot start the copy") < 0;
	close(go[1]);
	int status;
	ctrk_error_t ignored;
	if (ctrk_wait(pid, &status, called_off ? &ignored : err) < 0 && !called_off) {
		close(p[0]);
		return -1;
	}
	ctrk_error_t cerr;
	ssize_t n = read(p[0], &cerr, sizeof cerr);
	close(p[0]);
	if (called_off)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_NOTHING)
		return CHILD_NOTHING;
	if (n == (ssize_t)sizeof cerr) {
		cerr.msg[sizeof cerr.msg - 1] = '\0';
		*err = cerr;
		return -1;
	}
	if (WIFSIGNALED(status))
		return ctrk_error_set(err, 0, "the copy was killed by signal %d", WTERMSIG(status));
	return ctrk_error_set(err, 0, "the copy failed (exit status %d)", WEXITSTATUS(status));
}

/* ---- The volume's side -------------------------------------------------- */

/* An entry of the volume's root that does not count as content: the empty
 * lost+found of an ext4 file system (a loop volume). */
static bool
ignorable(int dirfd, const char *name)
{
	if (strcmp(name, "lost+found") != 0)
		return false;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)))
		empty = ctrk_is_dot_or_dotdot(e->d_name);
	closedir(d);
	return empty;
}

/* The names in DIRFD that count as content (NULL-ended; caller frees). */
static int
content_names(int dirfd, char ***names, size_t *n, ctrk_error_t *err)
{
	*names = NULL;
	*n = 0;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return ctrk_error_errno(err, "cannot read the volume");
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (ctrk_is_dot_or_dotdot(e->d_name) || ignorable(dirfd, e->d_name))
			continue;
		*names = ctrk_xrealloc(*names, (*n + 1) * sizeof **names);
		(*names)[(*n)++] = ctrk_xstrdup(e->d_name);
	}
	closedir(d);
	return 0;
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
vol_empty_dir(int dirfd, ctrk_error_t *err)
{
	char **names;
	size_t n;
	if (content_names(dirfd, &names, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct stat st;
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			rc = errno == ENOENT ? 0 : ctrk_error_errno(err, "cannot stat '%s'", names[i]);
		else if (S_ISDIR(st.st_mode))
			rc = ctrk_remove_tree_at(dirfd, names[i], err) < 0
				     ? ctrk_error_wrap(err, "removing '%s'", names[i])
				     : 0;
		else if (unlinkat(dirfd, names[i], 0) < 0 && errno != ENOENT)
			rc = ctrk_error_errno(err, "cannot remove '%s'", names[i]);
	}
	free_names(names, n);
	return rc;
}

static bool
meta_number(const vol_t *v, const char *key)
{
	return cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(v->meta, key));
}

/* Before the first file is copied: a crash from here on leaves the flag. */
static int
mark_populating(vol_t *v, ctrk_error_t *err)
{
	ctrk_json_set(v->meta, "populating", cJSON_CreateTrue());
	return vol_meta_save(v, err);
}

int
vol_populate(vol_t *v, const cJSON *d, const char *target, bool *copied, ctrk_error_t *err)
{
	*copied = false;
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v->meta, "type"));
	if (type && strcmp(type, "tmpfs") == 0)
		return 0;
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(v->meta, "populated_from");
	if (from && !cJSON_IsNull(from))
		return 0;
	bool crashed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v->meta, "populating"));
	const cJSON *rootfs = rootfs_mount(d);
	const char *digest = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "image"), "digest"));
	/* This image was seen to have nothing at TARGET: no need to look again
	 * (the look costs a process and a mount at every container start). */
	const cJSON *seen = cJSON_GetObjectItemCaseSensitive(v->meta, "populate_checked");
	const char *seen_image = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(seen, "image"));
	const char *seen_path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(seen, "path"));
	if (!crashed && digest && seen_image && seen_path && strcmp(seen_image, digest) == 0 &&
	    strcmp(seen_path, target) == 0)
		return 0;
	cleanup_free char *content = vol_content_path(v);
	if (!content)
		return 0;
	/* Copy-up is for a volume's first use: a running container that has
	 * it already owns what is in it (and could swap names under the copy);
	 * even a half copy is then left alone (check reports it). */
	char **users = NULL;
	if (vol_users(v, true, &users, err) < 0)
		return ctrk_error_wrap(err, "volume '%s'", v->name);
	bool used = users[0] != NULL;
	vol_ids_free(users);
	if (used)
		return 0;
	cleanup_close int dfd = open(content, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ctrk_error_errno(err, "cannot open volume '%s' at '%s'", v->name, content);
	/* A copy that was killed: its half is no one's data. */
	if (crashed && vol_empty_dir(dfd, err) < 0)
		return ctrk_error_wrap(err, "emptying volume '%s' after an interrupted copy", v->name);
	char **names;
	size_t n;
	if (content_names(dfd, &names, &n, err) < 0)
		return ctrk_error_wrap(err, "volume '%s'", v->name);
	free_names(names, n);
	if (n > 0)
		return 0;

	int rc = CHILD_NOTHING;
	if (rootfs) {
		/* The root keeps what the volume was made with. */
		job_t j = {.rootfs = rootfs,
			   .target = target,
			   .dfd = dfd,
			   .fallback_at = v->dir,
			   .owner = !meta_number(v, "uid") && !meta_number(v, "gid"),
			   .mode = !meta_number(v, "mode")};
		rc = run_child(&j, mark_populating, v, err);
		if (rc < 0)
			return ctrk_error_wrap(err, "populating volume '%s'", v->name);
	}
	cJSON *p = cJSON_CreateObject();
	if (digest)
		cJSON_AddStringToObject(p, "image", digest);
	cJSON_AddStringToObject(p, "path", target);
	if (rc == 0) {
		ctrk_json_set(v->meta, "populated_from", p);
		cJSON_DeleteItemFromObjectCaseSensitive(v->meta, "populate_checked");
		*copied = true;
	} else if (rootfs && digest) {
		ctrk_json_set(v->meta, "populate_checked", p);
	} else {
		cJSON_Delete(p);
		if (!crashed)
			return 0; /* nothing to copy, nothing written */
	}
	cJSON_DeleteItemFromObjectCaseSensitive(v->meta, "populating");
	return vol_meta_save(v, err);
}
