#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
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

int
ctrk_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ctrk_vmessage("error", fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", ctrk_progname);
	return CTRK_EXIT_USAGE;
}

int
ctrk_getopt_error(int c, char **argv)
{
	const char *opt = argv[optind - 1];
	if (c == ':')
		return ctrk_usage_error("option '%s' requires an argument", opt);
	if (optopt && opt[0] == '-' && opt[1] != '-')
		return ctrk_usage_error("unknown option '-%c'", optopt);
	return ctrk_usage_error("unknown option '%s'", opt);
}
