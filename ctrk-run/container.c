#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "lock.h"
#include "process.h"
#include "paths.h"
#include "statedir.h"

int
container_init(const char *id, container_t *c, ctrk_error_t *err)
{
	memset(c, 0, sizeof *c);
	/* The id names a directory, a cgroup and the runtime's container:
	 * what runc accepts, and no more. */
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t n = strlen(id);
	if (n == 0 || n > 128 || strspn(id, ok) != n || id[0] == '.' || id[0] == '-')
		return ctrk_error_set(err, 0,
				      "invalid container id '%s': use letters, digits, '_', '.' and '-' "
				      "(not first), at most 128",
				      id);
	/* $CTRK_RUN/runtime and $CTRK_RUN/deleted are ctrk-run's own;
	 * $CTRK_RUN/volumes is ctrk-vol's (where loop volumes are mounted). */
	if (strcmp(id, "runtime") == 0 || strcmp(id, "deleted") == 0 || strcmp(id, "volumes") == 0)
		return ctrk_error_set(err, 0, "invalid container id '%s': the name is reserved", id);
	c->id = ctrk_xstrdup(id);
	c->dir = ctrk_strdup_printf("%s/%s", ctrk_default_run(), id);
	c->config = ctrk_strdup_printf("%s/config.json", c->dir);
	c->record = ctrk_strdup_printf("%s/descriptor.json", c->dir);
	c->tombstone = ctrk_strdup_printf("%s/deleted/%s.json", ctrk_default_run(), id);
	c->lock = ctrk_strdup_printf("%s/owner.lock", c->dir);
	c->exit = ctrk_strdup_printf("%s/exit", c->dir);
	c->log = ctrk_strdup_printf("%s/log", c->dir);
	c->runtime_log = ctrk_strdup_printf("%s/runtime.log", c->dir);
	c->pidfile = ctrk_strdup_printf("%s/pid", c->dir);
	c->console = ctrk_strdup_printf("%s/console.sock", c->dir);
	return 0;
}

void
container_free(container_t *c)
{
	char **paths[] = {&c->id, &c->dir, &c->config, &c->record, &c->lock, &c->exit,
			  &c->log, &c->runtime_log, &c->pidfile, &c->console, &c->tombstone};
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
		free(*paths[i]);
		*paths[i] = NULL;
	}
}

cJSON *
container_load(const container_t *c, ctrk_error_t *err)
{
	if (!ctrk_path_exists(c->record))
		return ctrk_error_set(err, 0, "no container '%s'", c->id), NULL;
	cJSON *r = ctrk_json_read_file(c->record, 16u << 20, err);
	if (!r)
		return ctrk_error_wrap(err, "reading container '%s'", c->id), NULL;
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "container"))) {
		cJSON_Delete(r);
		return ctrk_error_set(err, 0, "'%s' has no container object", c->record), NULL;
	}
	return r;
}

int
container_write_file(const container_t *c, const char *path, const char *text, ctrk_error_t *err)
{
	/* Run-time state, on tmpfs (/run) as a rule: a crash forgets it anyway,
	 * so an fsync would cost time and buy nothing. */
	return ctrk_replace_file(path, text, strlen(text), 0600, err);
}

int
container_save(const container_t *c, const cJSON *record, ctrk_error_t *err)
{
	cleanup_free char *text = ctrk_json_render(record, true);
	cleanup_free char *line = ctrk_strdup_printf("%s\n", text);
	return container_write_file(c, c->record, line, err);
}

int
container_set_status(const container_t *c, cJSON *record, const char *status, int exit_code, ctrk_error_t *err)
{
	cJSON *ct = cJSON_GetObjectItemCaseSensitive(record, "container");
	ctrk_json_set(ct, "status", cJSON_CreateString(status));
	if (exit_code >= 0)
		ctrk_json_set(ct, "exitCode", cJSON_CreateNumber(exit_code));
	return container_save(c, record, err);
}

int
container_write_exit(const container_t *c, int wait_status, ctrk_error_t *err)
{
	cleanup_json cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "exitCode", ctrk_exit_code(wait_status));
	if (WIFSIGNALED(wait_status))
		cJSON_AddNumberToObject(e, "signal", WTERMSIG(wait_status));
	cleanup_free char *now = container_now();
	cJSON_AddStringToObject(e, "finishedAt", now);
	cleanup_free char *text = ctrk_json_render(e, false);
	return container_write_file(c, c->exit, text, err);
}

int
container_read_exit(const container_t *c, int *code)
{
	ctrk_error_t ignored;
	cleanup_json cJSON *e = ctrk_json_read_file(c->exit, 4096, &ignored);
	long long v;
	if (!e || ctrk_json_get_int64(e, "exitCode", true, &v, "exit", &ignored) < 0)
		return 0;
	*code = (int)v;
	return 1;
}

bool
container_owned(const container_t *c)
{
	ctrk_error_t err;
	if (!ctrk_path_exists(c->lock))
		return false;
	int fd = ctrk_lock_file_try(c->lock, false, &err);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return err.errnum == EWOULDBLOCK;
}

int
container_remove(const container_t *c, ctrk_error_t *err)
{
	const char *files[] = {c->config, c->record, c->exit, c->log, c->runtime_log, c->pidfile, c->console, c->lock};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		if (unlink(files[i]) < 0 && errno != ENOENT)
			return ctrk_error_errno(err, "cannot remove '%s'", files[i]);
	/* Not empty: the rootfs (ctrk-mount's) or something of the user's. */
	if (rmdir(c->dir) < 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EBUSY)
		return ctrk_error_errno(err, "cannot remove '%s'", c->dir);
	return 0;
}

int
container_bury(const container_t *c, const cJSON *descriptor, ctrk_error_t *err)
{
	if (ctrk_private_dir(ctrk_default_run(), "deleted", err) < 0)
		return -1;
	cleanup_free char *text = ctrk_json_render(descriptor, false);
	cleanup_free char *line = ctrk_strdup_printf("%s\n", text);
	return ctrk_replace_file(c->tombstone, line, strlen(line), 0600, err);
}

cJSON *
container_tombstone(const container_t *c)
{
	ctrk_error_t ignored;
	if (!ctrk_path_exists(c->tombstone))
		return NULL;
	return ctrk_json_read_file(c->tombstone, 16u << 20, &ignored);
}

char *
container_now(void)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char buf[64];
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	return ctrk_strdup_printf("%s.%09ldZ", buf, ts.tv_nsec);
}
