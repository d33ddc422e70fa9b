/* archive.c: not written yet (a step of issue 12 in progress). */
#include "vol.h"

int cmd_export(const vol_opts_t *o, const char *name) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_import(const vol_opts_t *o, const char *name) { ctrk_report_msg("not implemented yet"); return 1; }

