/* Opening a path inside a root (see inroot.h).
 *
 * The kernel's openat2(RESOLVE_IN_ROOT) first; when it is refused, a walk by
 * hand that keeps one invariant: every directory descriptor it holds was
 * reached from the root by single names looked up with O_NOFOLLOW, so it is
 * a directory inside the root, and nothing is ever looked up but one plain
 * name in one of them.  Symlinks are read (readlinkat) and their targets
 * spliced into the rest of the path, never followed by the kernel.  ".."
 * goes back to the directory the walk came from, never above the root: the
 * last INROOT_KEEP directories stay open, deeper ones are found again from
 * the root by the names walked (none of them a symlink).  The same shape as
 * crun's safe_openat() (src/libcrun/utils.c), which also falls back to a
 * walk by hand when openat2 is missing. */
#include "inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's own limit on symlinks in one lookup (MAXSYMLINKS). */
#define INROOT_MAX_SYMLINKS 40
/* Directories the walk keeps open: ".." within them costs no lookup. */
#define INROOT_KEEP 32
/* openat2's EAGAIN: a rename or mount during a RESOLVE_IN_ROOT lookup that
 * involved ".."; the kernel asks to be retried. */
#define INROOT_RETRIES 16

#define O_PATH_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* Set once openat2 has been refused: from then on, every thread walks by
 * hand.  Relaxed is enough: a thread that has not seen it yet only asks the
 * kernel once more. */
static atomic_bool openat2_refused;

/* --- the kernel's ------------------------------------------------------------ */

static int
open_kernel(int rootfd, const char *path, int flags, unsigned how)
{
	struct open_how oh = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (how & CTRK_INROOT_NO_XDEV ? RESOLVE_NO_XDEV : 0) |
			   (how & CTRK_INROOT_NO_SYMLINKS ? RESOLVE_NO_SYMLINKS : 0),
	};
	for (int tries = 0;; tries++) {
		int fd = (int)syscall(SYS_openat2, rootfd, path, &oh, sizeof oh);
		if (fd >= 0 || (errno != EAGAIN && errno != EINTR) || tries == INROOT_RETRIES)
			return fd;
	}
}

/* Whether openat2 answers at all: EPERM is what seccomp profiles say for
 * system calls they do not know, but also a file's own answer (a seal, a
 * lease); only the first means "refused". */
static bool
openat2_works(int rootfd)
{
	struct open_how oh = {.flags = O_PATH | O_CLOEXEC};
	int fd = (int)syscall(SYS_openat2, rootfd, ".", &oh, sizeof oh);
	if (fd >= 0) {
		close(fd);
		return true;
	}
	return errno != ENOSYS && errno != EPERM;
}

/* --- by hand ----------------------------------------------------------------- */

typedef struct walk {
	int root;
	unsigned how;
	dev_t dev;    /* the root's, for NO_XDEV */
	uint64_t mnt; /* the root's mount id; 0: the kernel does not say */
	/* keep[d % INROOT_KEEP]: the directory at depth d, for lo <= d <= depth;
	 * depth 0 is the root, never in keep. */
	int keep[INROOT_KEEP];
	size_t depth, lo;
	/* The names from the root down to depth, '/'-separated: no symlink,
	 * ".", ".." or empty name among them. */
	char names[PATH_MAX];
	size_t nlen;
} walk_t;

static int
walk_fd(const walk_t *w)
{
	return w->depth ? w->keep[w->depth % INROOT_KEEP] : w->root;
}

/* Close every directory: back at the root. */
static void
walk_reset(walk_t *w)
{
	int saved = errno;
	for (size_t d = w->lo; d <= w->depth; d++)
		close(w->keep[d % INROOT_KEEP]);
	w->depth = 0;
	w->lo = 1;
	w->nlen = 0;
	errno = saved;
}

/* FD's file type into *MODE; with NO_XDEV, EXDEV when FD is on another
 * mount than the root.  fstat first: old seccomp profiles refuse statx
 * (EPERM), and the walk is for old sandboxes. */
