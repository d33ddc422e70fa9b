/* The verbs of ctrk-snap, one function each; main.c picks one. */
#ifndef CTRK_SNAP_CMD_H
#define CTRK_SNAP_CMD_H

#include <stdbool.h>

#include "error.h"

typedef struct snap_opts {
	const char *root;   /* --root, else $CTRK_ROOT */
	const char *driver; /* --driver, else $CTRK_SNAP_DRIVER, else overlay */
	const char *image;  /* --image REF */
	const char *compression; /* diff --compression gzip|zstd|none */
	bool tree, json;    /* list --tree, --json; check --json */
	bool fix;           /* check --fix */
	bool is_volatile;   /* prepare, view --volatile */
	bool driver_given;  /* --driver was given (it overrides the descriptor's) */
	bool force;         /* remove --force: detach the mounts that use it */
} snap_opts_t;

/* Each returns an exit status; errors are reported here (ctrk_fail). */
int cmd_prepare(const snap_opts_t *o, bool view, const char *key, const char *parent);
int cmd_commit(const snap_opts_t *o, const char *name, const char *key);
/* KEY NULL: the descriptor's snapshot (teardown, see ctrk-descriptor(5)). */
int cmd_remove(const snap_opts_t *o, const char *key);
int cmd_stat(const snap_opts_t *o, const char *key);
int cmd_list(const snap_opts_t *o);
int cmd_usage(const snap_opts_t *o, const char *key);
int cmd_mounts(const snap_opts_t *o, const char *key);
int cmd_unpack(const snap_opts_t *o, const char *ref);
int cmd_check(const snap_opts_t *o);
int cmd_diff(const snap_opts_t *o, const char *key);

#endif
