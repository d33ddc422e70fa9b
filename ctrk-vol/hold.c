/* hold.c: holds, the attaches whose containers have not started yet.
 *
 * A loop (or external) volume is mounted on the host by attach and
 * unmounted once nothing uses it.  ctrk-run's state shows the containers
 * that use it (inuse.c), but not a pipeline that has attached the volume and
 * not yet started its container (attach | ctrk-mount | ctrk-run run): a
 * detach of another descriptor in that window would unmount the volume
 * under it.  So attach leaves a hold for each such volume:
 *
 *   $CTRK_RUN/volumes/.holds/NAME/ID   "PID START\n"
 *
 * ID is the descriptor's hold id (16 hex digits, in each entry of its
 * "volumes" record; one per descriptor, kept by attach again), PID the
 * process that ran attach's pipeline (attach's parent: a shell, a
 * supervisor) and START its start time (field 22 of /proc/PID/stat), so
 * that a reused pid is not taken for it.  detach drops the descriptor's
 * holds.  A hold whose process is gone is stale (the pipeline died before
 * its teardown ran) and is removed where it is found; one whose process
 * lives keeps the volume mounted until a detach drops it.  Every function
 * here is called under the volume's lock (vol_lock). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "extract.h"
#include "fsutil.h"
#include "paths.h"
#include "statedir.h"
#include "vol.h"

#define HOLDS_DIR ".holds"

bool
vol_hold_id_valid(const char *id)
{
	return strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16;
}

static char *
holds_dir(const char *name)
{
	return ctrk_strdup_printf("%s/volumes/" HOLDS_DIR "/%s", ctrk_default_run(), name);
}

/* The start time of process PID (clock ticks after boot), 0 when there
 * is no such process. */
static unsigned long long
process_start(long pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	cleanup_free char *buf = NULL;
	size_t len;
	ctrk_error_t ignored;
	if (ctrk_read_file(path, 4096, &buf, &len, &ignored) < 0)
		return 0;
	/* The name in parentheses may hold anything: fields count from the
	 * last ')'.  Field 22 is the 20th after it. */
	const char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

int
vol_hold_take(const char *name, const char *id, bool *made, ctrk_error_t *err)
{
	*made = false;
	const char *run = ctrk_default_run();
	if (ctrk_private_dir(run, "volumes/" HOLDS_DIR, err) < 0)
		return -1;
	cleanup_free char *dir = holds_dir(name);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return ctrk_error_errno(err, "cannot make '%s'", dir);
	cleanup_free char *path = ctrk_strdup_printf("%s/%s", dir, id);
	long parent = (long)getppid();
	char text[64];
	int n = snprintf(text, sizeof text, "%ld %llu\n", parent, process_start(parent));
	*made = !ctrk_path_exists(path);
	/* The newest attacher of the descriptor is the one to outlive. */
	if (ctrk_write_file_atomic(path, text, (size_t)n, 0600, err) < 0)
		return ctrk_error_wrap(err, "cannot hold volume '%s'", name);
	return 0;
}

void
vol_hold_drop(const char *name, const char *id)
{
	cleanup_free char *dir = holds_dir(name);
	cleanup_free char *path = ctrk_strdup_printf("%s/%s", dir, id);
	unlink(path);
	rmdir(dir); /* when it was the last */
}

/* Is the hold at PATH one whose process still lives? */
static bool
hold_live(const char *path)
{
	cleanup_free char *buf = NULL;
	size_t len;
	ctrk_error_t ignored;
	if (ctrk_read_regular_file(path, 64, &buf, &len, &ignored) < 0)
		return false;
	long pid = 0;
	unsigned long long start = 0;
	if (sscanf(buf, "%ld %llu", &pid, &start) != 2 || pid < 1)
		return false;
	return start != 0 && process_start(pid) == start;
}

bool
vol_held(const char *name)
{
	cleanup_free char *dir = holds_dir(name);
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool held = false;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!vol_hold_id_valid(e->d_name))
			continue;
		cleanup_free char *path = ctrk_strdup_printf("%s/%s", dir, e->d_name);
		if (hold_live(path))
			held = true;
		else
			unlink(path); /* stale: its pipeline is gone */
	}
	closedir(d);
	if (!held)
		rmdir(dir);
	return held;
}

void
vol_holds_remove(const char *name)
{
	cleanup_free char *dir = holds_dir(name);
	ctrk_error_t ignored;
	ctrk_remove_tree(dir, &ignored);
}
