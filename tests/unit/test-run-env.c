/* ctrk-run's environment merging (env.c) and its checks before a start
 * (checks.c): one entry per name in first-set order, a later value in
 * place; linear time on 100,000 entries; the caps; execve's limits counted
 * as the kernel counts them; paths cleaned lexically. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cleanup.h"
#include "ctrk-run/checks.h"
#include "ctrk-run/env.h"
#include "fsutil.h"
#include "tap.h"

static char *
env_joined(const run_env_t *e)
{
	size_t len = 1;
	for (size_t i = 0; i < e->n; i++)
		len += strlen(e->v[i]) + 1;
	char *s = ctrk_xcalloc(1, len);
	for (size_t i = 0; i < e->n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, e->v[i]);
	}
	return s;
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_merge(void)
{
	run_env_t e;
	ctrk_error_t err = {0};
	run_env_init(&e, 100);
	ok(run_env_set(&e, "A=1", "t", &err) == 0, "set A");
	ok(run_env_set(&e, "B=2", "t", &err) == 0, "set B");
	ok(run_env_set(&e, "C=3", "t", &err) == 0, "set C");
	ok(run_env_set(&e, "A=later", "t", &err) == 0, "set A again");
	ok(run_env_set(&e, "AB=x", "t", &err) == 0, "a name with another as its prefix");
	ok(run_env_set(&e, "B=", "t", &err) == 0, "an empty value");
	ok(run_env_set(&e, "D==x=y", "t", &err) == 0, "a value holding '='");
	cleanup_free char *s = env_joined(&e);
	is_str(s, "A=later B= C=3 AB=x D==x=y", "a later value replaces the earlier in place");
	ok(run_env_has(&e, "AB") && run_env_has(&e, "D") && !run_env_has(&e, "Z") && !run_env_has(&e, "A=later"),
	   "has: names only");
	ok(run_env_set(&e, "=x", "image config Env", &err) < 0 && strstr(err.msg, "image config Env") &&
		   strstr(err.msg, "empty name") && !strstr(err.msg, "x'"),
	   "an empty name is refused naming the field, without the value: %s", err.msg);
	ok(run_env_set(&e, "NOEQ", "t", &err) < 0 && strstr(err.msg, "NOEQ"), "a name without '=': %s", err.msg);
	run_env_free(&e);

	/* Many names in one table: every one found after the table grew. */
	run_env_init(&e, 5000);
	char kv[64];
	for (int i = 0; i < 5000; i++) {
		snprintf(kv, sizeof kv, "V%d=%d", i, i);
		run_env_set(&e, kv, "t", &err);
	}
	bool all = e.n == 5000;
	for (int i = 0; i < 5000 && all; i++) {
		snprintf(kv, sizeof kv, "V%d", i);
		all = run_env_has(&e, kv);
	}
	ok(all, "5000 names, all found");
	ok(run_env_set(&e, "V17=new", "t", &err) == 0 && strcmp(e.v[17], "V17=new") == 0 && e.n == 5000,
	   "a replacement at the cap is no new entry");
	ok(run_env_set(&e, "NEW=1", "--env", &err) < 0 && strstr(err.msg, "--env") && strstr(err.msg, "5000"),
	   "the cap is refused naming the field: %s", err.msg);
	run_env_free(&e);
}

/* 100,000 distinct names and then each again: with a list search this is
 * 10^10 comparisons (minutes); with the hash, milliseconds. */
static void
test_linear(void)
{
	run_env_t e;
	ctrk_error_t err = {0};
	run_env_init(&e, RUN_ENV_MAX);
	char kv[64];
	double t0 = now();
	int failed = 0;
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 100000; i++) {
			snprintf(kv, sizeof kv, "VARIABLE_%d=%d", i, round);
			failed += run_env_set(&e, kv, "t", &err) < 0;
		}
	cJSON *j = run_env_to_json(&e);
	double took = now() - t0;
	ok(failed == 0 && e.n == 100000 && cJSON_GetArraySize(j) == 100000 &&
		   strcmp(cJSON_GetArrayItem(j, 99999)->valuestring, "VARIABLE_99999=1") == 0,
	   "200,000 sets of 100,000 names give 100,000 entries, later values");
	/* Generous for a loaded machine: the quadratic merge took minutes. */
	ok(took < 10.0, "in %.3f s (< 10 s)", took);
	cJSON_Delete(j);
	run_env_free(&e);
}

static void
clean(const char *in, const char *want)
{
	char *out = NULL;
	ctrk_error_t err = {0};
	int rc = run_clean_path(in, "the path", &out, &err);
	is_str(rc == 0 ? out : err.msg, want, "clean '%s'", in);
	free(out);
}

static void
test_clean_path(void)
{
	clean("/", "/");
	clean("/tmp", "/tmp");
	clean("//tmp//a///", "/tmp/a");
	clean("/./a/./b/.", "/a/b");
	clean("/a/b/../c", "/a/c");
	clean("/a/../../../etc", "/etc");
	clean("/..", "/");
	clean("/a/..", "/");
	clean("/a/b/..", "/a");
	clean("/...", "/...");
	clean("/.a/..b/c.", "/.a/..b/c.");
	clean("a/b", "the path 'a/b' is not an absolute path");
	clean("", "the path '' is not an absolute path");
	clean("./a", "the path './a' is not an absolute path");

	/* PATH_MAX counts the NUL: 4095 bytes is the longest. */
	char *p = ctrk_xmalloc(PATH_MAX + 10);
	p[0] = '/';
	memset(p + 1, 'a', PATH_MAX - 2);
	p[PATH_MAX - 1] = '\0';
	char *out = NULL;
	ctrk_error_t err = {0};
	ok(run_clean_path(p, "x", &out, &err) == 0 && strlen(out) == PATH_MAX - 1, "%d bytes pass", PATH_MAX - 1);
	free(out);
	p[PATH_MAX - 1] = 'a';
	p[PATH_MAX] = '\0';
	ok(run_clean_path(p, "x", &out, &err) < 0 && strstr(err.msg, "PATH_MAX"), "%d bytes: %s", PATH_MAX, err.msg);
	/* Longer before cleaning is fine when the result is short. */
	strcpy(p, "/a");
	for (int i = 0; i < 1000; i++)
		strcat(p, "/.");
	ok(run_clean_path(p, "x", &out, &err) == 0 && strcmp(out, "/a") == 0, "cleaned length counts");
	free(out);
	free(p);
}

