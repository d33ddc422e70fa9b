/* The container's environment (see env.h). */
#include "env.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

void
run_env_init(run_env_t *e, size_t max)
{
	*e = (run_env_t){.max = max};
}

void
run_env_free(run_env_t *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	free(e->slots);
	*e = (run_env_t){0};
}

/* The length of KV's name: up to its '=' or its end. */
static size_t
name_len(const char *kv)
{
	return strcspn(kv, "=");
}

/* FNV-1a of the name. */
static size_t
name_hash(const char *name, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* The slot holding NAME, or the empty slot where it would go. */
static size_t *
find_slot(const run_env_t *e, const char *name, size_t len)
{
	size_t mask = e->nslots - 1, i = name_hash(name, len) & mask;
	for (;;) {
		size_t *s = &e->slots[i];
		if (*s == 0)
			return s;
		const char *kv = e->v[*s - 1];
		if (name_len(kv) == len && memcmp(kv, name, len) == 0)
			return s;
		i = (i + 1) & mask;
	}
}

static void
grow(run_env_t *e)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 32;
		e->v = ctrk_xrealloc(e->v, e->cap * sizeof *e->v);
	}
	if (2 * (e->n + 1) <= e->nslots)
		return;
	free(e->slots);
	e->nslots = e->nslots ? 2 * e->nslots : 64;
	e->slots = ctrk_xcalloc(e->nslots, sizeof *e->slots);
	for (size_t i = 0; i < e->n; i++)
		*find_slot(e, e->v[i], name_len(e->v[i])) = i + 1;
}

int
run_env_set(run_env_t *e, const char *kv, const char *what, ctrk_error_t *err)
{
	size_t len = name_len(kv);
	/* The value is never shown: it may be a secret. */
	if (len == 0)
		return ctrk_error_set(err, 0, "%s: a variable with an empty name ('=...')", what);
	if (kv[len] != '=')
		return ctrk_error_set(err, 0, "%s: '%.64s' is not NAME=VALUE", what, kv);
	if (e->nslots) {
		size_t *s = find_slot(e, kv, len);
		if (*s) {
			free(e->v[*s - 1]);
			e->v[*s - 1] = ctrk_xstrdup(kv);
			return 0;
		}
	}
	if (e->n >= e->max)
		return ctrk_error_set(err, 0, "%s: more than %zu entries", what, e->max);
	grow(e);
	e->v[e->n] = ctrk_xstrdup(kv);
	*find_slot(e, kv, len) = ++e->n;
	return 0;
}

bool
run_env_has(const run_env_t *e, const char *name)
{
	return e->nslots && *find_slot(e, name, strlen(name)) != 0;
}

int
run_env_set_json(run_env_t *e, const cJSON *array, const char *what, ctrk_error_t *err)
{
	const cJSON *item;
	size_t i = 0;
	cJSON_ArrayForEach(item, array) {
		if (!cJSON_IsString(item))
			return ctrk_error_set(err, 0, "%s[%zu]: not a string", what, i);
		if (run_env_set(e, item->valuestring, what, err) < 0)
			return -1;
		i++;
	}
	return 0;
}

cJSON *
run_env_to_json(const run_env_t *e)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < e->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(e->v[i]));
	return a;
}
