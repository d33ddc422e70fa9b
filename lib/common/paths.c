#include "paths.h"

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
