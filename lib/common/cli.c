#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

void
ctrk_cli_init(const char *progname)
{
	ctrk_progname = progname;
	signal(SIGPIPE, SIG_IGN);
}

void
ctrk_print_version(void)
{
	printf("%s %s\n", ctrk_progname, CTRK_VERSION);
}

int
ctrk_fail(const ctrk_error_t *err)
{
	if (err->errnum != EPIPE)
		ctrk_report(err);
	return CTRK_EXIT_FAILURE;
}

int
ctrk_parse_int(const char *name, const char *s, long min, long max, long *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || !end || end == s || *end || v < min || v > max) {
		ctrk_report_msg("invalid %s '%s': expected a whole number from %ld to %ld", name, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}
