/* A container's directory, $CTRK_RUN/ID: the OCI bundle (config.json) and
 * ctrk-run's own record of the container.
 *
 *   config.json     the bundle's config, for the runtime
 *   descriptor.json the descriptor the container was started from, with
 *                   "container" (id, pid, status, runtime, ...)
 *   owner.lock      locked by the process that owns the container (the
 *                   foreground ctrk-run, or the supervisor) for as long as
 *                   it lives: `wait` waits for it, `delete` checks it
 *   exit            the exit status, written by the owner when it ends
 *   log             the output of a detached container
 *   runtime.log     the runtime's own messages (--log)
 *
 * `delete` keeps a tombstone, $CTRK_RUN/deleted/ID.json: the descriptor
 * without "container", so that teardown run again carries it on.
 *
 * The rootfs ctrk-mount mounts at $CTRK_RUN/KEY/rootfs may share the
 * directory (when ID is the snapshot key); it is never touched here. */
#ifndef CTRK_RUN_CONTAINER_H
#define CTRK_RUN_CONTAINER_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "error.h"

typedef struct container {
	char *id;
	char *dir, *config, *record, *lock, *exit, *log, *runtime_log, *pidfile, *console;
	char *tombstone; /* $CTRK_RUN/deleted/ID.json */
} container_t;

/* Check ID and fill in C's paths. */
int container_init(const char *id, container_t *c, ctrk_error_t *err);
void container_free(container_t *c);

/* The record (the descriptor with "container"), or NULL when there is none
 * ("no container 'ID'"). */
cJSON *container_load(const container_t *c, ctrk_error_t *err);
int container_save(const container_t *c, const cJSON *record, ctrk_error_t *err);

/* Replace PATH (in C's directory) with TEXT atomically. */
int container_write_file(const container_t *c, const char *path, const char *text, ctrk_error_t *err);

/* Set RECORD's container.status (and exitCode when >= 0), and save it. */
int container_set_status(const container_t *c, cJSON *record, const char *status, int exit_code,
			 ctrk_error_t *err);

/* Write the exit status (a wait status) for `wait` and `state`. */
int container_write_exit(const container_t *c, int wait_status, ctrk_error_t *err);

/* The recorded exit code: 1 when there is one, 0 when not (yet). */
int container_read_exit(const container_t *c, int *code);

/* Is a process owning the container alive (the owner lock is held)? */
bool container_owned(const container_t *c);

/* Remove ctrk-run's files and the directory when that leaves it empty. */
int container_remove(const container_t *c, ctrk_error_t *err);

/* Replace the tombstone with DESCRIPTOR (which has no "container"). */
int container_bury(const container_t *c, const cJSON *descriptor, ctrk_error_t *err);

/* The tombstone, or NULL when there is none. */
cJSON *container_tombstone(const container_t *c);

/* The time now as RFC 3339, in UTC.  The caller frees. */
char *container_now(void);

#endif
