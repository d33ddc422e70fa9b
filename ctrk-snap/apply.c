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
#include "extract.h"
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

/* The longest path a layer may make below the root.  Below a snapshot's
 * own directory a longer one would pass PATH_MAX, where the tools that copy
 * and remove snapshots (cp -a, nftw) fail; the rest leaves room for the
 * store's own path.  One limit for both drivers, whatever the store's path,
 * so that both accept the same layers. */
#define LAYER_PATH_MAX 3072

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

/* A list of paths (offsets into the arena). */
typedef struct pathlist {
	size_t *off;
	size_t n, cap;
} pathlist_t;

/* How resolve_dir() treats the names on the way. */
typedef enum walk_policy {
	/* Nothing is made: a missing name, or one from below (see
	 * applier.created), ends the walk (-2). */
	WALK_LOOKUP,
	/* Missing directories are made; something from below ends it. */
	WALK_MKDIR,
	/* Missing directories are made, and something from below that is
	 * not a directory is replaced by one. */
	WALK_CREATE,
} walk_policy_t;

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
	 * happens, it is a directory inside the root.  CACHE is the path as
	 * the layer names it, CACHE_REAL where it led (no symlink in it). */
	int cache_fd;
	size_t cache_len, cache_real_len;
	char cache[PATH_MAX], cache_real[PATH_MAX];

	char path[PATH_MAX];   /* the entry's cleaned path */
	char real[PATH_MAX];   /* its directory, resolved (resolve_dir()) */
	char rpath[PATH_MAX];  /* the entry, resolved: real + "/" + name */
	char target[PATH_MAX]; /* a hardlink's cleaned target */
	char treal[PATH_MAX];  /* its directory, resolved */
	char tmp[PATH_MAX];    /* scratch: whiteout victims */
	char walk[2 * PATH_MAX]; /* scratch of walk() */

	arena_t strs;
	/* Every (resolved) path this layer made.  What is not in it was there
	 * before: a lower layer's (DELETE), or a whiteout (OVERLAY). */
	pathset_t created;
	pathset_t whited; /* names this layer whited out */
	pathset_t listed; /* directories the layer lists */
	pathset_t above;  /* directories above what the layer made */
	pathlist_t implicit, whiteout_list; /* OVERLAY: for apply_fixups_t */
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
set_add(applier_t *ap, pathset_t *set, const char *s, size_t len)
{
	if (2 * (set->n + 1) > set->cap)
		pathset_grow(set, &ap->strs);
	uint64_t h = path_hash(s, len);
	pathset_slot_t *slot = pathset_find(set, &ap->strs, s, len, h);
	if (slot->off != SIZE_MAX)
		return;
	*slot = (pathset_slot_t){.hash = h, .off = arena_add(&ap->strs, s, len), .len = len};
	set->n++;
}

static bool
set_has(const applier_t *ap, const pathset_t *set, const char *s, size_t len)
{
	if (!set->cap)
		return false;
	return pathset_find(set, &ap->strs, s, len, path_hash(s, len))->off != SIZE_MAX;
}

static void
created_add(applier_t *ap, const char *s, size_t len)
{
	set_add(ap, &ap->created, s, len);
	/* Its ancestors, longest first: one already there has its own. */
	for (const char *slash; (slash = memrchr(s, '/', len));) {
		len = (size_t)(slash - s);
		if (set_has(ap, &ap->above, s, len))
			break;
		set_add(ap, &ap->above, s, len);
	}
}

/* Did this layer make PATH, or something below it? */
static bool
made_or_above(const applier_t *ap, const char *s, size_t len)
{
	return set_has(ap, &ap->created, s, len) || set_has(ap, &ap->above, s, len);
}

static bool
created_has(const applier_t *ap, const char *s, size_t len)
{
	return set_has(ap, &ap->created, s, len);
}

static void
list_add(applier_t *ap, pathlist_t *l, const char *s, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->off = ctrk_xrealloc(l->off, l->cap * sizeof *l->off);
	}
	l->off[l->n++] = arena_add(&ap->strs, s, len);
}

/* DIR (DLEN bytes) + "/" + NAME into OUT (PATH_MAX bytes); its length, or
 * -1 when too long. */
