#include "rundir.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "lock.h"
#include "paths.h"
#include "statedir.h"

#define DEFAULT_RUN "/run/ctrk"

char *
rundir_path(void)
{
	char buf[PATH_MAX];
	const char *run = ctrk_default_run();
	return ctrk_xstrdup(realpath(run, buf) ? buf : run);
}

char *
rundir_cgroup_parent(void)
{
	cleanup_free char *run = rundir_path();
	if (strcmp(run, DEFAULT_RUN) == 0)
		return ctrk_xstrdup("ctrk");
	/* FNV-1a: short and stable; it only has to tell apart the few state
	 * directories of one host, and a reader can match it by hand. */
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)run; *p; p++)
		h = (h ^ *p) * 16777619u;
	return ctrk_strdup_printf("ctrk-%08x", h);
}

static char *
runtime_dir(void)
{
	cleanup_free char *run = rundir_path();
	return ctrk_strdup_printf("%s/runtime", run);
}

char *
rundir_runtime_root(const char *runtime_name, ctrk_error_t *err)
{
	cleanup_free char *sub = ctrk_strdup_printf("runtime/%s", runtime_name);
	if (ctrk_private_dir(ctrk_default_run(), sub, err) < 0)
		return NULL;
	cleanup_free char *dir = runtime_dir();
	return ctrk_strdup_printf("%s/%s", dir, runtime_name);
}

static char *
lock_path(void)
{
	cleanup_free char *dir = runtime_dir();
	return ctrk_strdup_printf("%s/cgroup.lock", dir);
}

int
rundir_hold(ctrk_error_t *err)
{
	if (ctrk_private_dir(ctrk_default_run(), "runtime", err) < 0)
		return -1;
	cleanup_free char *path = lock_path();
	return ctrk_lock_file(path, false, err);
}

/* rmdir NAME under every hierarchy: /sys/fs/cgroup/NAME (v2) and
 * /sys/fs/cgroup/CONTROLLER/NAME (v1, hybrid). */
static void
rmdir_everywhere(const char *name)
{
	cleanup_free char *top = ctrk_strdup_printf("/sys/fs/cgroup/%s", name);
	rmdir(top);
	DIR *d = opendir("/sys/fs/cgroup");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		cleanup_free char *p = ctrk_strdup_printf("/sys/fs/cgroup/%s/%s", e->d_name, name);
		rmdir(p);
	}
	closedir(d);
}

void
rundir_remove_cgroups(const char *id)
{
	cleanup_free char *parent = rundir_cgroup_parent();
	if (id) {
		cleanup_free char *leaf = ctrk_strdup_printf("%s/%s", parent, id);
		rmdir_everywhere(leaf);
	}
	/* A start holds the lock shared from before the runtime makes the
	 * cgroup: while anyone holds it, the parent may be about to be used. */
	cleanup_free char *path = lock_path();
	if (!ctrk_path_exists(path))
		return;
	ctrk_error_t ignored;
	cleanup_close int fd = ctrk_lock_file_try(path, true, &ignored);
	if (fd >= 0)
		rmdir_everywhere(parent);
}
