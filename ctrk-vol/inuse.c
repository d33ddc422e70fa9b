/* inuse.c: which of ctrk-run's containers use a volume.
 *
 * Read from ctrk-run's own state, never from a counter of ctrk-vol's: a
 * counter goes wrong with every crash between "count" and "start", while
 * ctrk-run's state is what the container really has.  ctrk-run keeps each
 * container in $CTRK_RUN/ID/ (see ctrk-run/container.h):
 *   config.json      the OCI bundle: "mounts" with each mount's host source
 *   descriptor.json  the descriptor the container was started from, with
 *                    "container" (pid, ...) and ctrk-vol's "volumes"
 *   owner.lock       flock(2)ed by the process that owns the container
 *                    for as long as it lives
 *   exit             written by the owner when the container has ended
 * Only these files are read; no ctrk-run code is linked in. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "mountinfo.h"
#include "paths.h"
#include "vol.h"

/* ctrk-run's own entries of $CTRK_RUN, and ours (loop mounts), which are
 * never containers. */
static bool
reserved_entry(const char *name)
{
	return name[0] == '.' || strcmp(name, "runtime") == 0 || strcmp(name, "deleted") == 0 ||
	       strcmp(name, "volumes") == 0;
}

/* Is the owner lock of the container in DIR held?  Tried shared and
 * without creating the file (a reader must leave ctrk-run's state alone). */
static bool
owner_alive(int dirfd)
{
	cleanup_close int fd = openat(dirfd, "owner.lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	while (flock(fd, LOCK_SH | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK;
	}
	return false;
}

/* Created or running, as `ctrk-run state` tells it, from files alone: an
 * exit status means stopped; a live owner means created or running.  With
 * neither (the supervisor was killed) the runtime may still run the
 * container: its recorded pid alive counts as running — when in doubt a
 * volume is in use, never unmounted under a container. */
static bool
container_running(int dirfd, const cJSON *record)
{
	if (faccessat(dirfd, "exit", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return false;
	if (owner_alive(dirfd))
		return true;
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(record, "container");
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(ct, "pid");
	if (!cJSON_IsNumber(pid) || pid->valuedouble < 1 || pid->valuedouble > 4194304)
		return false;
	return kill((pid_t)pid->valuedouble, 0) == 0 || errno == EPERM;
}

/* Does a mount in ctrk-run's config.json (OCI: "source") or a volume
 * ctrk-vol recorded in the descriptor name V?  CONTENT and REAL are V's
 * content path as vol_content_path() gives it and with symlinks resolved
 * (either may be how a mount names it); NULL for a tmpfs volume, whose
 * every mount is a fresh file system of its own. */
static bool
uses(const vol_t *v, const cJSON *config, const cJSON *record, const char *content, const char *real)
{
	const cJSON *m;
	if (content) {
		cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(config, "mounts")) {
			const char *src = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "source"));
			if (src && src[0] == '/' &&
			    (ctrk_path_under(src, content) || (real && ctrk_path_under(src, real))))
				return true;
		}
	}
	/* A descriptor's record names the volume even when its mount is a
	 * tmpfs or the content moved (a loop volume mounted elsewhere). */
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v->meta, "type"));
	if (type && strcmp(type, "tmpfs") == 0)
		return false;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(record, "volumes")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "name"));
		if (name && strcmp(name, v->name) == 0)
			return true;
	}
	return false;
}

static int
compare_ids(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static cJSON *
read_json_at(int dirfd, const char *name)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	ctrk_error_t ignored;
	return ctrk_json_read_fd(fd, 16u << 20, name, &ignored);
}

int
vol_users(const vol_t *v, bool running_only, char ***ids, ctrk_error_t *err)
{
	*ids = NULL;
	cleanup_free char *content = vol_content_path(v);
	cleanup_free char *real = content ? realpath(content, NULL) : NULL;
	size_t n = 0;
	char **out = ctrk_xcalloc(1, sizeof *out);
	const char *run = ctrk_default_run();
	DIR *d = opendir(run);
	if (!d) {
		if (errno == ENOENT) { /* no container was ever started */
			*ids = out;
			return 0;
		}
		vol_ids_free(out);
		return ctrk_error_errno(err, "cannot read ctrk-run's state directory '%s'", run);
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (reserved_entry(e->d_name))
			continue;
		cleanup_close int cfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0)
			continue;
		/* A container being deleted meanwhile reads as absent. */
		cleanup_json cJSON *config = read_json_at(cfd, "config.json");
		cleanup_json cJSON *record = read_json_at(cfd, "descriptor.json");
		if (!config && !record)
			continue;
		if (!uses(v, config, record, content, real))
			continue;
		if (running_only && !container_running(cfd, record))
			continue;
		out = ctrk_xrealloc(out, (n + 2) * sizeof *out);
		out[n++] = ctrk_xstrdup(e->d_name);
		out[n] = NULL;
	}
	closedir(d);
	/* Sorted, so that messages naming them are stable. */
	qsort(out, n, sizeof *out, compare_ids);
	*ids = out;
	return 0;
}

void
vol_ids_free(char **ids)
{
	for (char **p = ids; p && *p; p++)
		free(*p);
	free(ids);
}
