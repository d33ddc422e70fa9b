/* The OCI runtime bundle's config.json (runtime-spec 1.0.2) for a container:
 * the image's config, overridden by the command line, with Docker's
 * security defaults. */
#ifndef CTRK_RUN_SPEC_H
#define CTRK_RUN_SPEC_H

#include <cjson/cJSON.h>

#include "error.h"
#include "run.h"

/* Build the config for O from descriptor D (may be empty) on the root file
 * system at ROOTFS (an absolute path).  The user is resolved in ROOTFS's own
 * /etc/passwd and /etc/group. */
cJSON *spec_build(const run_opts_t *o, const cJSON *d, const char *rootfs, ctrk_error_t *err);

/* The process of an `exec` into a container whose config is CONFIG: its
 * env, user, cwd and capabilities, with ARGS, TTY and O's -e/-u/-w applied. */
cJSON *spec_exec_process(const cJSON *config, const run_opts_t *o, char **args, size_t nargs, ctrk_error_t *err);

/* Parse "NUMBER[kmg]" (binary units) into *BYTES. */
int spec_parse_size(const char *s, long long *bytes);

#endif
