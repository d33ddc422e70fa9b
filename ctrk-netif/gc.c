/* gc.c: not written yet (a step of issue 11 in progress). */
#include "netif.h"
#include "error.h"

int cmd_gc(const netif_opts_t *o, int nkeys, char **keys) { ctrk_report_msg("not implemented yet"); return 1; }

