/* ctrk-snap diff: a snapshot's changes against its parent as an OCI layer
 * (https://github.com/opencontainers/image-spec/blob/main/layer.md).
 *
 * First the changes are found, as paths only:
 *  - overlay: the snapshot's own directory is an overlayfs upper directory,
 *    so everything in it is a change; a 0/0 character device is a deleted
 *    path (".wh.NAME"), a directory with trusted.overlay.opaque=y hides the
 *    parents' children (".wh..wh..opq" in it).
 *    https://docs.kernel.org/filesystems/overlayfs.html
 *  - native (and external drivers, which keep full trees): the snapshot's
 *    tree and its parent's are walked side by side, as containerd's
 *    fs.Changes does.  An entry is changed when its type, mode, owner,
 *    device number, size (not for directories), mtime (not for
 *    directories), symlink target or xattrs differ; when both mtimes have
 *    no nanoseconds (a copy that truncated them), regular files of equal
 *    metadata are compared by content.  A deleted directory is one
 *    whiteout, not one for each child.
 *    https://github.com/containerd/continuity/blob/main/fs/path.go (sameFile)
 * Then the paths are sorted (directory order, so the output is the same
 * on every run), the parent directories of every change are added, as
 * containerd does, and the tar is written in one pass: TAR (pax) feeds RAW
 * (the compressor), the plain stream is hashed for the diffId and the
 * compressed one for the digest, on their way to a temp file in the ingest
 * area that becomes the blob.  Memory holds paths, never file data.
 *
 * The trees hold whatever a container wrote: every lookup is one name
 * without following symlinks, or a path opened inside the tree with no
 * symlink followed and no mount crossed (ctrk_inroot_open() with
 * CTRK_INROOT_NO_SYMLINKS | CTRK_INROOT_NO_XDEV, openat2 or the same by
 * hand), so nothing outside the snapshot is ever read. */
#include "diff.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "inroot.h"
#include "json.h"
#include "store.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define IO_BLOCK (256 * 1024)

#define MT_LAYER "application/vnd.oci.image.layer.v1.tar"

int
diff_compression_parse(const char *name, diff_compression_t *out)
{
	static const char *const names[] = {"gzip", "zstd", "none"};
	for (int i = 0; i < 3; i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (diff_compression_t)i;
			return 0;
		}
	}
	return -1;
}

static const char *
media_type(diff_compression_t c)
{
	return c == DIFF_GZIP ? MT_LAYER "+gzip" : c == DIFF_ZSTD ? MT_LAYER "+zstd" : MT_LAYER;
}

cJSON *
diff_layer_json(const diff_layer_t *l)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "mediaType", l->media_type);
	cJSON_AddStringToObject(j, "digest", l->digest);
	cJSON_AddNumberToObject(j, "size", (double)l->size);
	cJSON_AddStringToObject(j, "diffId", l->diff_id);
	return j;
}

/* --- reading the trees ------------------------------------------------------ */

/* PATH (relative, "" for the root) in the tree ROOT: no symlink followed,
 * no mount crossed (see inroot.h).  PATH comes from readdir, but the
 * container may have changed the tree since. */
static int
open_in_tree(int root, const char *path, int flags, ctrk_error_t *err)
{
	return ctrk_inroot_open(root, path, flags | O_NOFOLLOW, CTRK_INROOT_NO_SYMLINKS | CTRK_INROOT_NO_XDEV, err);
}

static char *
join(const char *dir, const char *name)
{
	return dir[0] ? ctrk_strdup_printf("%s/%s", dir, name) : ctrk_xstrdup(name);
}

/* Xattrs a layer does not carry: overlayfs' own (opaque, redirect,
 * origin, impure...), which apply.c refuses as well. */
static bool
overlay_xattr(const char *key)
{
	return strncmp(key, "trusted.overlay.", 16) == 0 || strncmp(key, "user.overlay.", 13) == 0;
}

/* An entry's xattrs, overlay's own left out, in one canonical block
 * (sorted by name; each "NAME\0", a 4-byte length, the value), so that two
 * entries compare with memcmp. */
typedef struct xattrs {
	char *buf;
	size_t len;
	bool opaque;            /* trusted.overlay.opaque = "y" */
	const char *unsupported; /* an overlay xattr a diff cannot express */
} xattrs_t;

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The xattrs of NAME in DIRFD, without opening it (it may be a device or a
 * fifo) or following it: through the directory's /proc link, as apply.c
 * sets them. */
