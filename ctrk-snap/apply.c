/* Applying one image layer onto a directory (see apply.h).
 *
 * The layer is read once, in bounded memory, with no temporary file: a
 * thread decompresses and hashes it (apply_stream.c) and hands the plain tar
 * stream to the libarchive reader here, which parses it.
 *
 * Safety rests on one invariant: every directory descriptor held here refers
 * to a directory inside the root, and everything else is done with *at()
 * calls on a single plain name (no "/", never "." or "..") relative to one
 * of them, without following a symlink in that name.  Directories are found
 * with ctrk_inroot_open() (openat2(RESOLVE_IN_ROOT) or the same by hand),
 * which resolves ".." and symlinks (absolute ones too) as if the root were
 * "/", or by a one-name O_NOFOLLOW step down from a directory already found.
 *
 * Whiteouts follow the OCI image spec's layer format:
 * https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts
 * and become overlayfs' own markers in OVERLAY mode:
 * https://docs.kernel.org/filesystems/overlayfs.html#whiteouts-and-opaque-directories
 *
 * The functions below are thread-safe: layers may be applied in parallel. */
#include "apply.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "apply_stream.h"
#include "cleanup.h"
#include "fsutil.h"
#include "inroot.h"

/* Newer than Debian 12's headers; the numbers are the same on every
 * architecture since 5.1's unified syscall table. */
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 /* Linux 6.6 */
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463 /* Linux 6.13 */
#endif

#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

/* A growable byte buffer; strings in it are referred to by offset. */
typedef struct arena {
	char *buf;
	size_t len, cap;
} arena_t;

/* A hash set of paths (this layer's entries), open addressing. */
typedef struct pathset_slot {
	uint64_t hash;
	size_t off; /* into the arena; SIZE_MAX: empty */
	size_t len;
} pathset_slot_t;

typedef struct pathset {
	pathset_slot_t *slots;
	size_t cap, n; /* cap: a power of two */
} pathset_t;

/* A directory whose times are set once all its children are written. */
typedef struct dirtime {
	size_t off, len;
	struct timespec ts[2];
} dirtime_t;

typedef struct applier {
	int root;
	dev_t root_dev;
	apply_whiteouts_t whiteouts;
	struct archive *tar;
	apply_stream_t *stream;
	ctrk_error_t stream_err; /* the stream's, seen by feed_tar() */
	apply_stats_t *stats;

	/* The directory of the last entry, kept open: entries come grouped
	 * by directory, so most need no lookup at all.  It stays right because
	 * it always follows the entry being applied: an entry changes only
	 * names inside its own directory (or, for a directory entry, becomes
	 * the cache itself), and a name changed in the cached directory
	 * cannot change where that directory's own path leads.  Whatever
	 * happens, it is a directory inside the root. */
	int cache_fd;
	size_t cache_len;
	char cache[PATH_MAX];

	char path[PATH_MAX];   /* the entry's cleaned path */
	char target[PATH_MAX]; /* a hardlink's cleaned target */
	char tmp[PATH_MAX];    /* scratch: directory paths, whiteout victims */

	arena_t strs;
	pathset_t created; /* every path this layer created */
	dirtime_t *dirs;
	size_t ndirs, dirs_cap;
} applier_t;

/* --- small containers ---------------------------------------------------- */

static size_t
arena_add(arena_t *a, const char *s, size_t len)
{
	if (a->len + len + 1 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1 << 16;
		while (a->len + len + 1 > a->cap)
			a->cap *= 2;
		a->buf = ctrk_xrealloc(a->buf, a->cap);
	}
	size_t off = a->len;
	memcpy(a->buf + off, s, len);
	a->buf[off + len] = '\0';
	a->len += len + 1;
	return off;
}

static uint64_t
path_hash(const char *s, size_t len)
{
	/* FNV-1a: short keys, no adversary gains much from collisions here
	 * beyond slowing down their own layer. */
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

static pathset_slot_t *
pathset_find(const pathset_t *set, const arena_t *a, const char *s, size_t len, uint64_t h)
{
	size_t mask = set->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		pathset_slot_t *slot = &set->slots[i];
		if (slot->off == SIZE_MAX)
			return slot;
		if (slot->hash == h && slot->len == len && memcmp(a->buf + slot->off, s, len) == 0)
			return slot;
	}
}

