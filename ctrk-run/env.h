/* The container's environment: "NAME=VALUE" strings in the order they were
 * first set, one per name, a later value replacing an earlier one in place
 * (the image's Env, then ctrk-run's defaults, --env-file, --env: as docker
 * merges them).
 *
 * Names are found through a hash table, so that merging N entries takes
 * time linear in N: an image with 100,000 Env entries is hostile input, and
 * must cost milliseconds, not the minutes a list search took. */
#ifndef CTRK_RUN_ENV_H
#define CTRK_RUN_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "error.h"

typedef struct run_env {
	char **v;      /* "NAME=VALUE", owned */
	size_t n, cap;
	size_t *slots; /* open addressing: index into v plus 1, 0 empty */
	size_t nslots; /* a power of two, at least twice n */
	size_t max;    /* the most entries allowed (RUN_ENV_MAX) */
} run_env_t;

/* An empty environment holding at most MAX entries. */
void run_env_init(run_env_t *e, size_t max);
void run_env_free(run_env_t *e);

/* Set KV ("NAME=VALUE", NAME not empty) in place of an entry with the same
 * NAME, or at the end.  More than E->max entries is an error (E2BIG) that
 * names WHAT. */
int run_env_set(run_env_t *e, const char *kv, const char *what, ctrk_error_t *err);

/* Whether NAME (without '=') is set. */
bool run_env_has(const run_env_t *e, const char *name);

/* The entries of ARRAY (a JSON array of "NAME=VALUE" strings, e.g. a
 * config.json's process.env) set in order; WHAT names it in errors.  Every
 * entry must be a string with a '=' after a name that is not empty. */
int run_env_set_json(run_env_t *e, const cJSON *array, const char *what, ctrk_error_t *err);

/* The entries as a JSON array of strings. */
cJSON *run_env_to_json(const run_env_t *e);

#endif
