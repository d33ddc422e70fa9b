/* libFuzzer target: ctrk-run's reading of the image's /etc/passwd and
 * /etc/group (hostile files) and of -u/--group-add.
 *
 * The input is up to four parts split at 0xff bytes: the user spec, the
 * --group-add list (split at ','), /etc/passwd, /etc/group; a part that is
 * missing is a file the container does not have.  Each file is passed in a
 * buffer of its exact size, so that a read past its end is caught.  Besides
 * never crashing or leaking, a lookup that succeeds must give ids in
 * 0..2^31-1 and supplementary groups sorted, unique and without the primary
 * gid; one that fails must leave the result empty and say why. */
/* fuzz-sources: ctrk-run/user.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctrk-run/user.h"

#define MAX_EXTRA 8

/* The next part of [*P, END) up to a 0xff byte, as a new buffer of exactly
 * its size (NULL, *LEN 0 when the input has ended). */
static char *
next_part(const uint8_t **p, const uint8_t *end, size_t *len)
{
	if (*p > end)
		return *len = 0, NULL;
	const uint8_t *sep = memchr(*p, 0xff, (size_t)(end - *p));
	const uint8_t *stop = sep ? sep : end;
	*len = (size_t)(stop - *p);
	char *buf = malloc(*len ? *len : 1);
	if (*len)
		memcpy(buf, *p, *len);
	*p = sep ? sep + 1 : end + 1;
	return buf;
}

static char *
as_string(const char *buf, size_t len)
{
	char *s = malloc(len + 1);
	if (len)
		memcpy(s, buf, len);
	s[len] = '\0';
	return s;
}

static void
check(const run_user_t *u)
{
	if (u->uid > 2147483647u || u->gid > 2147483647u)
		abort();
	if ((u->n_additional == 0) != (u->additional_gids == NULL))
		abort();
	for (size_t i = 0; i < u->n_additional; i++) {
		gid_t g = u->additional_gids[i];
		if (g > 2147483647u || g == u->gid || (i > 0 && u->additional_gids[i - 1] >= g))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	size_t speclen, extralen, pwlen, grlen;
	char *specbuf = next_part(&p, end, &speclen);
	char *extrabuf = next_part(&p, end, &extralen);
	char *pw = next_part(&p, end, &pwlen);
	char *gr = next_part(&p, end, &grlen);
	char *spec = specbuf ? as_string(specbuf, speclen) : NULL;
	char *extra = extrabuf ? as_string(extrabuf, extralen) : NULL;
	const char *groups[MAX_EXTRA];
	size_t ngroups = 0;
	for (char *s = extra, *save = NULL, *tok; s && ngroups < MAX_EXTRA && (tok = strtok_r(s, ",", &save)); s = NULL)
		groups[ngroups++] = tok;

	run_user_t u;
	ctrk_error_t err = {0};
	if (run_user_resolve_text(pw, pwlen, gr, grlen, spec, groups, ngroups, &u, &err) == 0)
		check(&u);
	else if (!err.msg[0] || u.uid || u.gid || u.home || u.additional_gids || u.n_additional)
		abort();
	run_user_free(&u);
	free(specbuf);
	free(extrabuf);
	free(pw);
	free(gr);
	free(spec);
	free(extra);
	return 0;
}
