#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *ctrk_progname = "ctrk";

static int
error_vset(ctrk_error_t *err, int errnum, const char *fmt, va_list ap)
{
	if (!err)
		return -1;
	err->errnum = errnum;
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	if (n < 0)
		n = 0;
	if (errnum && (size_t)n < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(errnum));
	return -1;
}

int
ctrk_error_set(ctrk_error_t *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_vset(err, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int
ctrk_error_errno(ctrk_error_t *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	error_vset(err, saved, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

int
ctrk_error_wrap(ctrk_error_t *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char prefix[CTRK_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);

	/* Truncation is fine: the outer context and the start of the cause
	 * matter most. */
	char joined[2 * CTRK_ERROR_MAX + 2];
	snprintf(joined, sizeof joined, "%s: %s", prefix, err->msg);
	size_t n = strnlen(joined, sizeof err->msg - 1);
	memcpy(err->msg, joined, n);
	err->msg[n] = '\0';
	return -1;
}

void
ctrk_report(const ctrk_error_t *err)
{
	fprintf(stderr, "%s: error: %s\n", ctrk_progname, err->msg[0] ? err->msg : "unknown failure");
}

void
ctrk_vmessage(const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s: ", ctrk_progname, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
ctrk_report_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ctrk_vmessage("error", fmt, ap);
	va_end(ap);
}

void
ctrk_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ctrk_vmessage("warning", fmt, ap);
	va_end(ap);
}

void
ctrk_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ctrk_vmessage("note", fmt, ap);
	va_end(ap);
}
