/* Progress of a pull on a terminal: one line per blob, redrawn in place and
 * cut to the terminal's width, then a one-line summary. */
#ifndef CTRK_PULL_PROGRESS_H
#define CTRK_PULL_PROGRESS_H

#include <stdbool.h>

typedef struct progress progress_t;

/* NULL (and every call a no-op) unless ENABLED. Starts the clock. */
progress_t *progress_new(bool enabled);
/* A group of NBARS lines below the earlier groups; the lines are redrawn
 * until progress_end(). */
void progress_begin(progress_t *p, int nbars);
void progress_bar_init(progress_t *p, int bar, const char *label, long long total);
/* The transfer of BAR starts (OFFSET bytes are there from an earlier try). */
void progress_bar_start(progress_t *p, int bar, long long offset);
/* Safe from any thread, and cheap: called for every chunk received. */
void progress_bar_set(progress_t *p, int bar, long long done);
void progress_bar_done(progress_t *p, int bar);
void progress_bar_exists(progress_t *p, int bar);
/* The group's last frame; the redraw thread ends. */
void progress_end(progress_t *p);
/* "pulled WHAT: N blobs, SIZE in T s (RATE)", on one line. */
void progress_summary(progress_t *p, const char *what);
void progress_free(progress_t *p);

#endif
