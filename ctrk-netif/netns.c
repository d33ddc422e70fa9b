/* netns.c: not written yet (a step of issue 11 in progress). */
#include "netif.h"
#include "error.h"

int cmd_ns(const netif_opts_t *o, int argc, char **argv) { ctrk_report_msg("not implemented yet"); return 1; }

int netns_open(const netif_opts_t *o, const cJSON *d, bool required, char **path, ctrk_error_t *err) { return ctrk_error_set(err, 0, "not implemented yet"); }

int netns_remove(const char *path, ctrk_error_t *err) { return ctrk_error_set(err, 0, "not implemented yet"); }