/* A process with NARGS arguments of ARGLEN bytes and NENV variables of
 * ENVLEN bytes (each with its NUL). */
static cJSON *
process(size_t nargs, size_t arglen, size_t nenv, size_t envlen)
{
	cJSON *p = cJSON_CreateObject();
	cJSON *args = cJSON_AddArrayToObject(p, "args"), *env = cJSON_AddArrayToObject(p, "env");
	char *s = ctrk_xmalloc(arglen > envlen ? arglen : envlen);
	for (size_t i = 0; i < nargs; i++) {
		memset(s, 'a', arglen - 1);
		s[arglen - 1] = '\0';
		cJSON_AddItemToArray(args, cJSON_CreateString(s));
	}
	for (size_t i = 0; i < nenv; i++) {
		int n = snprintf(s, envlen, "E%zu=", i);
		memset(s + n, 'v', envlen - 1 - (size_t)n);
		s[envlen - 1] = '\0';
		cJSON_AddItemToArray(env, cJSON_CreateString(s));
	}
	free(s);
	return p;
}

static void
set_stack(cJSON *p, double soft)
{
	cJSON *r = cJSON_AddArrayToObject(p, "rlimits"), *l = cJSON_CreateObject();
	cJSON_AddStringToObject(l, "type", "RLIMIT_STACK");
	cJSON_AddNumberToObject(l, "hard", soft);
	cJSON_AddNumberToObject(l, "soft", soft);
	cJSON_AddItemToArray(r, l);
}

static void
test_exec_limits(void)
{
	ctrk_error_t err = {0};
	cJSON *p;

	p = process(1, RUN_ARG_STRLEN_MAX, 1, RUN_ARG_STRLEN_MAX);
	ok(run_check_exec(p, 0, &err) == 0, "strings of MAX_ARG_STRLEN with their NUL pass");
	cJSON_Delete(p);
	p = process(3, RUN_ARG_STRLEN_MAX + 1, 0, 1);
	ok(run_check_exec(p, 1, &err) < 0 && strncmp(err.msg, "Entrypoint: argument 0 ", 23) == 0,
	   "an Entrypoint argument one byte over: %s", err.msg);
	ok(run_check_exec(p, 0, &err) < 0 && strncmp(err.msg, "Cmd: argument 0 ", 16) == 0, "a Cmd one: %s",
	   err.msg);
	cJSON_Delete(p);
	p = process(1, 8, 2, RUN_ARG_STRLEN_MAX + 1);
	ok(run_check_exec(p, 0, &err) < 0 && strstr(err.msg, "Env: variable 'E0'") && !strstr(err.msg, "vvv"),
	   "an Env string one byte over names the variable, not its value: %.80s", err.msg);
	cJSON_Delete(p);

	/* 8 MiB of stack: ARG_MAX 2 MiB.  17 variables of 128 KiB fill it. */
	p = process(1, 8, 15, RUN_ARG_STRLEN_MAX);
	set_stack(p, 8 << 20);
	ok(run_check_exec(p, 0, &err) == 0, "15 x 128 KiB within 2 MiB");
	cJSON_Delete(p);
	p = process(1, 8, 16, RUN_ARG_STRLEN_MAX);
	set_stack(p, 8 << 20);
	ok(run_check_exec(p, 0, &err) < 0 && strstr(err.msg, "Env and Cmd") && strstr(err.msg, "2097152"),
	   "16 x 128 KiB is over 2 MiB with the pointers: %s", err.msg);
	cJSON_Delete(p);
	/* Pointers count: 200,000 empty arguments are 1.6 MB of pointers. */
	p = process(300000, 1, 0, 1);
	set_stack(p, 8 << 20);
	ok(run_check_exec(p, 0, &err) < 0 && strstr(err.msg, "300000 arguments"), "pointers count: %s", err.msg);
	cJSON_Delete(p);

	/* A larger stack gives more, up to the kernel's 6 MiB. */
	p = process(1, 8, 30, RUN_ARG_STRLEN_MAX);
	set_stack(p, 64 << 20);
	ok(run_check_exec(p, 0, &err) == 0, "30 x 128 KiB with a 64 MiB stack");
	cJSON_Delete(p);
	p = process(1, 8, 60, RUN_ARG_STRLEN_MAX);
	set_stack(p, 0x1p64);
	ok(run_check_exec(p, 0, &err) < 0 && strstr(err.msg, "6291456"), "unlimited stack: 6 MiB at most: %s",
	   err.msg);
	cJSON_Delete(p);
	/* A tiny stack still has 128 KiB, as the kernel gives. */
	p = process(1, 8, 1, 100000);
	set_stack(p, 4096);
	ok(run_check_exec(p, 0, &err) == 0, "a 4 KiB stack still takes 100 KB");
	cJSON_Delete(p);
}

int
main(void)
{
	test_merge();
	test_linear();
	test_clean_path();
	test_exec_limits();
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}
