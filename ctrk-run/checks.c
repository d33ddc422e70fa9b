/* What ctrk-run checks before it starts anything (see checks.h). */
#include "checks.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fsutil.h"

/* The kernel's bounds on ARG_MAX (fs/exec.c, bprm_stack_limits): a quarter
 * of the stack limit, at most three quarters of _STK_LIM (8 MiB), at least
 * 32 pages. */
#define KERNEL_ARG_MAX_CEIL (8ull << 20) / 4 * 3
#define KERNEL_ARG_MAX_FLOOR (32ull * 4096)

/* The soft RLIMIT_STACK the process will have: its rlimits' when it sets
 * one, else ctrk-run's own (the runtime passes that on). */
static unsigned long long
stack_limit(const cJSON *process)
{
	const cJSON *r;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(process, "rlimits")) {
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(r, "type");
		const cJSON *soft = cJSON_GetObjectItemCaseSensitive(r, "soft");
		if (cJSON_IsString(type) && strcmp(type->valuestring, "RLIMIT_STACK") == 0 && cJSON_IsNumber(soft))
			return soft->valuedouble >= 0x1p64 ? ~0ull : (unsigned long long)soft->valuedouble;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_STACK, &rl) < 0)
		return 8ull << 20;
	return rl.rlim_cur == RLIM_INFINITY ? ~0ull : (unsigned long long)rl.rlim_cur;
}

static unsigned long long
arg_max(const cJSON *process)
{
	unsigned long long limit = stack_limit(process) / 4;
	if (limit > KERNEL_ARG_MAX_CEIL)
		limit = KERNEL_ARG_MAX_CEIL;
	if (limit < KERNEL_ARG_MAX_FLOOR)
		limit = KERNEL_ARG_MAX_FLOOR;
	return limit;
}

/* Which field argument I (0-based) came from. */
static const char *
arg_field(size_t i, size_t n_entrypoint)
{
	return i < n_entrypoint ? "Entrypoint" : "Cmd";
}

int
run_check_exec(const cJSON *process, size_t n_entrypoint, ctrk_error_t *err)
{
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(process, "args");
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(process, "env");
	const cJSON *s;
	unsigned long long bytes[2] = {0, 0}, count[2] = {0, 0};
	size_t i = 0;
	cJSON_ArrayForEach(s, args) {
		size_t len = strlen(s->valuestring) + 1;
		if (len > RUN_ARG_STRLEN_MAX)
			return ctrk_error_set(err, E2BIG,
					      "%s: argument %zu is %zu bytes long, more than execve takes (%d)",
					      arg_field(i, n_entrypoint), i < n_entrypoint ? i : i - n_entrypoint,
					      len - 1, RUN_ARG_STRLEN_MAX - 1);
		bytes[0] += len;
		count[0]++;
		i++;
	}
	cJSON_ArrayForEach(s, env) {
		size_t len = strlen(s->valuestring) + 1;
		/* Only the name: the value may be a secret. */
		if (len > RUN_ARG_STRLEN_MAX)
			return ctrk_error_set(err, E2BIG,
					      "Env: variable '%.*s' is %zu bytes long, more than execve takes (%d)",
					      (int)(strcspn(s->valuestring, "=") < 64 ? strcspn(s->valuestring, "=") : 64),
					      s->valuestring, len - 1, RUN_ARG_STRLEN_MAX - 1);
		bytes[1] += len;
		count[1]++;
	}
	/* As execve counts: every string with its NUL, a pointer for each and
	 * for the two NULLs that end the lists, and the program's path (the
	 * runtime passes the one it found in PATH: at most PATH_MAX). */
	unsigned long long total = bytes[0] + bytes[1] + (count[0] + count[1] + 2) * sizeof(void *) + PATH_MAX;
	unsigned long long limit = arg_max(process);
	if (total > limit)
		return ctrk_error_set(err, E2BIG,
				      "Env and Cmd take %llu bytes, more than execve takes (ARG_MAX %llu for this stack "
				      "limit): Env %llu variables, %llu bytes; Entrypoint and Cmd %llu arguments, %llu "
				      "bytes",
				      total, limit, count[1], bytes[1], count[0], bytes[0]);
	return 0;
}

int
run_clean_path(const char *path, const char *what, char **out, ctrk_error_t *err)
{
	if (path[0] != '/')
		return ctrk_error_set(err, 0, "%s '%.256s' is not an absolute path", what, path);
	size_t n = strlen(path);
	char *buf = ctrk_xmalloc(n + 2);
	size_t len = 0; /* buf holds "" for the root, else "/a/b" */
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		size_t c = strcspn(p, "/");
		if (c == 0 || (c == 1 && p[0] == '.')) {
			/* nothing */
		} else if (c == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && buf[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
		} else {
			buf[len++] = '/';
			memcpy(buf + len, p, c);
			len += c;
		}
		p += c;
	}
	if (len == 0)
		buf[len++] = '/';
	buf[len] = '\0';
	if (len >= PATH_MAX) {
		free(buf);
		return ctrk_error_set(err, ENAMETOOLONG, "%s is %zu bytes long, more than PATH_MAX (%d)", what, len,
				      PATH_MAX - 1);
	}
	*out = buf;
	return 0;
}
