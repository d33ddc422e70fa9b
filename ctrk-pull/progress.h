/* Per-blob progress bars on a terminal. */
#ifndef CTRK_PULL_PROGRESS_H
#define CTRK_PULL_PROGRESS_H

#include <stdbool.h>

typedef struct progress progress_t;

/* NULL (and every call a no-op) unless ENABLED. */
progress_t *progress_start(bool enabled, int nbars);
void progress_bar_init(progress_t *p, int bar, const char *label, long long total);
/* Safe from any thread. */
void progress_bar_set(progress_t *p, int bar, long long done);
void progress_bar_skip(progress_t *p, int bar, const char *why);
void progress_stop(progress_t *p);

#endif
