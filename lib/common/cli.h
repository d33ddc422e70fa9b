/* What every tool's main() does the same way. */
#ifndef CTRK_CLI_H
#define CTRK_CLI_H

#include "error.h"

/* Name the tool for messages and make writes to a closed pipe fail with
 * EPIPE instead of killing the process (libcurl's sockets need that). */
void ctrk_cli_init(const char *progname);

/* "ctrk-pull 0.1.0" on stdout. */
void ctrk_print_version(void);

/* Report ERR and return the exit code for it; a closed stdout (as in
 * `ctrk-pull x | head -c1`) ends quietly. */
int ctrk_fail(const ctrk_error_t *err);

/* "PROG: error: MSG" and a pointer to --help on stderr; returns 2. */
int ctrk_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For getopt_long with opterr = 0 and an optstring that starts with ':':
 * report the option it stopped at (C is ':' or '?'); returns 2. */
int ctrk_getopt_error(int c, char **argv);

/* Parse a whole number in [MIN, MAX] for option NAME; -1 when invalid. */
int ctrk_parse_int(const char *name, const char *s, long min, long max, long *out);

#endif
