/* link.c: not written yet (a step of issue 11 in progress). */
#include "netif.h"
#include "error.h"

int cmd_add(const netif_opts_t *o, const char *type) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_move(const netif_opts_t *o, const char *dev) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_del(const netif_opts_t *o, const char *ifname) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_list(const netif_opts_t *o) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_set(const netif_opts_t *o, const char *ifname) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_check(const netif_opts_t *o) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_bridge(const netif_opts_t *o, const char *verb, const char *name) { ctrk_report_msg("not implemented yet"); return 1; }