static void
pathset_grow(pathset_t *set, const arena_t *a)
{
	pathset_t bigger = {.cap = set->cap ? set->cap * 2 : 1024, .n = set->n};
	bigger.slots = ctrk_xmalloc(bigger.cap * sizeof *bigger.slots);
	for (size_t i = 0; i < bigger.cap; i++)
		bigger.slots[i].off = SIZE_MAX;
	for (size_t i = 0; i < set->cap; i++) {
		pathset_slot_t *old = &set->slots[i];
		if (old->off != SIZE_MAX)
			*pathset_find(&bigger, a, a->buf + old->off, old->len, old->hash) = *old;
	}
	free(set->slots);
	*set = bigger;
}

static void
created_add(applier_t *ap, const char *s, size_t len)
{
	if (2 * (ap->created.n + 1) > ap->created.cap)
		pathset_grow(&ap->created, &ap->strs);
	uint64_t h = path_hash(s, len);
	pathset_slot_t *slot = pathset_find(&ap->created, &ap->strs, s, len, h);
	if (slot->off != SIZE_MAX)
		return;
	*slot = (pathset_slot_t){.hash = h, .off = arena_add(&ap->strs, s, len), .len = len};
	ap->created.n++;
}

static bool
created_has(const applier_t *ap, const char *s, size_t len)
{
	if (!ap->created.cap)
		return false;
	return pathset_find(&ap->created, &ap->strs, s, len, path_hash(s, len))->off != SIZE_MAX;
}

static void
dirtime_add(applier_t *ap, const char *path, size_t len, const struct timespec ts[2])
{
	if (ap->ndirs == ap->dirs_cap) {
		ap->dirs_cap = ap->dirs_cap ? 2 * ap->dirs_cap : 256;
		ap->dirs = ctrk_xrealloc(ap->dirs, ap->dirs_cap * sizeof *ap->dirs);
	}
	ap->dirs[ap->ndirs++] = (dirtime_t){.off = arena_add(&ap->strs, path, len), .len = len, .ts = {ts[0], ts[1]}};
}

/* --- paths ----------------------------------------------------------------- */

/* Clean an archive path into OUT (PATH_MAX bytes): leading "/" and "./"
 * dropped, empty and "." components dropped, ".." pops a component.  A path
 * that climbs above the top is refused rather than clamped: no honest layer
 * has one.  *LEN is the result's length, 0 for the top itself.  WHAT names
 * the path in messages ("layer entry", "hardlink target"). */
static int
clean_path(const char *what, const char *in, char *out, size_t *len, ctrk_error_t *err)
{
	size_t n = 0;
	const char *p = in;
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t clen = (size_t)(end - p);
		if (clen == 0 || (clen == 1 && p[0] == '.')) {
			/* nothing */
		} else if (clen == 2 && p[0] == '.' && p[1] == '.') {
			if (n == 0)
				return ctrk_error_set(err, 0, "%s '%.256s' leads out of the root", what, in);
			char *slash = memrchr(out, '/', n);
			n = slash ? (size_t)(slash - out) : 0;
		} else {
			if (n + clen + 2 > PATH_MAX)
				return ctrk_error_set(err, ENAMETOOLONG, "%s '%.64s...'", what, in);
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, clen);
			n += clen;
		}
		p = *end ? end + 1 : end;
	}
	out[n] = '\0';
	*len = n;
	return 0;
}

/* Split a cleaned PATH into its directory's length and its last name. */
static const char *
split_path(const char *path, size_t len, size_t *dlen)
{
	const char *slash = memrchr(path, '/', len);
	*dlen = slash ? (size_t)(slash - path) : 0;
	return slash ? slash + 1 : path;
}

/* The directory PATH (cleaned or not), resolved inside the root (see
 * inroot.h), opened O_PATH; errno says why not.  NO_XDEV: a mount inside the
 * root (there should be none) is not followed into. */
static int
open_dir_in_root(applier_t *ap, const char *path)
{
	ctrk_error_t err;
	return ctrk_inroot_open(ap->root, path, O_PATH | O_DIRECTORY, CTRK_INROOT_NO_XDEV, &err);
}

static void
cache_set(applier_t *ap, int fd, const char *dir, size_t dlen)
{
	if (ap->cache_fd >= 0 && ap->cache_fd != ap->root)
		close(ap->cache_fd);
	ap->cache_fd = fd;
	memmove(ap->cache, dir, dlen);
	ap->cache_len = dlen;
}

/* A directory a layer needs but does not list (its entries name only
 * "a/b/file") is 0755, as tar and containerd make it, whatever the caller's
 * umask: under umask 077 it would be 0700 and a non-root container user
 * could not reach the files below it.  Listed directories get their mode
 * from the layer later. */
