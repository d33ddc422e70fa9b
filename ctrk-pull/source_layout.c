/* Offline sources: OCI layouts and archives.  (Being written.) */
#include <errno.h>

#include "pull.h"

int
source_layout_open(const char *spec, const pull_opts_t *opts, const ctrk_store_t *store, source_t **out,
		   ctrk_error_t *err)
{
	return ctrk_error_set(err, ENOSYS, "offline sources");
}
