/* Safe extraction of a tar of plain files (an oci-archive, a
 * docker-archive) into a private directory.
 *
 * This is not for layers: it refuses everything a layer needs (links,
 * devices, ownership, modes) and keeps only what an image archive holds,
 * regular files and directories.  Nothing is ever created or written outside
 * the destination directory: absolute paths and ".." are refused, and every
 * directory on the way is opened O_NOFOLLOW relative to its parent. */
#ifndef CTRK_EXTRACT_H
#define CTRK_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef struct ctrk_symlink {
	char *path;   /* cleaned, relative to the destination */
	char *target; /* as the archive says */
} ctrk_symlink_t;

typedef struct ctrk_extract {
	/* In: limits on the sum of the files' sizes and on the entries. */
	unsigned long long max_bytes;
	size_t max_entries;
	/* In: record symbolic links in links[] instead of refusing them.  None
	 * is ever created; an entry below one is still refused. */
	bool record_symlinks;
	/* Out. */
	ctrk_symlink_t *links;
	size_t nlinks;
} ctrk_extract_t;

/* Extract the tar FILE (plain, or compressed with gzip, bzip2, xz or zstd)
 * into the directory DIRFD, which should be empty and private.  Files are
 * created 0600 and directories 0700; owners, modes and times are not kept.
 * On failure what was extracted stays: the caller removes the directory. */
int ctrk_archive_extract(const char *file, int dirfd, ctrk_extract_t *x, ctrk_error_t *err);
void ctrk_extract_free(ctrk_extract_t *x);

/* Clean a relative path from an archive: drop empty and "." components and
 * a trailing slash.  ".." pops a component when RESOLVE_DOTDOT (for symlink
 * targets; going above the top is still an error) and is refused otherwise;
 * an absolute path is refused.  "" stands for the top itself. */
int ctrk_path_clean(const char *path, bool resolve_dotdot, char **out, ctrk_error_t *err);

/* rm -rf PATH, never following symbolic links.  A missing PATH is not an
 * error. */
int ctrk_remove_tree(const char *path, ctrk_error_t *err);

/* rm -rf of the directory NAME in PARENT, of any depth, with one directory
 * of it open at a time; never follows a symbolic link or enters another
 * file system than NAME's own (EXDEV). */
int ctrk_remove_tree_at(int parent, const char *name, ctrk_error_t *err);

#endif
