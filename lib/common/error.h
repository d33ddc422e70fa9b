/* One error idiom for all of ctrk.
 *
 * Library code never prints and never exits: a fallible function takes a
 * `ctrk_error_t *err`, fills it and returns -1 (or NULL).  Callers on the way
 * up add context with ctrk_error_wrap(), so the final message reads from the
 * outside in:  "pulling 'busybox': fetching manifest: HTTP 404 Not Found".
 * Only main() reports, through ctrk_report(), as "ctrk-TOOL: error: ...".
 */
#ifndef CTRK_ERROR_H
#define CTRK_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#define CTRK_ERROR_MAX 1024

typedef struct ctrk_error {
	int errnum; /* errno of the root cause, 0 when there is none */
	char msg[CTRK_ERROR_MAX];
} ctrk_error_t;

/* Exit codes shared by every tool (see ctrk(7)). */
enum {
	CTRK_EXIT_OK = 0,
	CTRK_EXIT_FAILURE = 1,
	CTRK_EXIT_USAGE = 2,
};

/* The tool's name for messages, set once by main(). */
extern const char *ctrk_progname;

/* Every message printed by the functions below goes through this filter
 * when it is set (by ctrk_secret_add(), see redact.h: no secret is ever
 * printed), and control characters in it are shown as \xNN.  A filter
 * returns a copy the caller frees. */
extern char *(*ctrk_message_filter)(const char *msg, size_t len);

/* Start an error.  When errnum is not 0, ": strerror(errnum)" is appended.
 * Always returns -1 so that `return ctrk_error_set(...)` reads naturally. */
int ctrk_error_set(ctrk_error_t *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same as ctrk_error_set(err, errno, ...), errno saved before formatting. */
int ctrk_error_errno(ctrk_error_t *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix the message with context: "context: previous message". Returns -1. */
int ctrk_error_wrap(ctrk_error_t *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "PROG: error: MSG" on stderr. */
void ctrk_report(const ctrk_error_t *err);

/* "PROG: error: FMT" on stderr, for main()'s own checks (usage errors). */
void ctrk_report_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "PROG: KIND: FMT" and a newline on stderr. */
void ctrk_vmessage(const char *kind, const char *fmt, va_list ap);

/* "PROG: warning: FMT" on stderr. */
void ctrk_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "PROG: note: FMT" on stderr: nothing is wrong, but the user should know
 * (a teardown step whose part was already gone). */
void ctrk_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
