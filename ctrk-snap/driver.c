/* Finding a driver, and what the drivers share. */
#include "driver.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cleanup.h"
#include "descriptor.h"
#include "fsutil.h"
#include "process.h"

int
driver_find(const char *name, driver_t *d, ctrk_error_t *err)
{
	memset(d, 0, sizeof *d);
	if (strcmp(name, "overlay") == 0)
		d->ops = &driver_overlay_ops;
	else if (strcmp(name, "native") == 0)
		d->ops = &driver_native_ops;
	else {
		/* The name becomes a directory and a program name: keep it plain. */
		if (!name[0] || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(name))
			return ctrk_error_set(err, 0, "invalid driver name '%s': use a-z, 0-9, '-' and '_'", name);
		cleanup_free char *prog = ctrk_strdup_printf("ctrk-snap-%s", name);
		d->program = ctrk_find_program(prog);
		if (!d->program)
			return ctrk_error_set(err, 0,
					      "unknown driver '%s': not overlay or native, and no '%s' on PATH", name,
					      prog);
		d->ops = &driver_exec_ops;
	}
	d->name = ctrk_xstrdup(name);
	return 0;
}

void
driver_free(driver_t *d)
{
	free(d->name);
	free(d->program);
	d->name = d->program = NULL;
}

char *
snap_fs_dir(const char *dir)
{
	return ctrk_strdup_printf("%s/fs", dir);
}

cJSON *
snap_bind_mounts(const char *fs, bool readonly)
{
	const char *opts[] = {"rbind", readonly ? "ro" : "rw", NULL};
	cJSON *a = cJSON_CreateArray();
	cJSON_AddItemToArray(a, ctrk_mount_new("bind", fs, "/", opts));
	return a;
}

int
snap_run(char *const argv[], const char *in, size_t inlen, size_t max, char **out, size_t *outlen,
	 ctrk_error_t *err)
{
	/* The driver gets the request on stdin, answers on stdout, and
	 * nothing else of ours; its messages go to our stderr. */
	ctrk_spawn_t s = {.argv = argv, .stdio = {-1, -1, -1}};
	cleanup_free char *buf = NULL;
	size_t len = 0;
	int status;
	if (ctrk_spawn_capture(&s, in, inlen, out ? max : (1u << 20), &buf, &len, NULL, &status, err) < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFEXITED(status))
			return ctrk_error_set(err, 0, "'%s' failed with exit status %d", argv[0], WEXITSTATUS(status));
		return ctrk_error_set(err, 0, "'%s' was killed by signal %d", argv[0], WTERMSIG(status));
	}
	if (out) {
		*out = steal_pointer(&buf);
		*outlen = len;
	}
	return 0;
}

int
snap_copy_tree(const char *src, const char *dst, ctrk_error_t *err)
{
	/* cp -a keeps everything a layer can hold (owners, modes, times,
	 * xattrs, hardlinks, devices) and reflinks where the file system can. */
	cleanup_free char *from = ctrk_strdup_printf("%s/.", src);
	char *argv[] = {"/bin/cp", "-a", "--reflink=auto", "--", from, (char *)dst, NULL};
	if (snap_run(argv, NULL, 0, 0, NULL, NULL, err) < 0)
		return ctrk_error_wrap(err, "cannot copy '%s' to '%s'", src, dst);
	return 0;
}