static int
read_xattrs(int dirfd, const char *name, xattrs_t *x, ctrk_error_t *err)
{
	char proc[64 + NAME_MAX];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", dirfd, name);
	*x = (xattrs_t){0};
	ssize_t n = llistxattr(proc, NULL, 0);
	if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
		return 0;
	if (n < 0)
		return ctrk_error_errno(err, "cannot list the xattrs of '%s'", name);
	if (n == 0)
		return 0;
	cleanup_free char *names = ctrk_xmalloc((size_t)n);
	n = llistxattr(proc, names, (size_t)n);
	if (n < 0)
		return ctrk_error_errno(err, "cannot list the xattrs of '%s'", name);
	size_t count = 0;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1)
		count++;
	cleanup_free const char **keys = ctrk_xcalloc(count, sizeof *keys);
	count = 0;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1)
		keys[count++] = names + i;
	qsort(keys, count, sizeof *keys, cmp_str);

	cleanup_free char *val = ctrk_xmalloc(XATTR_SIZE_MAX);
	size_t cap = 0;
	for (size_t i = 0; i < count; i++) {
		ssize_t vlen = lgetxattr(proc, keys[i], val, XATTR_SIZE_MAX);
		if (vlen < 0 && errno == ENODATA)
			continue; /* removed since */
		if (vlen < 0) {
			ctrk_error_errno(err, "cannot read xattr '%s' of '%s'", keys[i], name);
			free(x->buf);
			*x = (xattrs_t){0};
			return -1;
		}
		if (strcmp(keys[i], "trusted.overlay.opaque") == 0 && vlen == 1 && val[0] == 'y')
			x->opaque = true;
		else if (strcmp(keys[i], "trusted.overlay.redirect") == 0)
			x->unsupported = "a renamed directory (redirect_dir)";
		else if (strcmp(keys[i], "trusted.overlay.metacopy") == 0)
			x->unsupported = "a metadata-only copy (metacopy)";
		if (overlay_xattr(keys[i]))
			continue;
		size_t klen = strlen(keys[i]) + 1;
		if (x->len + klen + 4 + (size_t)vlen > cap) {
			cap = 2 * (x->len + klen + 4 + (size_t)vlen);
			x->buf = ctrk_xrealloc(x->buf, cap);
		}
		uint32_t l32 = (uint32_t)vlen;
		memcpy(x->buf + x->len, keys[i], klen);
		memcpy(x->buf + x->len + klen, &l32, 4);
		memcpy(x->buf + x->len + klen + 4, val, (size_t)vlen);
		x->len += klen + 4 + (size_t)vlen;
	}
	return 0;
}

/* One directory entry, with what the comparison needs. */
typedef struct node {
	char *name;
	struct stat st;
	xattrs_t x;
	char *link; /* symlink target */
} node_t;

typedef struct listing {
	node_t *v;
	size_t n, cap;
} listing_t;

static void
listing_free(listing_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].x.buf);
		free(l->v[i].link);
	}
	free(l->v);
	*l = (listing_t){0};
}

static int
cmp_node(const void *a, const void *b)
{
	return strcmp(((const node_t *)a)->name, ((const node_t *)b)->name);
}

static int
read_node(int dfd, const char *name, node_t *n, ctrk_error_t *err)
{
	if (fstatat(dfd, name, &n->st, AT_SYMLINK_NOFOLLOW) < 0)
		return ctrk_error_errno(err, "cannot stat '%s'", name);
	if (S_ISLNK(n->st.st_mode)) {
		char target[PATH_MAX];
		ssize_t len = readlinkat(dfd, name, target, sizeof target);
		if (len < 0 || len == (ssize_t)sizeof target)
			return ctrk_error_set(err, len < 0 ? errno : ENAMETOOLONG, "cannot read symlink '%s'", name);
		n->link = ctrk_xstrndup(target, (size_t)len);
	}
	return read_xattrs(dfd, name, &n->x, err);
}

