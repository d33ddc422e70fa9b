/* attach.c: not written yet (a step of issue 12 in progress). */
#include "vol.h"

int cmd_attach(const vol_opts_t *o, int argc, char **argv) { ctrk_report_msg("not implemented yet"); return 1; }

int cmd_detach(const vol_opts_t *o) { ctrk_report_msg("not implemented yet"); return 1; }