static void
implicit_dir_mode(int dirfd, const char *name)
{
	(void)fchmodat(dirfd, name, 0755, 0);
}

/* Make the missing directories of D (NUL-terminated, modified in place and
 * restored), mode 0755 as tar does, and return D opened O_PATH.  The deepest
 * existing ancestor is found by resolving in the root, from the longest
 * prefix back (usually only the last name is missing); below it everything is
 * new, so one O_NOFOLLOW step at a time is enough. */
static int
make_dirs(applier_t *ap, char *d, ctrk_error_t *err)
{
	size_t n = strlen(d);
	char *cut = d + n;
	int fd;
	for (;;) {
		char *slash = memrchr(d, '/', (size_t)(cut - d));
		if (!slash) {
			fd = open_dir_in_root(ap, "");
			cut = d;
			break;
		}
		*slash = '\0';
		fd = open_dir_in_root(ap, d);
		int saved = errno;
		*slash = '/';
		if (fd >= 0) {
			cut = slash + 1;
			break;
		}
		if (saved != ENOENT) {
			errno = saved;
			return ctrk_error_errno(err, "cannot open directory '%.*s'", (int)(slash - d), d);
		}
		cut = slash;
	}
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open the root");
	while (cut < d + n) {
		char *slash = strchrnul(cut, '/');
		bool last = !*slash;
		*slash = '\0';
		if (mkdirat(fd, cut, 0755) < 0) {
			/* Resolution said "missing" but the name is there: a
			 * symlink to nowhere.  Its target could be made, but
			 * tar does not either, and it is no honest layer. */
			if (errno == EEXIST)
				ctrk_error_set(err, 0, "cannot create directory '%s': a dangling symlink is in the way", d);
			else
				ctrk_error_errno(err, "cannot create directory '%s'", d);
			close(fd);
			return -1;
		}
		implicit_dir_mode(fd, cut);
		created_add(ap, d, strlen(d));
		int next = openat(fd, cut, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next < 0)
			return ctrk_error_errno(err, "cannot open directory '%s'", d);
		fd = next;
		if (!last)
			*slash = '/';
		cut = slash + 1;
	}
	return fd;
}

/* The directory DIR (a cleaned path, DLEN bytes) resolved inside the root,
 * made when missing if CREATE.  Returns a descriptor owned by AP (valid until
 * the next call), -1 on error, or -2 when !CREATE and it does not exist. */
static int
resolve_dir(applier_t *ap, const char *dir, size_t dlen, bool create, ctrk_error_t *err)
{
	if (ap->cache_fd >= 0 && dlen == ap->cache_len && memcmp(dir, ap->cache, dlen) == 0)
		return ap->cache_fd;
	/* The root is cached too (it is the caller's descriptor): the cache
	 * must follow every entry's directory, see cache_fd. */
	if (dlen == 0) {
		cache_set(ap, ap->root, "", 0);
		return ap->root;
	}
	char *d = ap->tmp;
	memmove(d, dir, dlen);
	d[dlen] = '\0';

	/* One name below the cached directory or the root: a lookup that
	 * follows no symlink finds what a resolution from the root would.  A
	 * symlink (ENOTDIR, ELOOP) takes the long way. */
	int fd = -1, from = -1;
	const char *rest = NULL;
	size_t cl = ap->cache_len;
	if (ap->cache_fd >= 0 && cl && dlen > cl && d[cl] == '/' && memcmp(d, ap->cache, cl) == 0) {
		from = ap->cache_fd;
		rest = d + cl + 1;
	} else {
		from = ap->root;
		rest = d;
	}
	if (!strchr(rest, '/')) {
		fd = openat(from, rest, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create && mkdirat(from, rest, 0755) == 0) {
			implicit_dir_mode(from, rest);
			created_add(ap, d, dlen);
			fd = openat(from, rest, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
	}
	if (fd < 0)
		fd = open_dir_in_root(ap, d);
	if (fd < 0 && errno == ENOENT && create && (fd = make_dirs(ap, d, err)) < 0)
		return -1;
	if (fd < 0 && !create && (errno == ENOENT || errno == ENOTDIR))
		return -2;
	if (fd < 0 && errno == ENOTDIR)
		return ctrk_error_set(err, 0, "'%s' is not a directory", d);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open directory '%s'", d);
	cache_set(ap, fd, d, dlen);
	return fd;
}

/* --- removal --------------------------------------------------------------- */

static int remove_at(applier_t *ap, int dirfd, const char *name, ctrk_error_t *err);

/* rm -rf of the directory NAME in PARENT: entered with O_NOFOLLOW, never into
 * another file system. */
static int
remove_tree(applier_t *ap, int parent, const char *name, ctrk_error_t *err)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open '%s' to remove it", name);
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_dev != ap->root_dev) {
		close(fd);
		return ctrk_error_set(err, EXDEV, "cannot remove '%s'", name);
	}
	DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return ctrk_error_errno(err, "cannot read '%s'", name);
	}
	int rc = 0;
	struct dirent *de;
	/* Removing entries already returned does not disturb readdir. */
	while (rc == 0 && (errno = 0, de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = remove_at(ap, dirfd(dir), de->d_name, err);
	}
	if (rc == 0 && errno)
		rc = ctrk_error_errno(err, "cannot read '%s'", name);
	closedir(dir);
	if (rc == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0)
		rc = ctrk_error_errno(err, "cannot remove '%s'", name);
	return rc;
}

