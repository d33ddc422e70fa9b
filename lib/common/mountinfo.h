/* The kernel's mount table, and which mounts use a directory.
 *
 * ctrk-mount must not mount a writable snapshot that is mounted already
 * (two overlays on one upper directory are undefined behaviour), and
 * ctrk-snap must not remove a snapshot that is mounted (a container would
 * go on running on deleted files).  Both ask the same question of
 * /proc/self/mountinfo (see proc(5)): which mounts use directory X?
 *   - an overlay uses the directories its super options name: upperdir=,
 *     workdir=, lowerdir= (and lowerdir+=, datadir+=);
 *   - any other mount (a bind mount) uses the directory its root is: the
 *     same device and, on it, a path at or below X's.
 * Both take the same locks, exclusive flock(2)s on the directories that
 * stand for the mounts (ctrk_mount_object_dir, ctrk_dir_locks_take), around
 * "check, then mount" and "check, then remove", so that of parallel
 * attempts exactly one wins.
 *
 * A running container has the host's mounts copied into its own mount
 * namespace: unmounting its rootfs on the host succeeds while the container
 * still runs on it.  So ctrk_mount_table_read_all() reads the mounts of
 * every mount namespace a process is in, not only this one. */
#ifndef CTRK_MOUNTINFO_H
#define CTRK_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "error.h"

typedef struct ctrk_mount_entry {
	pid_t ns_pid; /* 0: this mount namespace; else a process in the one it is in */
	int id, parent;
	dev_t dev;    /* the file system's device (major:minor) */
	char *root;   /* the directory of the file system mounted here */
	char *target; /* the mount point */
	char *fstype;
	char *source;
	char **dirs; /* overlay: every directory its options name, unescaped */
	size_t ndirs;
	char *upperdir; /* overlay: upperdir, or NULL (points into DIRS) */
	char **lowers;  /* overlay: the lower directories, in order (point into DIRS) */
	size_t nlowers;
} ctrk_mount_entry_t;

typedef struct ctrk_mount_table {
	ctrk_mount_entry_t *v;
	size_t n;
} ctrk_mount_table_t;

/* The mounts of this mount namespace, in the kernel's order. */
int ctrk_mount_table_read(ctrk_mount_table_t *t, ctrk_error_t *err);
/* Those and the mounts of every other mount namespace that a process is
 * in (read from one process of each: /proc/PID/mountinfo).  A process that
 * goes away meanwhile is skipped. */
int ctrk_mount_table_read_all(ctrk_mount_table_t *t, ctrk_error_t *err);
/* The same from TEXT in mountinfo's format (for the tests); lines that do
 * not parse are skipped. */
void ctrk_mount_table_parse(ctrk_mount_table_t *t, const char *text);
void ctrk_mount_table_free(ctrk_mount_table_t *t);

/* Is PATH equal to DIR or below it (both absolute, "/" separated)? */
bool ctrk_path_under(const char *path, const char *dir);

/* A directory as mountinfo sees it: its device and its path on that
 * device's file system (what a bind mount of it has as its root). */
typedef struct ctrk_dir_ref {
	char *path;   /* absolute, symlinks resolved */
	dev_t dev;
	char *fspath; /* NULL when no mount in T holds it */
} ctrk_dir_ref_t;

/* Resolve PATH (it must exist) against the mounts of this namespace in T. */
int ctrk_dir_ref_get(const ctrk_mount_table_t *t, const char *path, ctrk_dir_ref_t *r, ctrk_error_t *err);
void ctrk_dir_ref_free(ctrk_dir_ref_t *r);

/* Does mount M use directory R or something below it? */
bool ctrk_mount_uses_dir(const ctrk_mount_entry_t *m, const ctrk_dir_ref_t *r);

/* Is mount object O (a descriptor's {type, source, target, options})
 * writable: an overlay with an upperdir, or a mount without "ro"? */
bool ctrk_mount_object_writable(const cJSON *o);

/* The directory that stands for mount object O: its upperdir, else its
 * first lowerdir for an overlay, its source for a bind mount; NULL for
 * others.  The caller frees. */
char *ctrk_mount_object_dir(const cJSON *o);

/* The mounts in T that are mounts of O, appended to *FOUND (indices into
 * T, no duplicates, *NFOUND entries; the caller frees *FOUND):
 *   - a writable overlay: mounts using its upperdir;
 *   - a read-only overlay: overlays without an upperdir whose lowers are
 *     exactly O's;
 *   - a bind mount: bind mounts of its source or of something in it.
 * Directories that do not exist are used by nothing. */
void ctrk_mounts_of(const ctrk_mount_table_t *t, const cJSON *o, size_t **found, size_t *nfound);

/* The mounts in T that use directory PATH or anything below it, appended
 * to *FOUND as ctrk_mounts_of() does.  A missing PATH is used by nothing. */
void ctrk_mounts_using(const ctrk_mount_table_t *t, const char *path, size_t **found, size_t *nfound);

/* "'/a', '/' (in the mount namespace of process 42)": the mount points of
 * FOUND, for a message; the caller frees. */
char *ctrk_mount_targets(const ctrk_mount_table_t *t, const size_t *found, size_t nfound);

/* Exclusive flock(2)s on directories, taken in path order so that two
 * holders of several never wait for each other in a circle. */
typedef struct ctrk_dir_locks {
	int *fds;
	size_t n;
} ctrk_dir_locks_t;

/* Lock the N directories DIRS (duplicates and NULLs skipped; a directory
 * that does not exist is skipped too: there is nothing to protect).
 * Waits for other holders. */
int ctrk_dir_locks_take(ctrk_dir_locks_t *l, char *const *dirs, size_t n, ctrk_error_t *err);
void ctrk_dir_locks_release(ctrk_dir_locks_t *l);

#endif
