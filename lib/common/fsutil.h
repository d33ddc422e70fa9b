/* Files: complete reads and writes, directories, atomic replacement. */
#ifndef CTRK_FSUTIL_H
#define CTRK_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Read all of FD into a NUL-terminated buffer (*BUF, caller frees).  More
 * than MAX bytes is an error: every growable buffer has a limit. */
int ctrk_read_all_fd(int fd, size_t max, char **buf, size_t *len, ctrk_error_t *err);

/* Read a whole file, at most MAX bytes. */
int ctrk_read_file(const char *path, size_t max, char **buf, size_t *len, ctrk_error_t *err);

/* Open PATH for reading only if it is a regular file, without blocking:
 * a FIFO (or a device) put where a configuration file is expected would
 * otherwise hang the open or the read forever.  Symlinks are followed (auth
 * and certificate files are often links into /etc/pki or a dotfiles tree).
 * On failure errno is kept (ENOENT for a missing file; EINVAL, with a
 * message, for another type). */
int ctrk_open_regular(const char *path, ctrk_error_t *err);

/* ctrk_read_file() of a regular file only (ctrk_open_regular()). */
int ctrk_read_regular_file(const char *path, size_t max, char **buf, size_t *len, ctrk_error_t *err);

/* Write LEN bytes in full, retrying on EINTR and short writes. */
int ctrk_write_all(int fd, const void *buf, size_t len, ctrk_error_t *err);

/* mkdir -p with MODE (exactly: the umask does not change it) for each
 * directory created.  For state directories see ctrk_private_dir(). */
int ctrk_mkdir_p(const char *path, mode_t mode, ctrk_error_t *err);

/* fsync a directory so that a rename or create inside it is durable. */
int ctrk_fsync_dir(const char *dir, ctrk_error_t *err);

/* Replace PATH atomically with DATA: write a temp file beside it, fsync,
 * rename, fsync the directory.  A crash leaves the old or the new file. */
int ctrk_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, ctrk_error_t *err);

/* The same, with the temp file in TMPDIR (on the same file system as PATH),
 * so that a crash leaves no stray file beside PATH. */
int ctrk_write_file_atomic_in(const char *tmpdir, const char *path, const void *data, size_t len, mode_t mode,
			      ctrk_error_t *err);

/* Replace PATH with DATA through a temp file and a rename, without fsync:
 * readers never see half a file, but a crash may bring back the old one
 * (or, on some file systems, an empty one).  For state that a crash may
 * forget. */
int ctrk_replace_file(const char *path, const void *data, size_t len, mode_t mode, ctrk_error_t *err);

/* Make a temp file "DIR/.NAME.XXXXXX" opened O_RDWR|O_CLOEXEC; its path is
 * returned in *TMP_PATH (caller frees). */
int ctrk_tmpfile_in(const char *dir, const char *name, char **tmp_path, ctrk_error_t *err);

/* asprintf that aborts on out-of-memory, since every caller would. */
char *ctrk_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocation that aborts on out-of-memory. */
void *ctrk_xmalloc(size_t n);
void *ctrk_xcalloc(size_t n, size_t size);
void *ctrk_xrealloc(void *p, size_t n);
char *ctrk_xstrdup(const char *s);
/* At most N bytes of S, always terminated. */
char *ctrk_xstrndup(const char *s, size_t n);

/* True when PATH exists (any type, symlinks not followed). */
bool ctrk_path_exists(const char *path);

/* What the tree at PATH takes, on its own file system (FTW_MOUNT), symlinks
 * not followed, a file with more hard links counted once: the sum of the
 * sizes, of the blocks allocated (bytes), and the number of entries. */
typedef struct ctrk_tree_usage {
	long long size, allocated, inodes;
} ctrk_tree_usage_t;
int ctrk_tree_usage(const char *path, ctrk_tree_usage_t *u, ctrk_error_t *err);

/* "." or "..", the two names readdir gives that are not entries. */
static inline bool
ctrk_is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

#endif
