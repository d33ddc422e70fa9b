/* cni.c: not written yet (a step of issue 11 in progress). */
#include "netif.h"
#include "error.h"

int cmd_cni(const netif_opts_t *o, const char *verb) { ctrk_report_msg("not implemented yet"); return 1; }

int cni_teardown(const netif_opts_t *o, cJSON *d, const cJSON *entry, ctrk_error_t *err) { return ctrk_error_set(err, 0, "not implemented yet"); }