static int
walk_stat(const walk_t *w, int fd, mode_t *mode)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	*mode = st.st_mode;
	if (!(w->how & CTRK_INROOT_NO_XDEV))
		return 0;
	if (st.st_dev != w->dev)
		return errno = EXDEV, -1;
	/* A bind mount of the same file system has the same device. */
	struct statx sx;
	if (w->mnt && statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0)
		return -1;
	if (w->mnt && (!(sx.stx_mask & STATX_MNT_ID) || sx.stx_mnt_id != w->mnt))
		return errno = EXDEV, -1;
	return 0;
}

/* One level down, into the directory FD. */
static void
walk_push(walk_t *w, int fd)
{
	w->depth++;
	if (w->depth - w->lo == INROOT_KEEP) {
		close(w->keep[w->lo % INROOT_KEEP]);
		w->lo++;
	}
	w->keep[w->depth % INROOT_KEEP] = fd;
}

/* The directory NAME (N bytes) in the current one, just opened as FD. */
static int
walk_enter(walk_t *w, int fd, const char *name, size_t n)
{
	if (w->nlen + 1 + n >= sizeof w->names) {
		close(fd);
		return errno = ENAMETOOLONG, -1;
	}
	if (w->nlen)
		w->names[w->nlen++] = '/';
	memcpy(w->names + w->nlen, name, n);
	w->nlen += n;
	w->names[w->nlen] = '\0';
	walk_push(w, fd);
	return 0;
}

/* "..": one level up, at the root staying there.  A directory no longer
 * kept open is found again from the root, by the names that led to it;
 * one of them replaced meanwhile by a symlink or a file fails (ENOTDIR). */
static int
walk_up(walk_t *w)
{
	if (w->depth == 0)
		return 0;
	close(w->keep[w->depth % INROOT_KEEP]);
	w->depth--;
	char *slash = memrchr(w->names, '/', w->nlen);
	w->nlen = slash ? (size_t)(slash - w->names) : 0;
	w->names[w->nlen] = '\0';
	if (w->depth == 0) {
		w->lo = 1;
		return 0;
	}
	if (w->depth >= w->lo)
		return 0;
	/* Nothing is open any more but the root. */
	w->depth = 0;
	w->lo = 1;
	for (char *p = w->names; *p;) {
		char *end = strchrnul(p, '/');
		char save = *end;
		*end = '\0';
		int fd = openat(walk_fd(w), p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		*end = save;
		mode_t mode;
		if (fd < 0)
			return -1;
		if (walk_stat(w, fd, &mode) < 0) {
			int saved = errno;
			close(fd);
			return errno = saved, -1;
		}
		walk_push(w, fd);
		p = save ? end + 1 : end;
	}
	return 0;
}

/* Whether the symlink FD is on a procfs: its magic links (/proc/PID/root,
 * /proc/PID/fd/N) name files that no path leads to.  Their text is harmless
 * here (it is resolved inside the root like any other), but openat2 refuses
 * them: so does the walk, all of procfs' symlinks to be sure. */
static int
on_procfs(int fd, bool *procfs)
{
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return -1;
	*procfs = sf.f_type == PROC_SUPER_MAGIC;
	return 0;
}

/* PATH opened with FLAGS at the end of a walk from W's root. */
static int
walk_open(walk_t *w, const char *path, int flags)
{
	char rest[2 * PATH_MAX], target[PATH_MAX], name[NAME_MAX + 1];
	int links = 0;

	strcpy(rest, path); /* the caller checked its length */
	char *p = rest;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p) /* the path ends at the current directory */
			return openat(walk_fd(w), ".", flags);
		char *end = strchrnul(p, '/');
		size_t n = (size_t)(end - p);
		/* The last name: nothing after it, not even a "/" (which asks
		 * for a directory and follows a symlink, as in the kernel). */
		bool last = !*end;
		if (n == 1 && p[0] == '.') {
			p = end;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (walk_up(w) < 0)
				return -1;
			p = end;
			continue;
		}
		if (n > NAME_MAX)
			return errno = ENAMETOOLONG, -1;
		memcpy(name, p, n);
		name[n] = '\0';

		int child = openat(walk_fd(w), name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		mode_t mode;
		if (child < 0)
			return -1;
		if (walk_stat(w, child, &mode) < 0) {
			int saved = errno;
			close(child);
			return errno = saved, -1;
		}
		if (S_ISLNK(mode) && last && (flags & O_NOFOLLOW)) {
			if (!(flags & O_PATH) || (flags & O_DIRECTORY)) {
				close(child);
				return errno = flags & O_DIRECTORY ? ENOTDIR : ELOOP, -1;
			}
			return child; /* the symlink itself */
		}
		if (S_ISLNK(mode)) {
			bool procfs = false;
			int e = 0;
			if ((w->how & CTRK_INROOT_NO_SYMLINKS) || ++links > INROOT_MAX_SYMLINKS)
				e = ELOOP;
			else if (on_procfs(child, &procfs) < 0)
				e = errno;
			else if (procfs)
				e = ELOOP;
			ssize_t tlen = e ? 0 : readlinkat(child, "", target, sizeof target);
			if (tlen < 0)
				e = errno;
			close(child);
			size_t restlen = strlen(end);
			if (!e && ((size_t)tlen >= sizeof target || (size_t)tlen + restlen >= sizeof rest))
				e = ENAMETOOLONG;
			if (!e && tlen == 0)
				e = ENOENT; /* as the kernel treats an empty target */
			if (e)
				return errno = e, -1;
			/* "TARGET" + "/the/rest" (or "" at the end). */
			memmove(rest + tlen, end, restlen + 1);
			memcpy(rest, target, (size_t)tlen);
			p = rest;
			if (target[0] == '/')
				walk_reset(w);
			continue;
		}
		if (!last) {
			if (!S_ISDIR(mode)) {
				close(child);
				return errno = ENOTDIR, -1;
			}
			if (walk_enter(w, child, name, n) < 0)
				return -1;
			p = end;
			continue;
		}
		if ((flags & O_DIRECTORY) && !S_ISDIR(mode)) {
			close(child);
			return errno = ENOTDIR, -1;
		}
		if (flags & O_PATH)
			return child;
		/* Opened for real by its one name, still without following:
		 * whatever may have replaced it meanwhile is inside the root
		 * too, and a symlink is refused (ELOOP). */
		close(child);
		int fd = openat(walk_fd(w), name, flags | O_NOFOLLOW);
		if (fd >= 0 && (w->how & CTRK_INROOT_NO_XDEV) && walk_stat(w, fd, &mode) < 0) {
			int saved = errno;
			close(fd);
			return errno = saved, -1;
		}
		return fd;
	}
}