/* The entries of directory PATH in ROOT but sockets, sorted by name. */
static int
list_dir(int root, const char *path, listing_t *l, ctrk_error_t *err)
{
	*l = (listing_t){0};
	int fd = open_in_tree(root, path, O_RDONLY | O_DIRECTORY, err);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		ctrk_error_errno(err, "cannot open directory '/%s'", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 16;
			l->v = ctrk_xrealloc(l->v, l->cap * sizeof *l->v);
		}
		node_t *n = &l->v[l->n++];
		*n = (node_t){.name = ctrk_xstrdup(de->d_name)};
		rc = read_node(dirfd(d), de->d_name, n, err);
		/* A tar cannot hold a socket: left out, as containerd does. */
		if (rc == 0 && S_ISSOCK(n->st.st_mode)) {
			free(n->name);
			free(n->x.buf);
			l->n--;
		}
	}
	if (rc == 0 && errno)
		rc = ctrk_error_errno(err, "cannot read directory '/%s'", path);
	closedir(d);
	if (rc < 0) {
		listing_free(l);
		return ctrk_error_wrap(err, "in '/%s'", path);
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof *l->v, cmp_node);
	return 0;
}

/* --- finding the changes ---------------------------------------------------- */

typedef struct change {
	char *path;
	bool marker; /* an empty whiteout file, not read from the tree */
	dev_t dev;
	ino_t ino;
	nlink_t nlink;
} change_t;

typedef struct differ {
	int upper, lower; /* the snapshot's tree, its parent's (-1: none) */
	change_t *ch;
	size_t nch, capch;
	/* native: every non-directory of the snapshot with several links, so
	 * that all names of a changed file go into the layer */
	change_t *links;
	size_t nlinks, caplinks;
	char *buf[2]; /* for comparing contents */
} differ_t;

static void
push(change_t **v, size_t *n, size_t *cap, change_t c)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*v = ctrk_xrealloc(*v, *cap * sizeof **v);
	}
	(*v)[(*n)++] = c;
}

static void
add_entry(differ_t *d, char *path, const struct stat *st)
{
	change_t c = {.path = path};
	if (st) {
		c.dev = st->st_dev;
		c.ino = st->st_ino;
		c.nlink = S_ISDIR(st->st_mode) ? 1 : st->st_nlink;
	}
	push(&d->ch, &d->nch, &d->capch, c);
}

static void
add_marker(differ_t *d, const char *dir, const char *name)
{
	change_t c = {.path = dir[0] ? ctrk_strdup_printf("%s/%s", dir, name) : ctrk_xstrdup(name), .marker = true};
	push(&d->ch, &d->nch, &d->capch, c);
}

/* Names a layer reserves for whiteouts cannot be stored as files. */
static int
check_name(const char *path, const char *name, ctrk_error_t *err)
{
	if (strncmp(name, WH_PREFIX, sizeof WH_PREFIX - 1) == 0)
		return ctrk_error_set(err, 0, "'/%s': a name starting with '" WH_PREFIX "' cannot be stored in a layer",
				      path);
	return 0;
}

