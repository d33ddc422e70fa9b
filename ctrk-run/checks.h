/* What ctrk-run checks before it starts anything: the caps on what a
 * descriptor or image may ask for, the kernel's limits on execve, and
 * paths cleaned as the runtime would otherwise misread them.  Each is
 * checked here so that a container the runtime would trip over mid-start is
 * refused with exit 125 and a message naming the field (ctrk-run(1),
 * LIMITS). */
#ifndef CTRK_RUN_CHECKS_H
#define CTRK_RUN_CHECKS_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "error.h"

/* Caps.  The descriptor (16 MiB) and the image config (8 MiB) are capped
 * where they are read (lib/common); these bound what they hold.  No real
 * image comes near them; the kernel's exec limits below are tighter still
 * for Env and the command with the default 8 MiB stack. */
#define RUN_ENV_MAX (1u << 17)    /* environment variables, after merging */
#define RUN_ARGS_MAX (1u << 17)   /* arguments: Entrypoint and Cmd */
#define RUN_MOUNTS_MAX 4096u      /* container mounts: descriptor, --mount, --tmpfs */
#define RUN_CONFIG_MAX (16u << 20) /* the config.json written, and read by exec */

/* The kernel's limit on one argument or environment string, its NUL
 * included (MAX_ARG_STRLEN, 32 pages). */
#define RUN_ARG_STRLEN_MAX (32 * 4096)

/* Check PROCESS (a runtime-spec process: args, env, rlimits) against
 * execve's limits as the kernel counts them: no string of args or env over
 * RUN_ARG_STRLEN_MAX, and all of them with their pointers within ARG_MAX
 * for the process's stack limit (its RLIMIT_STACK, else ctrk-run's own).
 * N_ENTRYPOINT of the args come from the Entrypoint, the rest from the Cmd
 * (or the command line): the message names Env, Entrypoint or Cmd. */
int run_check_exec(const cJSON *process, size_t n_entrypoint, ctrk_error_t *err);

/* PATH (WHAT names it) as an absolute path cleaned lexically, as Go's
 * path.Clean does: no "." or ".." components (".." at the root stays
 * there), no "//", no trailing "/".  A relative path, or a cleaned one of
 * PATH_MAX bytes or more, is an error.  The caller frees *OUT. */
int run_clean_path(const char *path, const char *what, char **out, ctrk_error_t *err);

#endif
