/* Opening a path inside a directory as if that directory were "/".
 *
 * Image layers, a container's /etc/passwd and a snapshot's tree are hostile:
 * a symlink in them (absolute, or climbing with "..") must never lead to the
 * host.  One resolver for all of ctrk: openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS), the kernel's own, or, where the kernel refuses
 * openat2 (before Linux 5.6; seccomp profiles and valgrind 3.19 that do not
 * know it), the same resolution by hand.  The refusal is remembered once for
 * the whole process.
 * https://man7.org/linux/man-pages/man2/openat2.2.html */
#ifndef CTRK_INROOT_H
#define CTRK_INROOT_H

#include "error.h"

/* How to resolve (the HOW argument), besides inside the root. */
enum {
	/* Never cross a mount point (EXDEV), as RESOLVE_NO_XDEV. */
	CTRK_INROOT_NO_XDEV = 1u << 0,
	/* No symlink anywhere in the path (ELOOP), as RESOLVE_NO_SYMLINKS; a
	 * last one still opens itself with O_PATH | O_NOFOLLOW. */
	CTRK_INROOT_NO_SYMLINKS = 1u << 1,
};

/* Open PATH in the directory ROOTFD (O_PATH is enough) as openat(2) would
 * with FLAGS, resolving it as if ROOTFD were "/": an absolute path or
 * symlink target starts again at ROOTFD, ".." never climbs above it, at most
 * 40 symlinks are followed (ELOOP), and magic links (/proc/PID/root,
 * /proc/PID/fd/N) are refused (ELOOP).  "" and "/" are ROOTFD itself.
 *
 * FLAGS are open(2)'s, O_CLOEXEC always added: O_PATH for a descriptor
 * that only names the file, O_DIRECTORY to want a directory, O_NOFOLLOW for
 * a last symlink not to be followed (with O_PATH the symlink itself is
 * opened, otherwise ELOOP).  O_CREAT and O_TMPFILE are not supported
 * (EINVAL): create with an *at() call on one name in a directory opened
 * here.
 *
 * By hand, every name is looked up alone without following it; a symlink is
 * read and spliced into the rest of the path; every symlink on a procfs
 * counts as a magic link (stricter than the kernel); NO_XDEV compares the
 * mount (statx STATX_MNT_ID, or the device before Linux 5.8).  A path that
 * walks deeper than PATH_MAX bytes of directory names is ENAMETOOLONG.
 *
 * Returns the descriptor, or -1 with ERR filled and errno set to
 * err->errnum (ENOENT, ENOTDIR, ELOOP, EXDEV...), for callers that branch on
 * it.  Thread-safe. */
int ctrk_inroot_open(int rootfd, const char *path, int flags, unsigned how, ctrk_error_t *err);

#endif
