/* One verb table for every tool that has verbs (ctrk-run, ctrk-snap, and the
 * tools to come), as git's builtin table and crun's command list do it.
 *
 * A tool lists its verbs once: name, how many arguments each takes, whether
 * it needs root, and the function.  ctrk_verb_dispatch() finds the verb,
 * refuses a wrong argument count as a usage error (so "wait a b" is refused,
 * never half done), checks root, and calls the function.  The same table
 * can print the verb list of --help. */
#ifndef CTRK_VERB_H
#define CTRK_VERB_H

#include <stdbool.h>
#include <stddef.h>

#define CTRK_VERB_ARGS_ANY (-1)

typedef struct ctrk_verb {
	const char *name;
	int min_args, max_args; /* max_args CTRK_VERB_ARGS_ANY: no upper bound */
	bool needs_root;
	/* Exit code of a usage error of this verb; 0 means CTRK_EXIT_USAGE (2).
	 * ctrk-run's run and exec use 125: 2 could be the command's own status. */
	int usage_exit;
	/* The verb itself: ARGV holds the ARGC arguments after the verb (the
	 * options already parsed into CTX).  Returns the exit code. */
	int (*fn)(void *ctx, int argc, char **argv);
} ctrk_verb_t;

/* The entry named NAME in TABLE (N entries), or NULL. */
const ctrk_verb_t *ctrk_verb_find(const ctrk_verb_t *table, size_t n, const char *name);

/* Check VERB's argument count (and root when it needs it), then run it.
 * An unknown VERB, or a wrong count, is a usage error naming the verb. */
int ctrk_verb_dispatch(const ctrk_verb_t *table, size_t n, const char *verb, int argc, char **argv,
		       void *ctx);

/* The exit code of a usage error of VERB (2 unless its entry says other). */
int ctrk_verb_usage_exit(const ctrk_verb_t *table, size_t n, const char *verb);

/* Returns 0 when the process runs as root; otherwise reports, in one line,
 * "PROG: error: must be run as root (effective uid N)" and returns
 * CTRK_EXIT_FAILURE.  For tools and verbs that mount, chown or start
 * containers, so they say so at once instead of failing later on EPERM. */
int ctrk_require_root(void);

#endif
