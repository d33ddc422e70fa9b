/* ctrk's two state directories (see ctrk(7)), and the environment
 * variables that tune it.  Kept apart from the store so
 * that a tool which only needs a path (ctrk-mount, ctrk-run) does not link
 * the store's hashing and load libcrypto at every start. */
#ifndef CTRK_PATHS_H
#define CTRK_PATHS_H

/* $CTRK_ROOT, or /var/lib/ctrk: the content store and snapshots. */
const char *ctrk_default_root(void);

/* $CTRK_RUN, or /run/ctrk: mounted root file systems and containers. */
const char *ctrk_default_run(void);

/* The environment variable NAME as whole seconds in [1, MAX]; DEFAULT when
 * it is unset or empty.  Anything else is an error naming NAME (a typo in a
 * timeout must not mean "wait forever" or "give up at once"). */
#include "error.h"
int ctrk_env_seconds(const char *name, long def, long max, long *out, ctrk_error_t *err);

#endif