/* Remove NAME in DIRFD whatever it is; a missing NAME is fine. */
static int
remove_at(applier_t *ap, int dirfd, const char *name, ctrk_error_t *err)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return ctrk_error_errno(err, "cannot remove '%s'", name);
	return remove_tree(ap, dirfd, name, err);
}

/* --- metadata -------------------------------------------------------------- */

static int
entry_owner(struct archive_entry *e, uid_t *uid, gid_t *gid, ctrk_error_t *err)
{
	la_int64_t u = archive_entry_uid(e), g = archive_entry_gid(e);
	/* (uid_t)-1 would mean "leave unchanged" to chown. */
	if (u < 0 || u >= UINT32_MAX || g < 0 || g >= UINT32_MAX)
		return ctrk_error_set(err, 0, "invalid owner %lld:%lld", (long long)u, (long long)g);
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

static void
entry_times(struct archive_entry *e, struct timespec ts[2])
{
	if (archive_entry_mtime_is_set(e)) {
		ts[1].tv_sec = archive_entry_mtime(e);
		ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	} else {
		ts[1].tv_sec = 0;
		ts[1].tv_nsec = UTIME_OMIT;
	}
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
}

/* Xattrs a layer may not set: overlayfs' own (opaque, redirect, metacopy,
 * origin...) would let a layer steer the overlay mount; its markers are made
 * here from whiteouts only. */
static bool
xattr_refused(const char *key)
{
	return strncmp(key, "trusted.overlay.", 16) == 0 || strncmp(key, "user.overlay.", 13) == 0;
}

/* lsetxattr() of NAME in DIRFD. */
static int
setxattr_at(int dirfd, const char *name, const char *key, const void *val, size_t len)
{
	struct {
		uint64_t value;
		uint32_t size;
		uint32_t flags;
	} args = {(uint64_t)(uintptr_t)val, (uint32_t)len, 0};
	if (syscall(SYS_setxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, key, &args, sizeof args) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	/* Before Linux 6.13: through the directory's /proc link; only NAME is
	 * looked up there, and lsetxattr does not follow it. */
	char proc[64 + NAME_MAX];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", dirfd, name);
	return lsetxattr(proc, key, val, len, 0);
}

/* The entry's xattrs on FD, or on NAME in DIRFD when FD is -1. */
static int
set_xattrs(struct archive_entry *e, int fd, int dirfd, const char *name, ctrk_error_t *err)
{
	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	const char *key;
	const void *val;
	size_t len;
	while (archive_entry_xattr_next(e, &key, &val, &len) == ARCHIVE_OK) {
		if (xattr_refused(key))
			continue;
		int r = fd >= 0 ? fsetxattr(fd, key, val, len, 0) : setxattr_at(dirfd, name, key, val, len);
		if (r < 0)
			return ctrk_error_errno(err, "cannot set xattr '%s'", key);
	}
	return 0;
}

/* Owner, mode and xattrs of an open file or directory, in that order:
 * chown clears setuid/setgid and security.capability. */
static int
set_meta_fd(struct archive_entry *e, int fd, ctrk_error_t *err)
{
	uid_t uid;
	gid_t gid;
	if (entry_owner(e, &uid, &gid, err) < 0)
		return -1;
	if (fchown(fd, uid, gid) < 0)
		return ctrk_error_errno(err, "cannot set owner %u:%u", uid, gid);
	if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return ctrk_error_errno(err, "cannot set mode");
	return set_xattrs(e, fd, -1, NULL, err);
}

/* The same for NAME in DIRFD that cannot be opened (symlinks, devices,
 * fifos), never following NAME. */
static int
set_meta_at(struct archive_entry *e, int dirfd, const char *name, bool symlink, ctrk_error_t *err)
{
	uid_t uid;
	gid_t gid;
	if (entry_owner(e, &uid, &gid, err) < 0)
		return -1;
	if (fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return ctrk_error_errno(err, "cannot set owner %u:%u", uid, gid);
	mode_t mode = archive_entry_perm(e) & 07777;
	if (!symlink && syscall(SYS_fchmodat2, dirfd, name, mode, AT_SYMLINK_NOFOLLOW) < 0) {
		/* Before Linux 6.6 there is no fchmodat that refuses to follow;
		 * NAME was just made by mknodat, so it is no symlink. */
		if (errno != ENOSYS || fchmodat(dirfd, name, mode, 0) < 0)
			return ctrk_error_errno(err, "cannot set mode");
	}
	if (set_xattrs(e, -1, dirfd, name, err) < 0)
		return -1;
	struct timespec ts[2];
	entry_times(e, ts);
	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return ctrk_error_errno(err, "cannot set times");
	return 0;
}

/* --- entries --------------------------------------------------------------- */

static int
pwrite_all(int fd, const char *p, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
write_data(applier_t *ap, struct archive_entry *e, int fd, ctrk_error_t *err)
{
	la_int64_t size = archive_entry_size(e), end = 0;
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	/* A sparse file comes in pieces at offsets: the holes between them
	 * are never written, and a last hole is made by the ftruncate. */
	while ((r = archive_read_data_block(ap->tar, &buf, &len, &off)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (off < 0 || off > size || (la_int64_t)len > size - off)
			return ctrk_error_set(err, 0, "data beyond the size of the file");
		if (pwrite_all(fd, buf, len, (off_t)off) < 0)
			return ctrk_error_errno(err, "cannot write");
		if (off + (la_int64_t)len > end)
			end = off + (la_int64_t)len;
	}
	if (r != ARCHIVE_EOF)
		return ctrk_error_set(err, archive_errno(ap->tar) > 0 ? archive_errno(ap->tar) : 0,
				      "cannot read the data: %s", archive_error_string(ap->tar));
	if (end != size && ftruncate(fd, (off_t)size) < 0)
		return ctrk_error_errno(err, "cannot set the size");
	return 0;
}

static int
make_file(applier_t *ap, struct archive_entry *e, int dirfd, const char *name, ctrk_error_t *err)
{
	/* O_EXCL|O_NOFOLLOW: never write through what is there (a symlink,
	 * another name of a hardlinked file): replace it. */
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	cleanup_close int fd = openat(dirfd, name, flags, 0600);
	if (fd < 0 && errno == EEXIST) {
		if (remove_at(ap, dirfd, name, err) < 0)
			return -1;
		fd = openat(dirfd, name, flags, 0600);
	}
	if (fd < 0)
		return ctrk_error_errno(err, "cannot create");
	if (write_data(ap, e, fd, err) < 0 || set_meta_fd(e, fd, err) < 0)
		return -1;
	struct timespec ts[2];
	entry_times(e, ts);
	if (futimens(fd, ts) < 0)
		return ctrk_error_errno(err, "cannot set times");
	return 0;
}

static int
make_dir(applier_t *ap, struct archive_entry *e, int dirfd, const char *name, ctrk_error_t *err)
{
	if (mkdirat(dirfd, name, 0700) < 0) {
		struct stat st;
		if (errno != EEXIST)
			return ctrk_error_errno(err, "cannot create directory");
		/* An existing directory is kept (its metadata updated),
		 * anything else is replaced, a symlink too. */
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return ctrk_error_errno(err, "cannot stat");
		if (!S_ISDIR(st.st_mode)) {
			if (remove_at(ap, dirfd, name, err) < 0)
				return -1;
			if (mkdirat(dirfd, name, 0700) < 0)
				return ctrk_error_errno(err, "cannot create directory");
		}
	}
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open directory");
	if (set_meta_fd(e, fd, err) < 0) {
		close(fd);
		return -1;
	}
	struct timespec ts[2];
	entry_times(e, ts);
	dirtime_add(ap, ap->path, strlen(ap->path), ts);
	/* The next entries are most likely its children. */
	cache_set(ap, fd, ap->path, strlen(ap->path));
	return 0;
}

static int
make_symlink(applier_t *ap, struct archive_entry *e, int dirfd, const char *name, ctrk_error_t *err)
{
	/* The target is kept as it is: it is resolved only when used, inside
	 * the container's root. */
	const char *target = archive_entry_symlink(e);
	if (!target || !*target)
		return ctrk_error_set(err, 0, "a symlink without a target");
	if (symlinkat(target, dirfd, name) < 0) {
		if (errno != EEXIST)
			return ctrk_error_errno(err, "cannot create symlink");
		if (remove_at(ap, dirfd, name, err) < 0)
			return -1;
		if (symlinkat(target, dirfd, name) < 0)
			return ctrk_error_errno(err, "cannot create symlink");
	}
	return set_meta_at(e, dirfd, name, true, err);
}

static int
make_node(applier_t *ap, struct archive_entry *e, int dirfd, const char *name, ctrk_error_t *err)
{
	mode_t type = archive_entry_filetype(e) == AE_IFCHR ? S_IFCHR
		      : archive_entry_filetype(e) == AE_IFBLK ? S_IFBLK
							      : S_IFIFO;
	dev_t dev = 0;
	if (type != S_IFIFO) {
		/* The kernel keeps 12 bits of major and 20 of minor (new_decode_dev):
		 * anything larger would be cut to another device, not refused. */
		unsigned long long maj = archive_entry_rdevmajor(e), min = archive_entry_rdevminor(e);
		if (maj >= 1ULL << 12 || min >= 1ULL << 20)
			return ctrk_error_set(err, 0, "device number %llu:%llu is out of range (major < 4096, minor < 1048576)",
					      maj, min);
		dev = makedev(maj, min);
	}
	if (mknodat(dirfd, name, type | 0600, dev) < 0) {
		if (errno != EEXIST)
			return ctrk_error_errno(err, "cannot create node");
		if (remove_at(ap, dirfd, name, err) < 0)
			return -1;
		if (mknodat(dirfd, name, type | 0600, dev) < 0)
			return ctrk_error_errno(err, "cannot create node");
	}
	return set_meta_at(e, dirfd, name, false, err);
}

static int
make_hardlink(applier_t *ap, const char *link, int dirfd, const char *name, ctrk_error_t *err)
{
	size_t tlen, tdlen;
	if (clean_path("hardlink target", link, ap->target, &tlen, err) < 0)
		return -1;
	if (tlen == 0)
		return ctrk_error_set(err, 0, "hardlink target '%s' is a directory", link);
	const char *tname = split_path(ap->target, tlen, &tdlen);

	/* The target's directory, without disturbing the cache. */
	int tdirfd = tdlen == 0 ? ap->root : ap->cache_fd;
	cleanup_close int own = -1;
	if (tdlen && (tdlen != ap->cache_len || memcmp(ap->target, ap->cache, tdlen) != 0)) {
		ap->target[tdlen] = '\0';
		own = open_dir_in_root(ap, ap->target);
		if (tdlen)
			ap->target[tdlen] = '/';
		if (own < 0 && (errno == ENOENT || errno == ENOTDIR))
			return ctrk_error_set(err, 0, "hardlink target '%s' does not exist", ap->target);
		if (own < 0)
			return ctrk_error_errno(err, "hardlink target '%s'", ap->target);
		tdirfd = own;
	}
	struct stat st;
	if (fstatat(tdirfd, tname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return ctrk_error_set(err, 0, "hardlink target '%s' does not exist", ap->target);
		return ctrk_error_errno(err, "hardlink target '%s'", ap->target);
	}
	if (S_ISDIR(st.st_mode))
		return ctrk_error_set(err, 0, "hardlink target '%s' is a directory", ap->target);
	/* linkat without AT_SYMLINK_FOLLOW links the name itself: a symlink
	 * target gives a second name of the symlink, as link(2) does. */
	if (linkat(tdirfd, tname, dirfd, name, 0) == 0)
		return 0;
	if (errno != EEXIST)
		return ctrk_error_errno(err, "cannot link to '%s'", ap->target);
	struct stat old;
	if (fstatat(dirfd, name, &old, AT_SYMLINK_NOFOLLOW) == 0 && old.st_dev == st.st_dev && old.st_ino == st.st_ino)
		return 0; /* already that file: a link to itself */
	if (remove_at(ap, dirfd, name, err) < 0)
		return -1;
	if (linkat(tdirfd, tname, dirfd, name, 0) < 0)
		return ctrk_error_errno(err, "cannot link to '%s'", ap->target);
	return 0;
}

/* ".wh..wh..opq" in the directory DIR (DLEN bytes). */
static int
apply_opaque(applier_t *ap, const char *dir, size_t dlen, ctrk_error_t *err)
{
	bool overlay = ap->whiteouts == APPLY_WHITEOUTS_OVERLAY;
	int pfd = resolve_dir(ap, dir, dlen, overlay, err);
	if (pfd == -2)
		return 0; /* nothing below to hide */
	if (pfd < 0)
		return -1;
	/* The O_PATH descriptor can look up "." but not carry xattrs. */
	int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open directory");
	if (overlay) {
		int rc = 0;
		if (fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
			rc = ctrk_error_errno(err, "cannot set xattr '%s'", OVERLAY_OPAQUE_XATTR);
		close(fd);
		return rc;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return ctrk_error_errno(err, "cannot read directory");
	}
	/* The marker hides the lower layers' children only: what this layer
	 * put there already (before the marker) stays. */
	char *child = ap->tmp;
	memcpy(child, dir, dlen);
	size_t base = dlen ? dlen + 1 : 0;
	if (dlen)
		child[dlen] = '/';
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		size_t n = strlen(de->d_name);
		if (base + n >= PATH_MAX)
			continue; /* cannot be one of this layer's paths */
		memcpy(child + base, de->d_name, n + 1);
		if (created_has(ap, child, base + n))
			continue;
		rc = remove_at(ap, dirfd(d), de->d_name, err);
	}
	if (rc == 0 && errno)
		rc = ctrk_error_errno(err, "cannot read directory");
	closedir(d);
	return rc;
}

/* A whiteout BASE in the directory DIR (DLEN bytes). */
static int
apply_whiteout(applier_t *ap, const char *dir, size_t dlen, const char *base, ctrk_error_t *err)
{
	if (strcmp(base, WH_OPAQUE) == 0)
		return apply_opaque(ap, dir, dlen, err);
	if (strncmp(base, WH_META_PREFIX, sizeof WH_META_PREFIX - 1) == 0)
		return 0; /* other aufs metadata (.wh..wh.plnk, .wh..wh.aufs) */
	const char *victim = base + sizeof WH_PREFIX - 1;
	if (!*victim || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
		return ctrk_error_set(err, 0, "invalid whiteout");

	/* A whiteout hides the lower layers' NAME, never this layer's own. */
	size_t vlen = strlen(victim);
	char *vpath = ap->target;
	memcpy(vpath, dir, dlen);
	size_t off = dlen ? dlen + 1 : 0;
	if (dlen)
		vpath[dlen] = '/';
	memcpy(vpath + off, victim, vlen + 1);
	if (created_has(ap, vpath, off + vlen))
		return 0;

	bool overlay = ap->whiteouts == APPLY_WHITEOUTS_OVERLAY;
	int pfd = resolve_dir(ap, dir, dlen, overlay, err);
	if (pfd == -2)
		return 0;
	if (pfd < 0 || remove_at(ap, pfd, victim, err) < 0)
		return -1;
	if (overlay && mknodat(pfd, victim, S_IFCHR | 0000, makedev(0, 0)) < 0)
		return ctrk_error_errno(err, "cannot create whiteout for '%s'", victim);
	return 0;
}

static int
apply_entry(applier_t *ap, struct archive_entry *e, ctrk_error_t *err)
{
	const char *raw = archive_entry_pathname(e);
	if (!raw)
		return ctrk_error_set(err, 0, "layer entry without a name");
	size_t len, dlen;
	if (clean_path("layer entry", raw, ap->path, &len, err) < 0)
		return -1;
	const char *link = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	if (len == 0) {
		/* "./": the root itself, whose metadata is the caller's */
		if (type == AE_IFDIR && !link)
			return 0;
		return ctrk_error_set(err, 0, "layer entry '%.256s': the root is not a directory", raw);
	}
	const char *name = split_path(ap->path, len, &dlen);
	int rc;
	if (strncmp(name, WH_PREFIX, sizeof WH_PREFIX - 1) == 0) {
		rc = apply_whiteout(ap, ap->path, dlen, name, err);
	} else {
		int dirfd = resolve_dir(ap, ap->path, dlen, true, err);
		if (dirfd < 0)
			rc = -1;
		else if (link)
			rc = make_hardlink(ap, link, dirfd, name, err);
		else if (type == AE_IFREG)
			rc = make_file(ap, e, dirfd, name, err);
		else if (type == AE_IFDIR)
			rc = make_dir(ap, e, dirfd, name, err);
		else if (type == AE_IFLNK)
			rc = make_symlink(ap, e, dirfd, name, err);
		else if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO)
			rc = make_node(ap, e, dirfd, name, err);
		else
			rc = ctrk_error_set(err, 0, "unsupported type 0%o", (unsigned)type);
		if (rc == 0)
			created_add(ap, ap->path, len);
	}
	if (rc < 0)
		return ctrk_error_wrap(err, "layer entry '%.256s%s'", ap->path, len > 256 ? "..." : "");
	return 0;
}

/* Directories' times last: writing their children changed them. */
static int
set_dir_times(applier_t *ap, ctrk_error_t *err)
{
	for (size_t i = 0; i < ap->ndirs; i++) {
		const dirtime_t *t = &ap->dirs[i];
		size_t dlen;
		/* Copied: the arena may move while resolving. */
		memcpy(ap->path, ap->strs.buf + t->off, t->len + 1);
		const char *name = split_path(ap->path, t->len, &dlen);
		int dirfd = resolve_dir(ap, ap->path, dlen, false, err);
		if (dirfd == -2)
			continue; /* removed since */
		if (dirfd < 0)
			return -1;
		/* Opened, not utimensat'd by name: a later entry may have put
		 * a symlink or a file there, whose times are its own. */
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
			continue;
		if (fd < 0 || futimens(fd, t->ts) < 0) {
			ctrk_error_errno(err, "layer entry '%s': cannot set times", ap->path);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/* TAR's read callback: the next block of the uncompressed stream. */
static la_ssize_t
feed_tar(struct archive *tar, void *arg, const void **buf)
{
	applier_t *ap = arg;
	ssize_t n = apply_stream_next(ap->stream, buf, &ap->stream_err);
	if (n < 0)
		archive_set_error(tar, ap->stream_err.errnum, "%s", ap->stream_err.msg);
	return n;
}

static int
apply_all(applier_t *ap, int layer_fd, char diff_id[CTRK_DIGEST_LEN + 1], ctrk_error_t *err)
{
	if (!(ap->stream = apply_stream_open(layer_fd, err)))
		return -1;
	archive_read_support_format_tar(ap->tar); /* ustar, pax, gnu */
	/* The format is detected here already. */
	if (archive_read_open(ap->tar, ap, NULL, feed_tar, NULL) != ARCHIVE_OK)
		return ap->stream_err.msg[0] ? ctrk_error_set(err, 0, "%s", ap->stream_err.msg)
					     : ctrk_error_set(err, 0, "the layer is not a tar archive: %s",
							      archive_error_string(ap->tar));
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(ap->tar, &e);
		if (r == ARCHIVE_EOF)
			break;
		/* WARN: e.g. a name not valid in the locale's charset; the
		 * bytes are still there. */
		if (r < ARCHIVE_WARN && ap->stream_err.msg[0])
			return ctrk_error_set(err, 0, "%s", ap->stream_err.msg);
		if (r < ARCHIVE_WARN && ap->stats->entries == 0)
			return ctrk_error_set(err, 0, "the layer is not a tar archive: %s",
					      archive_error_string(ap->tar));
		if (r < ARCHIVE_WARN)
			return ctrk_error_set(err, 0, "cannot read the layer after %lld entries: %s",
					      ap->stats->entries, archive_error_string(ap->tar));
		ap->stats->entries++;
		if (apply_entry(ap, e, err) < 0)
			return -1;
	}
	if (set_dir_times(ap, err) < 0)
		return -1;
	return apply_stream_finish(ap->stream, diff_id, &ap->stats->bytes, err);
}

int
apply_layer(int root_fd, int layer_fd, apply_whiteouts_t whiteouts, char diff_id[CTRK_DIGEST_LEN + 1],
	    apply_stats_t *stats, ctrk_error_t *err)
{
	struct stat st;
	if (fstat(root_fd, &st) < 0)
		return ctrk_error_errno(err, "cannot apply the layer");
	if (!S_ISDIR(st.st_mode))
		return ctrk_error_set(err, ENOTDIR, "cannot apply the layer");
	*stats = (apply_stats_t){0};

	applier_t *ap = ctrk_xcalloc(1, sizeof *ap);
	ap->root = root_fd;
	ap->root_dev = st.st_dev;
	ap->whiteouts = whiteouts;
	ap->stats = stats;
	ap->cache_fd = -1;
	ap->tar = archive_read_new();
	int rc = ap->tar ? apply_all(ap, layer_fd, diff_id, err) : ctrk_error_set(err, ENOMEM, "cannot apply the layer");

	/* The tar reader first: it reads from the stream. */
	if (ap->tar)
		archive_read_free(ap->tar);
	apply_stream_free(ap->stream);
	cache_set(ap, -1, "", 0);
	free(ap->strs.buf);
	free(ap->created.slots);
	free(ap->dirs);
	free(ap);
	return rc;
}