static int
open_walk(int rootfd, const char *path, int flags, unsigned how)
{
	walk_t w = {.root = rootfd, .how = how, .lo = 1};
	if (how & CTRK_INROOT_NO_XDEV) {
		struct stat st;
		struct statx sx;
		if (fstat(rootfd, &st) < 0)
			return -1;
		w.dev = st.st_dev;
		/* Mount ids: Linux 5.8; before, the device alone. */
		if (statx(rootfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID))
			w.mnt = sx.stx_mnt_id;
	}
	int fd = walk_open(&w, path, flags);
	walk_reset(&w);
	return fd;
}

/* --- either ------------------------------------------------------------------ */

int
ctrk_inroot_open(int rootfd, const char *path, int flags, unsigned how, ctrk_error_t *err)
{
	int fd;
	flags |= O_CLOEXEC;
	/* openat2 refuses other flags with O_PATH; openat ignores them. */
	if (flags & O_PATH)
		flags &= O_PATH_FLAGS;
	if (!*path)
		path = ".";
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		errno = EINVAL;
		fd = -1;
	} else if (strlen(path) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		fd = -1;
	} else if (atomic_load_explicit(&openat2_refused, memory_order_relaxed)) {
		fd = open_walk(rootfd, path, flags, how);
	} else {
		fd = open_kernel(rootfd, path, flags, how);
		int e = errno;
		if (fd < 0 && (e == ENOSYS || (e == EPERM && !openat2_works(rootfd)))) {
			atomic_store_explicit(&openat2_refused, true, memory_order_relaxed);
			fd = open_walk(rootfd, path, flags, how);
		} else if (fd < 0) {
			errno = e; /* the file's own EPERM: openat2_works() changed errno */
		}
	}
	if (fd < 0) {
		ctrk_error_errno(err, "cannot open '%.256s%s' inside the root", path, strlen(path) > 256 ? "..." : "");
		errno = err->errnum;
	}
	return fd;
}
