/* The descriptor: the one JSON object that passes from tool to tool.
 *
 * Each tool owns some top-level fields, adds or replaces only those, and
 * passes every other field through unchanged (see ctrk-descriptor(5)):
 *   version            every tool (the format version, written on output)
 *   image              ctrk-pull
 *   snapshot           ctrk-snap
 *   layer              ctrk-snap diff
 *   mounts, target "/" ctrk-snap (they build the rootfs)
 *   mounts, other      ctrk-vol (mounts for the container)
 *   volumes            ctrk-vol (what attach added, for detach)
 *   rootfs             ctrk-mount
 *   netns, network,    ctrk-netif (network: a CNI 1.0 result; netif: what
 *   netif              it added, for its teardown, see ctrk-netif/netif.h)
 *   container          ctrk-run
 */
#ifndef CTRK_DESCRIPTOR_H
#define CTRK_DESCRIPTOR_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "error.h"

#define CTRK_DESCRIPTOR_VERSION 1
#define CTRK_DESCRIPTOR_MAX (16u << 20)

/* A new, empty descriptor. */
cJSON *ctrk_descriptor_new(void);

/* Read and validate the descriptor on FD.  When FD is a terminal, or when
 * OPTIONAL is true and the input is empty, an empty descriptor is returned
 * so that a tool can also start a pipeline. */
cJSON *ctrk_descriptor_read(int fd, bool optional, ctrk_error_t *err);

/* Check the types of every field ctrk knows; unknown fields are allowed. */
int ctrk_descriptor_validate(const cJSON *d, ctrk_error_t *err);

/* Check the types of an image config's run-time defaults (Env, Entrypoint,
 * Cmd: arrays of strings; WorkingDir, User, StopSignal: strings; Volumes,
 * ExposedPorts, Labels: objects), as an image's config or the descriptor's
 * image.config.  WHAT names it in messages. */
int ctrk_image_config_validate(const cJSON *config, const char *what, ctrk_error_t *err);

/* Check one mount object {type, source, target, options[]}. */
int ctrk_mount_validate(const cJSON *m, const char *what, ctrk_error_t *err);

/* A mount object (OPTIONS may be NULL). */
cJSON *ctrk_mount_new(const char *type, const char *source, const char *target, const char *const *options);

/* Replace the rootfs mounts (target "/") with MOUNTS (taking ownership),
 * keeping every other mount, in order, after them. */
void ctrk_descriptor_set_rootfs_mounts(cJSON *d, cJSON *mounts);

/* Write D and a newline to FD: indented when FD is a terminal. */
int ctrk_descriptor_write(int fd, cJSON *d, ctrk_error_t *err);

#endif
