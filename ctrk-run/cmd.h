/* The verbs of ctrk-run. */
#ifndef CTRK_RUN_CMD_H
#define CTRK_RUN_CMD_H

#include <stdbool.h>

#include "error.h"
#include "run.h"

/* run and exec: 0 with *CODE the command's exit code, or -1 with *CODE the
 * code for the failure (125, 126, 127). */
int cmd_run(const run_opts_t *o, int *code, ctrk_error_t *err);
int cmd_exec(const run_opts_t *o, char **args, size_t nargs, int *code, ctrk_error_t *err);
/* Print the config.json `run` would write. */
int cmd_config(const run_opts_t *o, ctrk_error_t *err);

int cmd_kill(const char *id, const char *signal, ctrk_error_t *err);
/* 0 with *CODE the container's exit code. */
int cmd_wait(const char *id, int *code, ctrk_error_t *err);
int cmd_state(const char *id, ctrk_error_t *err);
int cmd_list(bool json, bool quiet, ctrk_error_t *err);
int cmd_logs(const char *id, bool follow, ctrk_error_t *err);
/* Delete container ID; print its descriptor without "container" when PRINT
 * (teardown: see ctrk-descriptor(5)).  A container that is already gone is
 * no error. */
int cmd_delete(const char *id, bool force, bool print, ctrk_error_t *err);
/* The image's StopSignal (default SIGTERM), then SIGKILL after TIMEOUT
 * seconds.  A container that has ended is no error. */
int cmd_stop(const char *id, long timeout, ctrk_error_t *err);

/* Parse a signal name ("TERM", "SIGTERM") or number. */
int parse_signal(const char *s, int *sig, ctrk_error_t *err);

#endif
