#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

char *(*ctrk_message_filter)(const char *msg, size_t len);

/* "PROG: KIND: MSG": MSG may hold text from a registry, a layer or an image
 * config, so it is filtered (secrets) and a control character in it can
 * neither move the cursor nor start a line that looks like ours. */
static void
print_message(const char *kind, const char *msg)
{
	char *filtered = ctrk_message_filter ? ctrk_message_filter(msg, strlen(msg)) : NULL;
	const char *m = filtered ? filtered : msg;
	size_t len = strlen(m);
	char *shown = malloc(4 * len + 1);
	if (shown) {
		size_t n = 0;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)m[i];
			if (c < 0x20 || c == 0x7f)
				n += (size_t)snprintf(shown + n, 5, "\\x%02x", c);
			else
				shown[n++] = (char)c;
		}
		shown[n] = '\0';
	}
	/* One write, so that lines of threads and processes do not mix. */
	fprintf(stderr, "%s: %s: %s\n", ctrk_progname, kind, shown ? shown : "(out of memory)");
	free(shown);
	free(filtered);
}

void
ctrk_report(const ctrk_error_t *err)
{
	print_message("error", err->msg[0] ? err->msg : "unknown failure");
}

void
ctrk_vmessage(const char *kind, const char *fmt, va_list ap)
{
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0) {
		fprintf(stderr, "%s: %s: (cannot format the message)\n", ctrk_progname, kind);
		return;
	}
	print_message(kind, msg);
	free(msg);
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