static int
walk_overlay(differ_t *d, const char *dir, ctrk_error_t *err)
{
	listing_t l;
	if (list_dir(d->upper, dir, &l, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		node_t *n = &l.v[i];
		char *path = join(dir, n->name);
		if (S_ISCHR(n->st.st_mode) && n->st.st_rdev == makedev(0, 0)) {
			cleanup_free char *wh = ctrk_strdup_printf(WH_PREFIX "%s", n->name);
			add_marker(d, dir, wh);
			free(path);
			continue;
		}
		if (n->x.unsupported) {
			rc = ctrk_error_set(err, 0, "'/%s' is %s: mount overlay without it to diff", path,
					    n->x.unsupported);
			free(path);
			break;
		}
		if (check_name(path, n->name, err) < 0) {
			free(path);
			rc = -1;
			break;
		}
		add_entry(d, path, &n->st);
		if (S_ISDIR(n->st.st_mode)) {
			if (n->x.opaque)
				add_marker(d, path, WH_OPAQUE);
			rc = walk_overlay(d, path, err);
		}
	}
	listing_free(&l);
	return rc;
}

static int
same_content(differ_t *d, const char *path, bool *same, ctrk_error_t *err)
{
	cleanup_close int a = open_in_tree(d->lower, path, O_RDONLY | O_NOCTTY, err);
	if (a < 0)
		return ctrk_error_errno(err, "cannot open '/%s'", path);
	cleanup_close int b = open_in_tree(d->upper, path, O_RDONLY | O_NOCTTY, err);
	if (b < 0)
		return ctrk_error_errno(err, "cannot open '/%s'", path);
	if (!d->buf[0]) {
		d->buf[0] = ctrk_xmalloc(IO_BLOCK);
		d->buf[1] = ctrk_xmalloc(IO_BLOCK);
	}
	*same = false;
	for (;;) {
		ssize_t na = read(a, d->buf[0], IO_BLOCK);
		if (na < 0 && errno == EINTR)
			continue;
		if (na < 0)
			return ctrk_error_errno(err, "cannot read '/%s'", path);
		size_t got = 0;
		while (got < (size_t)na) {
			ssize_t nb = read(b, d->buf[1] + got, (size_t)na - got);
			if (nb < 0 && errno == EINTR)
				continue;
			if (nb < 0)
				return ctrk_error_errno(err, "cannot read '/%s'", path);
			if (nb == 0)
				return 0; /* shorter */
			got += (size_t)nb;
		}
		if (memcmp(d->buf[0], d->buf[1], got) != 0)
			return 0;
		if (na == 0) {
			char c;
			ssize_t nb;
			while ((nb = read(b, &c, 1)) < 0 && errno == EINTR)
				;
			*same = nb == 0;
			return nb < 0 ? ctrk_error_errno(err, "cannot read '/%s'", path) : 0;
		}
	}
}

/* Is upper node U at PATH unchanged from lower node L?  (containerd's
 * sameFile, with all xattrs instead of only security.capability) */
static int
same_node(differ_t *d, const char *path, const node_t *l, const node_t *u, bool *same, ctrk_error_t *err)
{
	const struct stat *a = &l->st, *b = &u->st;
	*same = false;
	if (a->st_mode != b->st_mode || a->st_uid != b->st_uid || a->st_gid != b->st_gid)
		return 0;
	if ((S_ISCHR(a->st_mode) || S_ISBLK(a->st_mode)) && a->st_rdev != b->st_rdev)
		return 0;
	if (l->x.len != u->x.len || (l->x.len && memcmp(l->x.buf, u->x.buf, l->x.len) != 0))
		return 0;
	if (S_ISLNK(a->st_mode) && strcmp(l->link, u->link) != 0)
		return 0;
	if (S_ISDIR(a->st_mode)) {
		*same = true; /* its children say whether it changed */
		return 0;
	}
	if (a->st_size != b->st_size || a->st_mtim.tv_sec != b->st_mtim.tv_sec)
		return 0;
	if (a->st_mtim.tv_nsec != b->st_mtim.tv_nsec)
		return 0;
	if (a->st_mtim.tv_nsec == 0 && S_ISREG(a->st_mode) && a->st_size > 0)
		return same_content(d, path, same, err);
	*same = true;
	return 0;
}

/* DIR exists in the snapshot, and in the parent when IN_LOWER. */
static int
walk_native(differ_t *d, const char *dir, bool in_lower, ctrk_error_t *err)
{
	listing_t u = {0}, l = {0};
	if (list_dir(d->upper, dir, &u, err) < 0 || (in_lower && list_dir(d->lower, dir, &l, err) < 0)) {
		listing_free(&u);
		return -1;
	}
	size_t i = 0, j = 0;
	int rc = 0;
	while (rc == 0 && (i < u.n || j < l.n)) {
		int c = i == u.n ? 1 : j == l.n ? -1 : strcmp(u.v[i].name, l.v[j].name);
		if (c > 0) {
			cleanup_free char *wh = ctrk_strdup_printf(WH_PREFIX "%s", l.v[j++].name);
			add_marker(d, dir, wh);
			continue;
		}
		const node_t *un = &u.v[i++];
		const node_t *ln = c == 0 ? &l.v[j++] : NULL;
		cleanup_free char *path = join(dir, un->name);
		bool same = false;
		if (check_name(path, un->name, err) < 0 || (ln && same_node(d, path, ln, un, &same, err) < 0)) {
			rc = -1;
			break;
		}
		if (!S_ISDIR(un->st.st_mode) && un->st.st_nlink > 1)
			push(&d->links, &d->nlinks, &d->caplinks,
			     (change_t){.path = ctrk_xstrdup(path), .dev = un->st.st_dev, .ino = un->st.st_ino});
		if (!same)
			add_entry(d, ctrk_xstrdup(path), &un->st);
		if (S_ISDIR(un->st.st_mode))
			rc = walk_native(d, path, ln && S_ISDIR(ln->st.st_mode), err);
	}
	listing_free(&u);
	listing_free(&l);
	return rc;
}

static int
cmp_inode(const void *x, const void *y)
{
	const change_t *a = x, *b = y;
	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	return a->ino < b->ino ? -1 : a->ino > b->ino;
}

/* Every name of a changed file with several links goes into the layer, so
 * that the layer's hardlinks join them again: a new link to an unchanged
 * file is a change of that file's names. */
static void
complete_links(differ_t *d)
{
	if (d->nlinks == 0)
		return;
	change_t *keys = ctrk_xcalloc(d->nch + 1, sizeof *keys);
	size_t nkeys = 0;
	for (size_t i = 0; i < d->nch; i++)
		if (!d->ch[i].marker && d->ch[i].nlink > 1)
			keys[nkeys++] = d->ch[i];
	qsort(keys, nkeys, sizeof *keys, cmp_inode);
	for (size_t i = 0; i < d->nlinks; i++) {
		change_t *l = &d->links[i];
		if (nkeys && bsearch(l, keys, nkeys, sizeof *keys, cmp_inode)) {
			add_entry(d, l->path, NULL);
			l->path = NULL;
		}
	}
	free(keys);
}

/* Directory order: "a" < "a/b" < "a-b" ('/' sorts before any byte). */
static int
cmp_path(const void *x, const void *y)
{
	const unsigned char *a = (const unsigned char *)((const change_t *)x)->path;
	const unsigned char *b = (const unsigned char *)((const change_t *)y)->path;
	while (*a && *a == *b)
		a++, b++;
	int ca = *a == '\0' ? 0 : *a == '/' ? 1 : *a + 1;
	int cb = *b == '\0' ? 0 : *b == '/' ? 1 : *b + 1;
	return ca - cb;
}

/* Add every change's parent directories, sort, drop duplicates. */
static void
finish_changes(differ_t *d)
{
	size_t n = d->nch;
	for (size_t i = 0; i < n; i++) {
		const char *p = d->ch[i].path;
		for (const char *s = strchr(p, '/'); s; s = strchr(s + 1, '/'))
			add_entry(d, ctrk_xstrndup(p, (size_t)(s - p)), NULL);
	}
	if (d->nch > 1)
		qsort(d->ch, d->nch, sizeof *d->ch, cmp_path);
	size_t w = 0;
	for (size_t i = 0; i < d->nch; i++) {
		if (w > 0 && strcmp(d->ch[w - 1].path, d->ch[i].path) == 0) {
			free(d->ch[i].path);
			continue;
		}
		d->ch[w++] = d->ch[i];
	}
	d->nch = w;
}

static void
differ_free(differ_t *d)
{
	for (size_t i = 0; i < d->nch; i++)
		free(d->ch[i].path);
	for (size_t i = 0; i < d->nlinks; i++)
		free(d->links[i].path);
	free(d->ch);
	free(d->links);
	free(d->buf[0]);
	free(d->buf[1]);
	if (d->upper >= 0)
		close(d->upper);
	if (d->lower >= 0)
		close(d->lower);
}

/* --- writing the layer -------------------------------------------------------- */

typedef struct writer {
	struct archive *tar, *raw;
	struct archive_entry_linkresolver *links;
	ctrk_hasher_t *plain, *packed;
	int out;
	long long size;
	bool failed; /* in packed_out: io_err says why */
	ctrk_error_t io_err;
	int root;   /* the tree entries are read from */
	int dir_fd; /* the directory of the last entry */
	char *dir;
	char *buf;
} writer_t;

/* RAW's output: the compressed stream, hashed for the digest. */
static la_ssize_t
packed_out(struct archive *a, void *arg, const void *buf, size_t len)
{
	writer_t *w = arg;
	if (ctrk_write_all(w->out, buf, len, &w->io_err) < 0) {
		w->failed = true;
		archive_set_error(a, EIO, "%s", w->io_err.msg);
		return -1;
	}
	ctrk_hasher_update(w->packed, buf, len);
	w->size += (long long)len;
	return (la_ssize_t)len;
}

/* TAR's output: the plain stream, hashed for the diffId, into RAW. */
static la_ssize_t
plain_out(struct archive *a, void *arg, const void *buf, size_t len)
{
	writer_t *w = arg;
	ctrk_hasher_update(w->plain, buf, len);
	la_ssize_t n = archive_write_data(w->raw, buf, len);
	if (n < 0 || (size_t)n != len) {
		archive_set_error(a, EIO, "%s", archive_error_string(w->raw));
		return -1;
	}
	return (la_ssize_t)len;
}

static int
archive_fail(writer_t *w, struct archive *a, const char *what, ctrk_error_t *err)
{
	if (w->failed) {
		*err = w->io_err;
		return ctrk_error_wrap(err, "%s", what);
	}
	return ctrk_error_set(err, 0, "%s: %s", what, archive_error_string(a));
}

static int
writer_open(writer_t *w, diff_compression_t c, ctrk_error_t *err)
{
	w->raw = archive_write_new();
	w->tar = archive_write_new();
	w->links = archive_entry_linkresolver_new();
	if (!w->raw || !w->tar || !w->links)
		return ctrk_error_set(err, ENOMEM, "cannot start the layer");
	/* Only built-in compressors: a WARN means an external program. */
	int r = c == DIFF_GZIP ? archive_write_add_filter_gzip(w->raw)
		: c == DIFF_ZSTD ? archive_write_add_filter_zstd(w->raw)
				 : ARCHIVE_OK;
	if (r != ARCHIVE_OK)
		return ctrk_error_set(err, 0, "libarchive has no built-in %s compressor",
				      c == DIFF_GZIP ? "gzip" : "zstd");
	/* No time in the gzip header: the same changes, the same digest. */
	if (c == DIFF_GZIP && archive_write_set_filter_option(w->raw, "gzip", "timestamp", NULL) != ARCHIVE_OK)
		return archive_fail(w, w->raw, "cannot set up gzip", err);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "layer.tar");
	archive_entry_set_filetype(e, AE_IFREG);
	/* bytes_in_last_block 1: no zero padding after the streams. */
	if (archive_write_set_format_raw(w->raw) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->raw, 1) != ARCHIVE_OK ||
	    archive_write_open2(w->raw, w, NULL, packed_out, NULL, NULL) != ARCHIVE_OK ||
	    archive_write_header(w->raw, e) != ARCHIVE_OK) {
		archive_entry_free(e);
		return archive_fail(w, w->raw, "cannot start the layer", err);
	}
	archive_entry_free(e);
	/* pax restricted: ustar headers, and pax records only where needed
	 * (long names, xattrs as SCHILY.xattr as Go's archive/tar reads them). */
	if (archive_write_set_format_pax_restricted(w->tar) != ARCHIVE_OK ||
	    archive_write_set_format_option(w->tar, "pax", "xattrheader", "SCHILY") < ARCHIVE_WARN ||
	    archive_write_set_bytes_in_last_block(w->tar, 1) != ARCHIVE_OK ||
	    archive_write_open2(w->tar, w, NULL, plain_out, NULL, NULL) != ARCHIVE_OK)
		return archive_fail(w, w->tar, "cannot start the layer", err);
	archive_entry_linkresolver_set_strategy(w->links, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	w->buf = ctrk_xmalloc(IO_BLOCK);
	return 0;
}

