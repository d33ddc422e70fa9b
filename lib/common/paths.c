#include "paths.h"

#include <errno.h>
#include <stdlib.h>

const char *
ctrk_default_root(void)
{
	const char *r = getenv("CTRK_ROOT");
	return r && *r ? r : "/var/lib/ctrk";
}

const char *
ctrk_default_run(void)
{
	const char *r = getenv("CTRK_RUN");
	return r && *r ? r : "/run/ctrk";
}

int
ctrk_env_seconds(const char *name, long def, long max, long *out, ctrk_error_t *err)
{
	const char *v = getenv(name);
	*out = def;
	if (!v || !*v)
		return 0;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || n < 1 || n > max)
		return ctrk_error_set(err, 0, "invalid %s '%s': expected seconds, 1 to %ld", name, v, max);
	*out = n;
	return 0;
}
