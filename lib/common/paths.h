/* ctrk's two state directories (see ctrk(7)).  Kept apart from the store so
 * that a tool which only needs a path (ctrk-mount, ctrk-run) does not link
 * the store's hashing and load libcrypto at every start. */
#ifndef CTRK_PATHS_H
#define CTRK_PATHS_H

/* $CTRK_ROOT, or /var/lib/ctrk: the content store and snapshots. */
const char *ctrk_default_root(void);

/* $CTRK_RUN, or /run/ctrk: mounted root file systems and containers. */
const char *ctrk_default_run(void);

#endif