static void
writer_free(writer_t *w)
{
	if (w->tar)
		archive_write_free(w->tar);
	if (w->raw)
		archive_write_free(w->raw);
	if (w->links)
		archive_entry_linkresolver_free(w->links);
	if (w->dir_fd >= 0)
		close(w->dir_fd);
	free(w->dir);
	free(w->buf);
}

static int
enter_dir(writer_t *w, const char *dir, ctrk_error_t *err)
{
	if (w->dir && strcmp(w->dir, dir) == 0)
		return 0;
	if (w->dir_fd >= 0)
		close(w->dir_fd);
	free(w->dir);
	w->dir = NULL;
	w->dir_fd = open_in_tree(w->root, dir, O_RDONLY | O_DIRECTORY, err);
	if (w->dir_fd < 0)
		return ctrk_error_errno(err, "cannot open directory '/%s'", dir);
	w->dir = ctrk_xstrdup(dir);
	return 0;
}

static int
write_header(writer_t *w, struct archive_entry *e, const char *path, ctrk_error_t *err)
{
	/* WARN: e.g. a name not valid in the locale, stored as bytes. */
	if (archive_write_header(w->tar, e) < ARCHIVE_WARN) {
		archive_fail(w, w->tar, "cannot write the layer", err);
		return ctrk_error_wrap(err, "'/%s'", path);
	}
	return 0;
}

