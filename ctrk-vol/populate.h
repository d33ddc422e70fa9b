/* Populate ("copy-up", as Docker does it): the first time an empty volume
 * is attached at /dst of a container whose image has content at /dst, that
 * content is copied into the volume, keeping owners, modes, xattrs, hard
 * links and times.
 *
 * The rules (ctrk-vol(1) repeats them):
 *   - never for a tmpfs volume (fresh for each container), never with
 *     --populate never or the mount option nocopy;
 *   - only when the volume is empty (an empty lost+found at its root does
 *     not count), no running container uses it (copy-up is for a volume's
 *     first use; a container that has it owns what is in it, and could
 *     swap names under the copy), and meta.json has no "populated_from":
 *     once populated, the
 *     volume's content is the user's, also when they empty it, and a later
 *     attach with a changed image overwrites nothing;
 *   - only when the descriptor has a rootfs (its mounts at "/") and the
 *     image has a directory at /dst (resolved inside the image: a symlink
 *     never leads out of it); else nothing is copied, and meta.json's
 *     "populate_checked": {"image", "path"} remembers that this image has
 *     nothing there, so that the next attach of it does not look again
 *     (the look costs a process and a mount at each start);
 *   - the copy is made from a read-only view of the image, not from the
 *     container's writable layer: an overlay of the rootfs mount's lower
 *     directories only (or a read-only clone of its bind mount), made as a
 *     detached mount in a child process with a private mount namespace, so
 *     that no mount is ever seen on the host;
 *   - the volume's root takes the owner and mode of the image's /dst, unless
 *     the volume was created with --uid/--gid/--mode (those win);
 *   - crash safety: meta.json gets "populating": true before the first file
 *     is copied and "populated_from": {"image": DIGEST, "path": "/dst"}
 *     instead when the copy is complete.  A copy that was killed leaves
 *     "populating"; the next attach empties the volume and copies again
 *     (ctrk-vol check --fix does the emptying too).
 * The caller holds the volume's lock (vol_lock) and has mounted it. */
#ifndef CTRK_VOL_POPULATE_H
#define CTRK_VOL_POPULATE_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "error.h"
#include "vol.h"

/* Populate V at TARGET (a cleaned absolute path) from descriptor D's image,
 * when the rules above say so; *COPIED tells whether it did. */
int vol_populate(vol_t *v, const cJSON *d, const char *target, bool *copied, ctrk_error_t *err);

/* Remove everything in the directory DIRFD but an empty lost+found (a
 * killed populate's half copy). */
int vol_empty_dir(int dirfd, ctrk_error_t *err);

#endif