static ssize_t
join_path(char *out, const char *dir, size_t dlen, const char *name)
{
	size_t n = strlen(name);
	size_t off = dlen ? dlen + 1 : 0;
	if (off + n >= LAYER_PATH_MAX)
		return -1;
	memmove(out, dir, dlen);
	if (dlen)
		out[dlen] = '/';
	memcpy(out + off, name, n + 1);
	return (ssize_t)(off + n);
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
			/* Refused here, for both drivers alike: the kernel would refuse
			 * it at one step or another, and the overlay driver's steps
			 * differ from the native one's (found by fuzz-layer). */
			if (clen > NAME_MAX)
				return ctrk_error_set(err, ENAMETOOLONG, "%s '%.64s...' has a name longer than %d bytes",
						      what, in, NAME_MAX);
			if (n + clen + 2 > LAYER_PATH_MAX)
				return ctrk_error_set(err, ENAMETOOLONG, "%s '%.64s...' is longer than %d bytes", what,
						      in, LAYER_PATH_MAX);
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

static int remove_at(applier_t *ap, int dirfd, const char *name, ctrk_error_t *err);

static void
cache_set(applier_t *ap, int fd, const char *dir, size_t dlen, const char *real, size_t rlen)
{
	if (ap->cache_fd >= 0 && ap->cache_fd != ap->root)
		close(ap->cache_fd);
	ap->cache_fd = fd;
	memmove(ap->cache, dir, dlen);
	ap->cache_len = dlen;
	memmove(ap->cache_real, real, rlen);
	ap->cache_real_len = rlen;
}

/* Make the directory NAME in DIRFD (resolved: PATH, LEN bytes) that an
 * entry below it needs and returns it opened O_PATH.  It is 0755, as tar
 * and containerd make it, whatever the caller's umask: under umask 077 a
 * non-root container user could not reach the files below it.  A directory
 * the layer lists gets its own mode later. */
static int
make_implicit(applier_t *ap, int dirfd, const char *name, const char *path, size_t len, ctrk_error_t *err)
{
	if (mkdirat(dirfd, name, 0755) < 0)
		return ctrk_error_errno(err, "cannot create directory '%s'", path);
	(void)fchmodat(dirfd, name, 0755, 0);
	created_add(ap, path, len);
	if (ap->whiteouts == APPLY_WHITEOUTS_OVERLAY && set_has(ap, &ap->whited, path, len)) {
		/* It takes the place of a name this layer whited out: nothing
		 * from below may show through it, as nothing does in DELETE
		 * mode, where the old one was removed. */
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0) {
			ctrk_error_errno(err, "cannot set xattr '%s' on '%s'", OVERLAY_OPAQUE_XATTR, path);
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	} else if (ap->whiteouts == APPLY_WHITEOUTS_OVERLAY) {
		list_add(ap, &ap->implicit, path, len);
	}
	int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open directory '%s'", path);
	return fd;
}

/* The directory REAL[0..N) (no symlink in it) opened again from the root. */
static int
reopen_real(applier_t *ap, char *real, size_t n, ctrk_error_t *err)
{
	char c = real[n];
	real[n] = '\0';
	int fd = ctrk_inroot_open(ap->root, real, O_PATH | O_DIRECTORY, CTRK_INROOT_NO_SYMLINKS | CTRK_INROOT_NO_XDEV,
				  err);
	real[n] = c;
	return fd;
}

/* Resolve the directory PATH (PLEN bytes) inside the root one name at a
 * time, as ctrk_inroot_open() does, but following only what this layer
 * made: a symlink of a lower layer (or anything else from below) in the
 * path is never followed, it ends the walk or, under WALK_CREATE, is
 * replaced by a directory.  So the overlay driver, which cannot see the
 * lower layers while applying, and the native one, which sees them, make the
 * same tree.  Every step is one name, O_NOFOLLOW, below a directory already
 * inside the root; an absolute symlink target starts again at the root and
 * ".." never climbs above it.  The resolved path goes to REAL (PATH_MAX
 * bytes, at most LAYER_PATH_MAX used), its length to *RLEN.  Returns a
 * descriptor (O_PATH) the caller closes, -1 on error, -2 when the walk ends
 * (see walk_policy_t). */
static int
walk(applier_t *ap, const char *path, size_t plen, walk_policy_t policy, char *real, size_t *rlen,
     ctrk_error_t *err)
{
	char *rest = ap->walk;
	memcpy(rest, path, plen);
	rest[plen] = '\0';
	size_t pos = 0, n = 0;
	int links = 0, nfd = -1;
	int fd = openat(ap->root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open the root");
	while (rest[pos]) {
		char *end = strchrnul(rest + pos, '/');
		size_t clen = (size_t)(end - (rest + pos));
		size_t next = *end ? (size_t)(end - rest) + 1 : (size_t)(end - rest);
		char name[NAME_MAX + 1];
		if (clen > NAME_MAX) {
			close(fd);
			return ctrk_error_set(err, ENAMETOOLONG, "'%.64s...'", rest + pos);
		}
		memcpy(name, rest + pos, clen);
		name[clen] = '\0';
		pos = next;
		if (clen == 0 || strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			if (n == 0)
				continue;
			char *slash = memrchr(real, '/', n);
			n = slash ? (size_t)(slash - real) : 0;
			close(fd);
			if ((fd = reopen_real(ap, real, n, err)) < 0)
				return -1;
			continue;
		}
		if ((n ? n + 1 : 0) + clen + 1 > LAYER_PATH_MAX) {
			close(fd);
			return ctrk_error_set(err, ENAMETOOLONG, "'%.64s...' leads to a path longer than %d bytes",
					      path, LAYER_PATH_MAX);
		}
		size_t clen_all = (n ? n + 1 : 0) + clen;
		if (n)
			real[n] = '/';
		memcpy(real + (n ? n + 1 : 0), name, clen + 1);

		struct stat st;
		nfd = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if ((nfd < 0 && errno != ENOENT) || (nfd >= 0 && fstat(nfd, &st) < 0)) {
			ctrk_error_errno(err, "cannot open '%s'", real);
			goto fail;
		}
		if (nfd >= 0 && S_ISDIR(st.st_mode)) {
			if (st.st_dev != ap->root_dev) {
				ctrk_error_set(err, EXDEV, "cannot open directory '%s'", real);
				goto fail;
			}
		} else if (nfd >= 0 && created_has(ap, real, clen_all)) {
			if (!S_ISLNK(st.st_mode) && policy != WALK_CREATE) {
				close(nfd);
				close(fd);
				return -2; /* nothing below it to white out or link */
			}
			if (!S_ISLNK(st.st_mode)) {
				ctrk_error_set(err, 0, "'%s' is not a directory", real);
				goto fail;
			}
			/* This layer's symlink: splice its target in. */
			char target[PATH_MAX];
			ssize_t tl = readlinkat(nfd, "", target, sizeof target);
			close(nfd);
			nfd = -1;
			if (tl < 0 || ++links > 40 || (size_t)tl >= sizeof target ||
			    (size_t)tl + 1 + strlen(rest + pos) >= sizeof ap->walk) {
				ctrk_error_set(err, tl < 0 ? errno : ELOOP, "cannot follow '%s'", real);
				goto fail;
			}
			size_t remain = strlen(rest + pos);
			memmove(rest + tl + 1, rest + pos, remain + 1);
			memcpy(rest, target, (size_t)tl);
			rest[tl] = '/';
			pos = 0;
			if (target[0] == '/') {
				n = 0;
				close(fd);
				if ((fd = openat(ap->root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
					return ctrk_error_errno(err, "cannot open the root");
			}
			real[n] = '\0';
			continue;
		} else {
			/* Missing, or from below and no directory.  Also when a
			 * symlink of this layer leads here: in the overlay
			 * driver's directory, what it points to may be missing
			 * only there, so its target is made as containerd makes
			 * it, in both drivers. */
			if (policy == WALK_LOOKUP || (nfd >= 0 && policy == WALK_MKDIR)) {
				if (nfd >= 0)
					close(nfd);
				close(fd);
				return -2;
			}
			if (nfd >= 0) {
				close(nfd);
				nfd = -1;
				if (remove_at(ap, fd, name, err) < 0)
					goto fail;
			}
			if ((nfd = make_implicit(ap, fd, name, real, clen_all, err)) < 0)
				goto fail;
		}
		close(fd);
		fd = nfd;
		nfd = -1;
		n = clen_all;
	}
	real[n] = '\0';
	*rlen = n;
	return fd;
fail:
	if (nfd >= 0)
		close(nfd);
	close(fd);
	return -1;
}

/* The directory DIR (a cleaned path, DLEN bytes) resolved inside the root
 * (see walk()); where it led in AP->real.  Returns a descriptor owned by AP
 * (valid until the next call), -1 on error, or -2 when the walk ended. */
static int
resolve_dir(applier_t *ap, const char *dir, size_t dlen, walk_policy_t policy, ctrk_error_t *err)
{
	if (ap->cache_fd >= 0 && dlen == ap->cache_len && memcmp(dir, ap->cache, dlen) == 0) {
		memcpy(ap->real, ap->cache_real, ap->cache_real_len);
		ap->real[ap->cache_real_len] = '\0';
		return ap->cache_fd;
	}
	/* The root is cached too (it is the caller's descriptor): the cache
	 * must follow every entry's directory, see cache_fd. */
	if (dlen == 0) {
		cache_set(ap, ap->root, "", 0, "", 0);
		ap->real[0] = '\0';
		return ap->root;
	}
	/* One name below the cached directory or the root, a directory there:
	 * a lookup that follows nothing finds what the walk would.  Anything
	 * else takes the walk. */
	int fd = -1;
	size_t cl = ap->cache_len;
	const char *rest = dir;
	int from = ap->root;
	const char *from_real = "";
	size_t from_rlen = 0;
	if (ap->cache_fd >= 0 && cl && dlen > cl && dir[cl] == '/' && memcmp(dir, ap->cache, cl) == 0) {
		from = ap->cache_fd;
		rest = dir + cl + 1;
		from_real = ap->cache_real;
		from_rlen = ap->cache_real_len;
	}
	size_t restlen = dlen - (size_t)(rest - dir);
	if (!memchr(rest, '/', restlen) && restlen <= NAME_MAX) {
		char name[NAME_MAX + 1];
		memcpy(name, rest, restlen);
		name[restlen] = '\0';
		fd = openat(from, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && join_path(ap->real, from_real, from_rlen, name) < 0) {
			close(fd);
			fd = -1;
		}
	}
	size_t rlen = 0;
	if (fd >= 0)
		rlen = strlen(ap->real);
	else if ((fd = walk(ap, dir, dlen, policy, ap->real, &rlen, err)) < 0)
		return fd;
	cache_set(ap, fd, dir, dlen, ap->real, rlen);
	return fd;
}

/* --- removal --------------------------------------------------------------- */

/* Remove NAME in DIRFD whatever it is; a missing NAME is fine. */
static int
remove_at(applier_t *ap, int dirfd, const char *name, ctrk_error_t *err)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return ctrk_error_errno(err, "cannot remove '%s'", name);
	/* A directory: only one of the snapshot's own file system (the tree
	 * below it is held to that by ctrk_remove_tree_at). */
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : ctrk_error_errno(err, "cannot remove '%s'", name);
	if (st.st_dev != ap->root_dev)
		return ctrk_error_set(err, EXDEV, "cannot remove '%s'", name);
	if (ctrk_remove_tree_at(dirfd, name, err) < 0)
		return ctrk_error_wrap(err, "cannot remove '%s'", name);
	return 0;
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

/* Remove every xattr of the directory FD but the kernel's own
 * (security.selinux) and overlay's: its new metadata replaces the old, as
 * in the overlay driver, where the directory is a new one. */
static int
clear_xattrs(int fd, ctrk_error_t *err)
{
	char names[65536];
	ssize_t len = flistxattr(fd, names, sizeof names);
	if (len < 0)
		return errno == ENOTSUP ? 0 : ctrk_error_errno(err, "cannot list xattrs");
	for (ssize_t off = 0; off < len; off += (ssize_t)strlen(names + off) + 1) {
		const char *key = names + off;
		if (xattr_refused(key) || strcmp(key, "security.selinux") == 0)
			continue;
		if (fremovexattr(fd, key) < 0 && errno != ENODATA)
			return ctrk_error_errno(err, "cannot remove xattr '%s'", key);
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
	bool existing = false, replaced = false;
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
			/* What it replaces hid what was below (in DELETE
			 * mode, removed it): so does the new directory. */
			replaced = true;
		} else {
			existing = true;
		}
	}
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open directory");
	/* The entry's xattrs replace those there were. */
	if (existing && clear_xattrs(fd, err) < 0) {
		close(fd);
		return -1;
	}
	size_t rlen = strlen(ap->rpath);
	if (set_meta_fd(e, fd, err) < 0 ||
	    (ap->whiteouts == APPLY_WHITEOUTS_OVERLAY && (replaced || set_has(ap, &ap->whited, ap->rpath, rlen)) &&
	     fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0 &&
	     ctrk_error_errno(err, "cannot set xattr '%s'", OVERLAY_OPAQUE_XATTR))) {
		/* (A directory over a name this layer whited out hides what
		 * was below, see make_implicit().) */
		close(fd);
		return -1;
	}
	set_add(ap, &ap->listed, ap->rpath, rlen);
	struct timespec ts[2];
	entry_times(e, ts);
	dirtime_add(ap, ap->rpath, rlen, ts);
	/* The next entries are most likely its children. */
	cache_set(ap, fd, ap->path, strlen(ap->path), ap->rpath, rlen);
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
			return ctrk_error_set(err, 0,
					      "device number %llu:%llu is out of range (major < 4096, minor < 1048576)",
					      maj, min);
		/* overlayfs reads a 0:0 character device as a whiteout: the
		 * overlay driver would hide what the native one shows as a
		 * device.  Whiteouts are ".wh." names in a layer. */
		if (type == S_IFCHR && maj == 0 && min == 0)
			return ctrk_error_set(err, 0,
					      "a character device 0:0 is an overlay whiteout, not a file of a layer");
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

	/* The target's directory, without disturbing the cache (DIRFD is
	 * in it), found as an entry's is; never made. */
	size_t trlen = 0;
	int tdirfd = tdlen == 0 ? ap->root : walk(ap, ap->target, tdlen, WALK_LOOKUP, ap->treal, &trlen, err);
	if (tdirfd == -1)
		return ctrk_error_wrap(err, "hardlink target '%s'", ap->target);
	if (tdlen == 0)
		ap->treal[0] = '\0';
	/* Only there to close the walked directory on return. */
	cleanup_close int own __attribute__((unused)) = tdirfd == ap->root ? -1 : tdirfd;
	/* Only a file this layer made: a lower layer's is not there in the
	 * overlay driver's directory, so neither driver links to one. */
	struct stat st;
	ssize_t full = tdirfd < 0 ? -1 : join_path(ap->tmp, ap->treal, trlen, tname);
	if (tdirfd == -2 || full < 0 || !created_has(ap, ap->tmp, (size_t)full) ||
	    fstatat(tdirfd, tname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (tdirfd >= 0 && full >= 0 && errno != ENOENT && created_has(ap, ap->tmp, (size_t)full))
			return ctrk_error_errno(err, "hardlink target '%s'", ap->target);
		return ctrk_error_set(err, 0, "hardlink target '%s' does not exist in this layer", ap->target);
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

/* The walk for a whiteout's directory: in OVERLAY mode it is made (the
 * marker must be somewhere; apply_overlay_fixup() removes what no lower
 * layer needed), but never over a name this layer whited out; in DELETE
 * mode nothing is made, there is nothing to delete. */
static walk_policy_t
whiteout_policy(const applier_t *ap)
{
	return ap->whiteouts == APPLY_WHITEOUTS_OVERLAY ? WALK_MKDIR : WALK_LOOKUP;
}

/* DELETE mode, an opaque marker in the directory FD (taken; resolved path
 * in AP->tmp, LEN bytes): what the layers below put there goes, what this
 * layer made stays.  A directory this layer made or put something into is
 * kept but emptied of the lower layers' files, all the way down, and one it
 * only put something into becomes what the overlay driver shows there: a
 * directory the layer made for its entries (0755 root:root, no xattrs). */
static int
hide_lower(applier_t *ap, int fd, size_t len, ctrk_error_t *err)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return ctrk_error_errno(err, "cannot read directory");
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		ssize_t n = join_path(ap->tmp, ap->tmp, len, de->d_name);
		if (n < 0) {
			ap->tmp[len] = '\0';
			rc = remove_at(ap, dirfd(d), de->d_name, err);
			continue;
		}
		bool made = created_has(ap, ap->tmp, (size_t)n), above = set_has(ap, &ap->above, ap->tmp, (size_t)n);
		int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
		int sub = made || above ? openat(dirfd(d), de->d_name, flags) : -1;
		if (sub >= 0 && !made) {
			if (fchown(sub, 0, 0) < 0 || fchmod(sub, 0755) < 0)
				rc = ctrk_error_errno(err, "cannot reset '%s'", ap->tmp);
			else
				rc = clear_xattrs(sub, err);
			if (rc < 0)
				close(sub);
		}
		if (rc == 0 && sub >= 0)
			rc = hide_lower(ap, sub, (size_t)n, err);
		else if (rc == 0 && !made)
			rc = remove_at(ap, dirfd(d), de->d_name, err);
		ap->tmp[len] = '\0';
	}
	if (rc == 0 && errno)
		rc = ctrk_error_errno(err, "cannot read directory");
	closedir(d);
	return rc;
}

/* ".wh..wh..opq" in the directory DIR (DLEN bytes). */
static int
apply_opaque(applier_t *ap, const char *dir, size_t dlen, ctrk_error_t *err)
{
	bool overlay = ap->whiteouts == APPLY_WHITEOUTS_OVERLAY;
	int pfd = resolve_dir(ap, dir, dlen, whiteout_policy(ap), err);
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
	size_t rlen = strlen(ap->real);
	memcpy(ap->tmp, ap->real, rlen + 1);
	return hide_lower(ap, fd, rlen, err);
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

	bool overlay = ap->whiteouts == APPLY_WHITEOUTS_OVERLAY;
	int pfd = resolve_dir(ap, dir, dlen, whiteout_policy(ap), err);
	if (pfd == -2)
		return 0;
	if (pfd < 0)
		return -1;
	/* A whiteout hides the lower layers' NAME, never this layer's own. */
	ssize_t vlen = join_path(ap->tmp, ap->real, strlen(ap->real), victim);
	if (vlen < 0)
		return ctrk_error_set(err, ENAMETOOLONG, "whiteout");
	if (made_or_above(ap, ap->tmp, (size_t)vlen))
		return 0; /* (in OVERLAY mode it is the layer's own directory) */
	set_add(ap, &ap->whited, ap->tmp, (size_t)vlen);
	if (remove_at(ap, pfd, victim, err) < 0)
		return -1;
	if (!overlay)
		return 0;
	if (mknodat(pfd, victim, S_IFCHR | 0000, makedev(0, 0)) < 0)
		return ctrk_error_errno(err, "cannot create whiteout for '%s'", victim);
	list_add(ap, &ap->whiteout_list, ap->tmp, (size_t)vlen);
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
		int dirfd = resolve_dir(ap, ap->path, dlen, WALK_CREATE, err);
		ssize_t rlen = dirfd < 0 ? -1 : join_path(ap->rpath, ap->real, strlen(ap->real), name);
		if (dirfd >= 0 && rlen < 0)
			rc = ctrk_error_set(err, ENAMETOOLONG, "'%.64s...'", ap->real);
		else if (dirfd < 0)
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
			created_add(ap, ap->rpath, (size_t)rlen);
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
		int dirfd = resolve_dir(ap, ap->path, dlen, WALK_LOOKUP, err);
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

/* The paths of L (in AP's arena) as strings of their own, but those in SKIP. */
static void
list_export(const applier_t *ap, const pathlist_t *l, const pathset_t *skip, char ***out, size_t *n)
{
	*out = ctrk_xcalloc(l->n ? l->n : 1, sizeof **out);
	*n = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *p = ap->strs.buf + l->off[i];
		if (skip && set_has(ap, skip, p, strlen(p)))
			continue;
		(*out)[(*n)++] = ctrk_xstrdup(p);
	}
}

int
apply_layer(int root_fd, int layer_fd, apply_whiteouts_t whiteouts, char diff_id[CTRK_DIGEST_LEN + 1],
	    apply_stats_t *stats, apply_fixups_t *fixups, ctrk_error_t *err)
{
	if (fixups)
		*fixups = (apply_fixups_t){0};
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

	if (rc == 0 && fixups) {
		/* A directory the layer lists after it was made for an entry
		 * below it is the layer's own. */
		list_export(ap, &ap->implicit, &ap->listed, &fixups->implicit, &fixups->nimplicit);
		list_export(ap, &ap->whiteout_list, NULL, &fixups->whiteouts, &fixups->nwhiteouts);
	}

	/* The tar reader first: it reads from the stream. */
	if (ap->tar)
		archive_read_free(ap->tar);
	apply_stream_free(ap->stream);
	cache_set(ap, -1, "", 0, "", 0);
	free(ap->strs.buf);
	free(ap->created.slots);
	free(ap->whited.slots);
	free(ap->listed.slots);
	free(ap->above.slots);
	free(ap->implicit.off);
	free(ap->whiteout_list.off);
	free(ap->dirs);
	free(ap);
	return rc;
}

void
apply_fixups_free(apply_fixups_t *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nimplicit; i++)
		free(f->implicit[i]);
	for (size_t i = 0; i < f->nwhiteouts; i++)
		free(f->whiteouts[i]);
	free(f->implicit);
	free(f->whiteouts);
	*f = (apply_fixups_t){0};
}

/* --- overlay: what only the layers below can tell -------------------------- */

static bool
fd_is_opaque(int fd)
{
	char v = 0;
	return fgetxattr(fd, OVERLAY_OPAQUE_XATTR, &v, 1) == 1 && v == 'y';
}

bool
apply_root_is_opaque(int fd)
{
	return fd_is_opaque(fd);
}

static bool
is_whiteout_stat(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* Open PATH (symlink-free, relative) in the layer LAYER with no symlink
 * followed: its parent directory (O_RDONLY) in *PARENT and its stat in *ST.
 * 1: found; 0: not there, and *HIDES says whether the layer hides PATH from
 * the layers below it (a non-directory or whiteout on the way, an opaque
 * directory above it, an opaque root); -1: an error. */
static int
layer_lookup(int layer, const char *path, int *parent, struct stat *st, bool *hides, ctrk_error_t *err)
{
	*parent = -1;
	*hides = false;
	int fd = openat(layer, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open a layer");
	bool opaque = fd_is_opaque(fd);
	char name[NAME_MAX + 1];
	const char *p = path;
	for (;;) {
		const char *end = strchrnul(p, '/');
		size_t clen = (size_t)(end - p);
		if (clen == 0 || clen > NAME_MAX) {
			close(fd);
			return ctrk_error_set(err, EINVAL, "bad path '%s'", path);
		}
		memcpy(name, p, clen);
		name[clen] = '\0';
		if (fstatat(fd, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
			int e = errno;
			close(fd);
			if (e != ENOENT && e != ENOTDIR)
				return ctrk_error_set(err, e, "cannot look '%s' up in a layer", path);
			*hides = opaque;
			return 0;
		}
		if (!*end) {
			if (is_whiteout_stat(st)) {
				close(fd);
				*hides = true;
				return 0;
			}
			*parent = fd;
			return 1;
		}
		if (!S_ISDIR(st->st_mode)) {
			close(fd);
			*hides = true;
			return 0;
		}
		int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next < 0)
			return ctrk_error_errno(err, "cannot open '%.*s' in a layer", (int)(end - path), path);
		fd = next;
		opaque = opaque || fd_is_opaque(fd);
		p = end + 1;
	}
}

/* What overlayfs shows at PATH from the layers LOWER[0..N): 1 and the
 * layer's parent directory and stat, or 0 when nothing shows. */
static int
lower_lookup(const int *lower, size_t n, const char *path, int *parent, struct stat *st, ctrk_error_t *err)
{
	for (size_t i = 0; i < n; i++) {
		bool hides;
		int r = layer_lookup(lower[i], path, parent, st, &hides, err);
		if (r != 0 || hides)
			return r;
	}
	return 0;
}

/* The directory's metadata as a copy of the layers below would keep it:
 * owner, mode, xattrs (but overlayfs' own), times. */
static int
copy_dir_meta(int from, int to, ctrk_error_t *err)
{
	struct stat st;
	if (fstat(from, &st) < 0 || fchown(to, st.st_uid, st.st_gid) < 0 || fchmod(to, st.st_mode & 07777) < 0)
		return ctrk_error_errno(err, "cannot copy a directory's owner and mode");
	char names[65536];
	ssize_t len = flistxattr(from, names, sizeof names);
	for (ssize_t off = 0; len > 0 && off < len; off += (ssize_t)strlen(names + off) + 1) {
		const char *key = names + off;
		if (xattr_refused(key))
			continue;
		char val[65536];
		ssize_t vl = fgetxattr(from, key, val, sizeof val);
		if (vl >= 0 && fsetxattr(to, key, val, (size_t)vl, 0) < 0)
			return ctrk_error_errno(err, "cannot copy xattr '%s'", key);
	}
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	if (futimens(to, ts) < 0)
		return ctrk_error_errno(err, "cannot copy a directory's times");
	return 0;
}

/* Open the directory PATH in the layer ROOT, following nothing. */
static int
open_in_layer(int root, const char *path, int flags)
{
	ctrk_error_t ignored;
	return ctrk_inroot_open(root, path, flags, CTRK_INROOT_NO_SYMLINKS | CTRK_INROOT_NO_XDEV, &ignored);
}

/* Does the layer ROOT itself hide what is below PATH: an opaque root or
 * directory above PATH? */
static bool
hidden_by_self(int root, const char *path)
{
	cleanup_close int fd = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fd_is_opaque(fd))
		return true;
	const char *p = path;
	const char *slash;
	while ((slash = strchr(p, '/'))) {
		char name[NAME_MAX + 1];
		size_t clen = (size_t)(slash - p);
		if (clen == 0 || clen > NAME_MAX)
			return true;
		memcpy(name, p, clen);
		name[clen] = '\0';
		int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return true;
		close(fd);
		fd = next;
		if (fd_is_opaque(fd))
			return true;
		p = slash + 1;
	}
	return false;
}

static int
fix_whiteout(int root, const int *lower, size_t nlower, const char *path, ctrk_error_t *err)
{
	const char *slash = strrchr(path, '/');
	cleanup_free char *dir = slash ? ctrk_xstrndup(path, (size_t)(slash - path)) : ctrk_xstrdup("");
	const char *name = slash ? slash + 1 : path;
	cleanup_close int dfd = open_in_layer(root, dir, O_PATH | O_DIRECTORY);
	struct stat st;
	if (dfd < 0 || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !is_whiteout_stat(&st))
		return 0; /* replaced since by the layer itself */
	int parent;
	int r = hidden_by_self(root, path) ? 0 : lower_lookup(lower, nlower, path, &parent, &st, err);
	if (r < 0)
		return -1;
	if (r == 1) {
		close(parent);
		return 0;
	}
	/* Nothing to hide: in a directory that is the layer's alone,
	 * overlayfs would list the marker and stat would not find it. */
	if (unlinkat(dfd, name, 0) < 0)
		return ctrk_error_errno(err, "cannot remove the whiteout '%s'", path);
	return 0;
}

static int
fix_implicit(int root, const int *lower, size_t nlower, const char *path, ctrk_error_t *err)
{
	cleanup_close int fd = open_in_layer(root, path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return 0; /* replaced since by the layer itself */
	int parent;
	struct stat st;
	int r = hidden_by_self(root, path) ? 0 : lower_lookup(lower, nlower, path, &parent, &st, err);
	if (r < 0)
		return -1;
	if (r == 1 && S_ISDIR(st.st_mode)) {
		const char *slash = strrchr(path, '/');
		cleanup_close int from = openat(parent, slash ? slash + 1 : path,
						O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(parent);
		if (from < 0)
			return ctrk_error_errno(err, "cannot open '%s' in a lower layer", path);
		if (copy_dir_meta(from, fd, err) < 0)
			return ctrk_error_wrap(err, "'%s'", path);
		return 0;
	}
	if (r == 1)
		close(parent);
	/* Nothing below: made only for whiteouts that are gone now?  A copy
	 * of the lower layers would not have it either. */
	cleanup_close int rd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = rd >= 0 ? fdopendir(rd) : NULL;
	if (!d)
		return ctrk_error_errno(err, "cannot read '%s'", path);
	rd = -1;
	bool empty = true;
	struct dirent *de;
	while (empty && (de = readdir(d)))
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	if (!empty)
		return 0;
	const char *slash = strrchr(path, '/');
	cleanup_free char *dir = slash ? ctrk_xstrndup(path, (size_t)(slash - path)) : ctrk_xstrdup("");
	cleanup_close int dfd = open_in_layer(root, dir, O_PATH | O_DIRECTORY);
	if (dfd < 0 || unlinkat(dfd, slash ? slash + 1 : path, AT_REMOVEDIR) < 0)
		return ctrk_error_errno(err, "cannot remove '%s'", path);
	return 0;
}

int
apply_overlay_fixup(int root_fd, const int *lower, size_t nlower, const apply_fixups_t *f, ctrk_error_t *err)
{
	for (size_t i = 0; i < f->nwhiteouts; i++)
		if (fix_whiteout(root_fd, lower, nlower, f->whiteouts[i], err) < 0)
			return -1;
	/* Children before their parents: a parent may be empty once they
	 * are gone. */
	for (size_t i = f->nimplicit; i-- > 0;)
		if (fix_implicit(root_fd, lower, nlower, f->implicit[i], err) < 0)
			return -1;
	return 0;
}
