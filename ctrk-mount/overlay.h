/* Overlay mounts whose options do not fit in one page.
 *
 * mount(2) copies at most one page of data, so an overlay of many layers
 * ("lowerdir=/long/a:/long/b:...") cannot be mounted the classic way.  Two
 * ways around it, tried in this order:
 *   1. the new mount API: fsopen("overlay") and one fsconfig("lowerdir+")
 *      per layer (Linux 6.8), probed at run time;
 *   2. as containerd does (mount_linux.go, compactLowerdirOption): a child
 *      process chdir()s to the layers' longest common directory and names
 *      them relative to it, which makes the data short again. */
#ifndef CTRK_MOUNT_OVERLAY_H
#define CTRK_MOUNT_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "mount.h"

/* Mount overlay SOURCE on TARGET (an absolute path) with options O, whose
 * data is longer than mount(2) takes. */
int overlay_mount_long(const char *source, const char *target, const mount_opts_t *o, ctrk_error_t *err);

/* The two ways, one each (for the tests). */
int overlay_mount_fsconfig(const char *source, const char *target, const mount_opts_t *o, ctrk_error_t *err);
int overlay_mount_relative(const char *source, const char *target, const mount_opts_t *o, ctrk_error_t *err);

/* Does this kernel take one layer at a time ("lowerdir+")?  Probed once. */
bool overlay_has_lowerdir_plus(void);

/* Split a lowerdir value at the colons that are not escaped with "\",
 * keeping the escapes.  An empty element is the "::" that starts the
 * data-only layers.  Returns a NULL-terminated array (free each element and
 * the array) and its length in *N. */
char **overlay_split_lowerdir(const char *value, size_t *n);

/* The longest directory that holds every one of PATHS (absolute) below it
 * and is none of them, without a trailing "/"; NULL when only "/" would. */
char *overlay_common_dir(const char *const *paths, size_t n);

/* O's data with every lowerdir, upperdir and workdir path made relative to
 * their common directory (*DIR).  Returns -1 when there is no such directory
 * or a path is not absolute. */
int overlay_compact(const mount_opts_t *o, char **dir, char **data);

#endif
