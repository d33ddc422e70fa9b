/* A growable list of borrowed strings: what a repeatable option (--env,
 * --addr, --label) collects from argv.  The strings are not copied. */
#ifndef CTRK_STRLIST_H
#define CTRK_STRLIST_H

#include <stddef.h>

typedef struct ctrk_strlist {
	const char **v;
	size_t n;
} ctrk_strlist_t;

void ctrk_strlist_push(ctrk_strlist_t *l, const char *s);
void ctrk_strlist_free(ctrk_strlist_t *l);

#endif
