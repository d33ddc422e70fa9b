/* store.c: not written yet (a step of issue 12 in progress). */
#include "vol.h"

int cmd_create(const vol_opts_t *o, const char *name) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_rm(const vol_opts_t *o, int argc, char **argv) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_ls(const vol_opts_t *o) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_inspect(const vol_opts_t *o, int argc, char **argv) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_exists(const vol_opts_t *o, const char *name) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_path(const vol_opts_t *o, const char *name) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_prune(const vol_opts_t *o) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_check(const vol_opts_t *o) { ctrk_report_msg("not implemented yet"); return 1; }

