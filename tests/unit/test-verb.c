/* lib/common/verb.c: lookup, argument counts, usage exit codes. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "tap.h"
#include "verb.h"

static int called_argc = -1;

static int
record(void *ctx, int argc, char **argv)
{
	(void)argv;
	*(int *)ctx += 1;
	called_argc = argc;
	return 7;
}

static const ctrk_verb_t table[] = {
	{"none", 0, 0, false, 0, record},
	{"one", 1, 1, false, 0, record},
	{"some", 1, 2, false, 0, record},
	{"many", 1, CTRK_VERB_ARGS_ANY, false, 125, record},
	{"root", 0, 0, true, 0, record},
};
#define N (sizeof table / sizeof *table)

int
main(void)
{
	char *args[] = {"a", "b", "c", NULL};
	int calls = 0;
	ctrk_progname = "test-verb";
	/* Usage messages go to stderr; keep the TAP output readable. */
	if (!freopen("/dev/null", "w", stderr))
		return 1;

	ok(ctrk_verb_find(table, N, "one") == &table[1], "find by name");
	ok(ctrk_verb_find(table, N, "On") == NULL, "names are case-sensitive and whole");
	ok(ctrk_verb_find(table, N, NULL) == NULL, "no name finds nothing");

	ok(ctrk_verb_dispatch(table, N, "one", 1, args, &calls) == 7 && calls == 1 && called_argc == 1,
	   "a right count runs the verb and returns its code");
	ok(ctrk_verb_dispatch(table, N, "one", 2, args, &calls) == 2 && calls == 1,
	   "an extra argument is a usage error; nothing runs");
	ok(ctrk_verb_dispatch(table, N, "one", 0, args, &calls) == 2 && calls == 1, "a missing argument too");
	ok(ctrk_verb_dispatch(table, N, "none", 1, args, &calls) == 2, "no arguments means none");
	ok(ctrk_verb_dispatch(table, N, "some", 3, args, &calls) == 2, "above the range");
	ok(ctrk_verb_dispatch(table, N, "some", 2, args, &calls) == 7, "inside the range");
	ok(ctrk_verb_dispatch(table, N, "many", 3, args, &calls) == 7, "no upper bound");
	ok(ctrk_verb_dispatch(table, N, "many", 0, args, &calls) == 125, "a verb's own usage exit code");
	ok(ctrk_verb_usage_exit(table, N, "many") == 125 && ctrk_verb_usage_exit(table, N, "one") == 2 &&
		   ctrk_verb_usage_exit(table, N, "nope") == 2,
	   "usage exit codes by name");
	ok(ctrk_verb_dispatch(table, N, "nope", 0, args, &calls) == 2, "an unknown verb is a usage error");
	ok(ctrk_verb_dispatch(table, N, NULL, 0, args, &calls) == 2, "no verb is a usage error");
	calls = 0;
	if (geteuid() == 0) {
		ok(ctrk_verb_dispatch(table, N, "root", 0, args, &calls) == 7 && calls == 1,
		   "a root verb runs as root");
		/* The same call from a child that dropped to nobody: refused
		 * with exit 1, and the verb never runs (it would return 7). */
		pid_t pid = fork();
		if (pid == 0) {
			if (setresuid(65534, 65534, 65534) < 0)
				_exit(50);
			_exit(ctrk_verb_dispatch(table, N, "root", 0, args, &calls));
		}
		int status = 0;
		waitpid(pid, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 1, "a root verb is refused to uid 65534");
	} else {
		ok(ctrk_verb_dispatch(table, N, "root", 0, args, &calls) == 1 && calls == 0,
		   "a root verb is refused to a non-root user");
	}
	return done_testing();
}
