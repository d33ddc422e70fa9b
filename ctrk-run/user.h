/* The container's user: `-u USER[:GROUP]` and `--group-add`, resolved in
 * the container's own /etc/passwd and /etc/group, never the host's.
 *
 * The rules are runc's (libcontainer/user.GetExecUser), which Docker and
 * podman use:
 * https://github.com/opencontainers/runc/blob/main/libcontainer/user/user.go */
#ifndef CTRK_RUN_USER_H
#define CTRK_RUN_USER_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

typedef struct run_user {
	uid_t uid;
	gid_t gid;
	gid_t *additional_gids; /* supplementary groups: sorted, no duplicates, never GID */
	size_t n_additional;
	char *home; /* the passwd entry's home directory, or NULL when there is no entry */
} run_user_t;

/* Resolve SPEC as Docker and runc do: "" (root), "NAME", "UID", "NAME:GROUP",
 * "UID:GID", "NAME:GID", "UID:GROUP".  ROOTFD is a directory descriptor
 * (O_PATH is enough) of the container's root.
 *
 * A number is always an id, never a name, and needs no entry: a UID without
 * one gets gid 0 unless a group is given.  A name must have an entry.  An id
 * must be 0 to 2^31-1, as runc and containerd require, in SPEC, in EXTRA and
 * in the entries that the lookup finds (an entry found with an id out of
 * range is an error, not skipped).  The first matching entry wins.  "" is uid 0, its entry (if any) giving gid and home.
 *
 * Supplementary groups, as in runc: when GROUP is not given and the user has
 * a passwd entry, every /etc/group entry listing the entry's name as a
 * member; an explicit GROUP replaces them.  Then EXTRA (--group-add, NEXTRA
 * names or numbers).  The primary gid is never among them.
 *
 * The files are looked up as if ROOTFD were "/" (openat2 RESOLVE_IN_ROOT,
 * or the same resolution by hand where openat2 is missing), so no symlink
 * or ".." leads out.  A missing file counts as empty; one that is not a
 * regular file, or larger than 1 MiB, is an error; a device node is never
 * opened.  Lines that are comments, NIS "+"/"-" entries, or malformed are
 * skipped.
 *
 * *U is filled on success; on failure it is left empty (run_user_free() is
 * harmless either way). */
int run_user_resolve(int rootfd, const char *spec, const char *const *extra, size_t nextra, run_user_t *u,
		     ctrk_error_t *err);

/* The same with the contents of /etc/passwd and /etc/group given (NULL: the
 * container has no such file; not NUL-terminated), for tests and fuzzing. */
int run_user_resolve_text(const char *passwd, size_t passwd_len, const char *group, size_t group_len, const char *spec,
			  const char *const *extra, size_t nextra, run_user_t *u, ctrk_error_t *err);

/* Free what *U holds and empty it. */
void run_user_free(run_user_t *u);

#endif
