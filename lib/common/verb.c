#include "verb.h"

#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"

const ctrk_verb_t *
ctrk_verb_find(const ctrk_verb_t *table, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

int
ctrk_verb_usage_exit(const ctrk_verb_t *table, size_t n, const char *verb)
{
	const ctrk_verb_t *v = ctrk_verb_find(table, n, verb);
	return v && v->usage_exit ? v->usage_exit : CTRK_EXIT_USAGE;
}

static int
count_error(const ctrk_verb_t *v, int argc)
{
	int code = v->usage_exit ? v->usage_exit : CTRK_EXIT_USAGE;
	if (v->max_args == 0)
		ctrk_usage_error("'%s' takes no arguments, not %d", v->name, argc);
	else if (argc < v->min_args && v->min_args == v->max_args)
		ctrk_usage_error("'%s' takes %d argument%s, not %d", v->name, v->min_args,
				 v->min_args == 1 ? "" : "s", argc);
	else if (argc < v->min_args)
		ctrk_usage_error("'%s' takes at least %d argument%s, not %d", v->name, v->min_args,
				 v->min_args == 1 ? "" : "s", argc);
	else if (v->min_args == v->max_args)
		ctrk_usage_error("'%s' takes %d argument%s, not %d", v->name, v->max_args,
				 v->max_args == 1 ? "" : "s", argc);
	else
		ctrk_usage_error("'%s' takes at most %d argument%s, not %d", v->name, v->max_args,
				 v->max_args == 1 ? "" : "s", argc);
	return code;
}

int
ctrk_verb_dispatch(const ctrk_verb_t *table, size_t n, const char *verb, int argc, char **argv, void *ctx)
{
	if (!verb)
		return ctrk_usage_error("no verb given");
	const ctrk_verb_t *v = ctrk_verb_find(table, n, verb);
	if (!v)
		return ctrk_usage_error("unknown verb '%s'", verb);
	if (argc < v->min_args || (v->max_args != CTRK_VERB_ARGS_ANY && argc > v->max_args))
		return count_error(v, argc);
	if (v->needs_root && ctrk_require_root() != 0)
		return CTRK_EXIT_FAILURE;
	return v->fn(ctx, argc, argv);
}

int
ctrk_require_root(void)
{
	if (geteuid() == 0)
		return 0;
	ctrk_report_msg("must be run as root (effective uid %u)", (unsigned)geteuid());
	return CTRK_EXIT_FAILURE;
}
