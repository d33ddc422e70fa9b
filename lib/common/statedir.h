/* Private state directories: only root reaches into images and containers.
 *
 * Everything under $CTRK_ROOT and $CTRK_RUN is image or container content,
 * or leads to it: a mounted rootfs holds the image's setuid-root programs
 * and device nodes.  If any directory on the way is world-traversable, any
 * user of the host can run those programs or open those nodes straight from
 * the host (moby CVE-2021-41091, containerd CVE-2021-41103).  So every
 * directory of ctrk's state is 0700 and owned by root.  Nothing needs more:
 * runc and crun run as root and set up the rootfs before they drop any
 * privilege, and ctrk maps no user namespaces (which would need 0711 on the
 * way to the rootfs; say so here when that changes).
 *
 * Files in these directories are created 0600. */
#ifndef CTRK_STATEDIR_H
#define CTRK_STATEDIR_H

#include "error.h"

/* Make ROOT (a state root: $CTRK_ROOT, $CTRK_RUN) and each directory of the
 * relative path SUB below it (NULL: none) private directories:
 *   - a missing one is created 0700, whatever the umask (missing parents of
 *     ROOT too; existing parents of ROOT are not ctrk's and are left alone);
 *   - an existing one with any other mode is set to 0700, with one warning
 *     ("'DIR' was mode 0755: now 0700"); once tightened, nothing more is said;
 *   - one that is a symbolic link, not a directory, or owned by another user
 *     than the caller is refused: someone else may have made it to reach
 *     what ctrk puts there.
 * The warning is printed here, not by main: the call goes on to succeed, and
 * every tool would say it the same way. */
int ctrk_private_dir(const char *root, const char *sub, ctrk_error_t *err);

#endif
