#include "inuse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "fsutil.h"
#include "lock.h"
#include "paths.h"

int
inuse_fd_above(int fd, int min_fd)
{
	if (fd < 0 || fd >= min_fd)
		return fd;
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
	close(fd);
	return moved;
}

/* The container of this state directory whose recorded rootfs is ROOTFS
 * and whose owner lives.  Caller frees; NULL when none. */
static char *
holder_here(const char *rootfs)
{
	DIR *d = opendir(ctrk_default_run());
	if (!d)
		return NULL;
	char *found = NULL;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		container_t c = {0};
		ctrk_error_t ignored;
		if (e->d_name[0] == '.' || container_init(e->d_name, &c, &ignored) < 0)
			continue;
		cleanup_json cJSON *r = ctrk_path_exists(c.record) ? container_load(&c, &ignored) : NULL;
		const cJSON *ct = cJSON_GetObjectItemCaseSensitive(r, "container");
		const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ct, "rootfs"));
		if (p && strcmp(p, rootfs) == 0 && container_owned(&c))
			found = ctrk_xstrdup(c.id);
		container_free(&c);
	}
	closedir(d);
	return found;
}

/* A process other than this one with the directory ST open: the owner
 * keeps its locked descriptor for the container's life.  For where
 * /proc/locks cannot tell (a /proc of another pid namespace shows the
 * holder as -1 or 0; an overlay's inode number there need not be the one
 * stat gives).  0 when none is found. */
static long
holder_by_fd(const struct stat *st)
{
	DIR *procs = opendir("/proc");
	struct dirent *p;
	long found = 0;
	while (!found && procs && (p = readdir(procs))) {
		char *end;
		long pid = strtol(p->d_name, &end, 10);
		if (*end || pid <= 0 || pid == (long)getpid())
			continue;
		char path[64];
		snprintf(path, sizeof path, "/proc/%ld/fd", pid);
		DIR *fds = opendir(path);
		struct dirent *f;
		while (!found && fds && (f = readdir(fds))) {
			struct stat got;
			if (f->d_name[0] != '.' && fstatat(dirfd(fds), f->d_name, &got, 0) == 0 && S_ISDIR(got.st_mode) &&
			    got.st_dev == st->st_dev && got.st_ino == st->st_ino)
				found = pid;
		}
		if (fds)
			closedir(fds);
	}
	if (procs)
		closedir(procs);
	return found;
}

/* The pid that holds a flock on the inode of ST, from /proc/locks, else
 * a process that has it open; 0 when it cannot be told. */
static long
holder_pid(const struct stat *st)
{
	cleanup_fclose FILE *f = fopen("/proc/locks", "re");
	char line[256];
	while (f && fgets(line, sizeof line, f)) {
		char kind[16];
		long pid;
		unsigned maj, min;
		unsigned long ino;
		if (sscanf(line, "%*[^:]: %15s %*s %*s %ld %x:%x:%lu", kind, &pid, &maj, &min, &ino) == 5 &&
		    strcmp(kind, "FLOCK") == 0 && ino == st->st_ino && makedev(maj, min) == st->st_dev && pid > 0)
			return pid;
	}
	return holder_by_fd(st);
}

#define HINT ": stop it first, or use --force"

int
inuse_lock_rootfs(const char *rootfs, int min_fd, ctrk_error_t *err)
{
	int fd = ctrk_lock_dir(rootfs, false, err);
	if (fd < 0 && err->errnum != EWOULDBLOCK)
		return ctrk_error_set(err, err->errnum, "cannot open root file system '%s'", rootfs);
	if (fd >= 0) {
		/* The copy above MIN_FD shares the open file, so the lock. */
		if ((fd = inuse_fd_above(fd, min_fd)) < 0)
			return ctrk_error_errno(err, "cannot move a descriptor above %d", min_fd);
		return fd;
	}
	struct stat st;
	bool have_st = stat(rootfs, &st) == 0;
	cleanup_free char *id = holder_here(rootfs);
	if (id)
		return ctrk_error_set(err, 0, "root file system '%s' is in use by container '%s'%s", rootfs,
				      id, HINT);
	long pid = have_st ? holder_pid(&st) : 0;
	if (pid > 0)
		return ctrk_error_set(err, 0,
				      "root file system '%s' is in use by another container (owner pid %ld)%s",
				      rootfs, pid, HINT);
	return ctrk_error_set(err, 0, "root file system '%s' is in use by another container%s", rootfs,
			      HINT);
}