/* A whiteout: an empty file with nothing that changes from run to run. */
static int
write_marker(writer_t *w, const char *path, ctrk_error_t *err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0);
	archive_entry_set_size(e, 0);
	archive_entry_set_mtime(e, 0, 0);
	int rc = write_header(w, e, path, err);
	archive_entry_free(e);
	return rc;
}

static int
write_data(writer_t *w, int fd, long long size, const char *path, ctrk_error_t *err)
{
	long long done = 0;
	while (done < size) {
		size_t want = size - done < IO_BLOCK ? (size_t)(size - done) : IO_BLOCK;
		ssize_t n = read(fd, w->buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ctrk_error_errno(err, "cannot read '/%s'", path);
		if (n == 0)
			return ctrk_error_set(err, 0, "'/%s' shrank while it was read", path);
		if (archive_write_data(w->tar, w->buf, (size_t)n) != n) {
			archive_fail(w, w->tar, "cannot write the layer", err);
			return ctrk_error_wrap(err, "'/%s'", path);
		}
		done += n;
	}
	return 0;
}

static void
add_xattrs(struct archive_entry *e, const xattrs_t *x)
{
	for (size_t off = 0; off < x->len;) {
		const char *key = x->buf + off;
		size_t klen = strlen(key) + 1;
		uint32_t vlen;
		memcpy(&vlen, x->buf + off + klen, 4);
		archive_entry_xattr_add_entry(e, key, x->buf + off + klen + 4, vlen);
		off += klen + 4 + vlen;
	}
}

/* The entry PATH as it is in the tree. */
static int
write_node(writer_t *w, const char *path, ctrk_error_t *err)
{
	const char *slash = strrchr(path, '/');
	cleanup_free char *dir = slash ? ctrk_xstrndup(path, (size_t)(slash - path)) : ctrk_xstrdup("");
	const char *name = slash ? slash + 1 : path;
	if (enter_dir(w, dir, err) < 0)
		return -1;
	node_t n = {0};
	cleanup_close int fd = -1;
	int rc = read_node(w->dir_fd, name, &n, err);
	if (rc == 0 && S_ISREG(n.st.st_mode)) {
		/* The header's size is the size of what is read. */
		struct stat st;
		fd = openat(w->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			rc = ctrk_error_errno(err, "cannot open '%s'", name);
		else if (st.st_ino != n.st.st_ino || st.st_dev != n.st.st_dev)
			rc = ctrk_error_set(err, 0, "'%s' changed while it was read", name);
		else
			n.st = st;
	}
	if (rc < 0) {
		free(n.x.buf);
		free(n.link);
		return ctrk_error_wrap(err, "in '/%s'", dir);
	}

	struct archive_entry *e = archive_entry_new(), *spare = NULL;
	archive_entry_copy_stat(e, &n.st);
	/* Only what a layer means: no atime or ctime (they change on every
	 * read and copy), no device or inode numbers, and mtimes in whole
	 * seconds as docker and containerd write them (pax restricted would
	 * keep nanoseconds only where it writes a pax header anyway). */
	archive_entry_set_mtime(e, n.st.st_mtim.tv_sec, 0);
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	archive_entry_unset_birthtime(e);
	archive_entry_copy_pathname(e, path);
	if (!S_ISREG(n.st.st_mode))
		archive_entry_set_size(e, 0);
	if (n.link)
		archive_entry_copy_symlink(e, n.link);
	add_xattrs(e, &n.x);
	/* A name of a file already in the layer becomes a tar hardlink to the
	 * first one (the resolver keeps its own copy to match against). */
	archive_entry_linkify(w->links, &e, &spare);
	bool linked = archive_entry_hardlink(e) != NULL;
	if (linked)
		archive_entry_set_size(e, 0);
	archive_entry_set_dev(e, 0);
	archive_entry_set_ino64(e, 0);
	archive_entry_set_nlink(e, 1);
	rc = write_header(w, e, path, err);
	if (rc == 0 && S_ISREG(n.st.st_mode) && !linked)
		rc = write_data(w, fd, n.st.st_size, path, err);
	archive_entry_free(e);
	archive_entry_free(spare);
	free(n.x.buf);
	free(n.link);
	return rc;
}

static int
write_changes(writer_t *w, const differ_t *d, ctrk_error_t *err)
{
	for (size_t i = 0; i < d->nch; i++) {
		const change_t *c = &d->ch[i];
		if ((c->marker ? write_marker(w, c->path, err) : write_node(w, c->path, err)) < 0)
			return -1;
	}
	if (archive_write_close(w->tar) != ARCHIVE_OK)
		return archive_fail(w, w->tar, "cannot finish the layer", err);
	if (archive_write_finish_entry(w->raw) != ARCHIVE_OK || archive_write_close(w->raw) != ARCHIVE_OK)
		return archive_fail(w, w->raw, "cannot finish the layer", err);
	return 0;
}

/* --- the verb ---------------------------------------------------------------- */

/* Find the changes of snapshot B. */
static int
find_changes(const snap_store_t *s, const snap_info_t *b, differ_t *d, ctrk_error_t *err)
{
	cleanup_free char *fs = snap_fs_dir(b->dir);
	bool overlay = s->driver.ops->apply == APPLY_WHITEOUTS_OVERLAY;
	d->upper = open(fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->upper < 0)
		return ctrk_error_errno(err, "cannot open '%s'", fs);
	if (overlay)
		return walk_overlay(d, "", err);
	if (b->nparents > 0) {
		cleanup_free char *pfs = snap_fs_dir(b->parents[0]);
		d->lower = open(pfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d->lower < 0)
			return ctrk_error_errno(err, "cannot open '%s'", pfs);
	}
	if (walk_native(d, "", d->lower >= 0, err) < 0)
		return -1;
	complete_links(d);
	return 0;
}

/* Write the layer into a temp file in the ingest area: *TMP its path. */
static int
write_layer(const ctrk_store_t *store, const differ_t *d, diff_compression_t c, diff_layer_t *out, char **tmp,
	    ctrk_error_t *err)
{
	writer_t w = {.root = d->upper, .dir_fd = -1};
	w.out = ctrk_tmpfile_in(store->ingest, "diff", tmp, err);
	if (w.out < 0)
		return -1;
	w.plain = ctrk_hasher_new();
	w.packed = ctrk_hasher_new();
	int rc = writer_open(&w, c, err);
	if (rc == 0)
		rc = write_changes(&w, d, err);
	if (rc == 0) {
		ctrk_hasher_final(w.plain, out->diff_id);
		ctrk_hasher_final(w.packed, out->digest);
		out->size = w.size;
		out->media_type = media_type(c);
	}
	writer_free(&w);
	ctrk_hasher_free(w.plain);
	ctrk_hasher_free(w.packed);
	close(w.out);
	return rc;
}

/* The snapshot KEY with directory ID is still there: it was not removed
 * (and its tree deleted) while it was read.  Ids are never reused. */
static int
still_there(snap_store_t *s, const char *key, long long id, ctrk_error_t *err)
{
	if (snap_lock(s, false, err) < 0)
		return -1;
	const cJSON *e = snap_get(s, key);
	bool same = e && snap_entry_id(e) == id;
	snap_unlock(s);
	if (!same)
		return ctrk_error_set(err, 0, "snapshot '%s' was removed while its changes were read", key);
	return 0;
}

int
snap_diff(snap_store_t *s, const char *key, diff_compression_t c, diff_layer_t *out, ctrk_error_t *err)
{
	snap_info_buf_t b = {0};
	differ_t d = {.upper = -1, .lower = -1};
	ctrk_store_t store = {0};
	cleanup_free char *tmp = NULL;
	int ret = -1;

	/* Not locked while reading: a long diff must not stop other
	 * verbs.  still_there() checks at the end that nothing was removed. */
	if (snap_lock(s, false, err) < 0)
		goto out;
	const cJSON *e = snap_need(s, key, err);
	if (e && snap_entry_kind(e) == SNAP_VIEW)
		ctrk_error_set(err, 0, "snapshot '%s' is a view: it has no changes of its own", key);
	int rc = e && snap_entry_kind(e) != SNAP_VIEW ? snap_info_get(s, key, e, &b, err) : -1;
	snap_unlock(s);
	if (rc < 0)
		goto out;

	if (find_changes(s, &b.info, &d, err) < 0)
		goto out;
	finish_changes(&d);
	if (ctrk_store_open(&store, s->root, err) < 0)
		goto out;
	if (write_layer(&store, &d, c, out, &tmp, err) < 0 || still_there(s, key, b.info.id, err) < 0 ||
	    ctrk_store_adopt_file(&store, tmp, out->digest, err) < 0)
		goto out;
	free(steal_pointer(&tmp));
	ret = ctrk_store_sync(&store, err);
out:
	if (tmp)
		unlink(tmp);
	if (store.root)
		ctrk_store_close(&store);
	differ_free(&d);
	snap_info_free(&b);
	return ret < 0 ? ctrk_error_wrap(err, "cannot diff '%s'", key) : 0;
}
