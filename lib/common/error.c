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

	/* When both do not fit, the context gives way ("..." marks the cut),
	 * down to its first MIN_CONTEXT characters: it is long only when it
	 * quotes a long subject (a hostile reference, a path), which the cause
	 * mostly quotes again, and cutting the cause would lose why (found by
	 * make fuzz: a 961-character reference lost "must not be more than
	 * 255 characters").  Past that, the end of the cause is cut. */
	enum { MIN_CONTEXT = 128 };
	size_t avail = sizeof err->msg - 1;
	size_t plen = strlen(prefix);
	size_t mlen = strnlen(err->msg, avail);
	if (plen + 2 + mlen > avail && plen > MIN_CONTEXT) {
		size_t room = mlen + 2 < avail ? avail - 2 - mlen : 0;
		size_t cut = (room > MIN_CONTEXT ? room : MIN_CONTEXT) - 3;
		/* Not inside a UTF-8 sequence. */
		while (cut > 0 && ((unsigned char)prefix[cut] & 0xC0) == 0x80)
			cut--;
		memcpy(prefix + cut, "...", 4);
	}
	char joined[2 * CTRK_ERROR_MAX + 2];
	snprintf(joined, sizeof joined, "%s: %s", prefix, err->msg);
	size_t n = strnlen(joined, avail);
	while (n > 0 && ((unsigned char)joined[n] & 0xC0) == 0x80)
		n--;
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
