#include "strlist.h"

#include <stdlib.h>

#include "fsutil.h"

void
ctrk_strlist_push(ctrk_strlist_t *l, const char *s)
{
	l->v = ctrk_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = s;
}

void
ctrk_strlist_free(ctrk_strlist_t *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
