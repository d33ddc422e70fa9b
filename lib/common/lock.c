#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

static int
lock_file(const char *path, int how, ctrk_error_t *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open lock file '%s'", path);
	while (flock(fd, how) < 0) {
		if (errno == EINTR)
			continue;
		ctrk_error_errno(err, "cannot lock '%s'", path);
		close(fd);
		return -1;
	}
	return fd;
}

int
ctrk_lock_file(const char *path, bool exclusive, ctrk_error_t *err)
{
	return lock_file(path, exclusive ? LOCK_EX : LOCK_SH, err);
}

int
ctrk_lock_file_try(const char *path, bool exclusive, ctrk_error_t *err)
{
	return lock_file(path, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB, err);
}

int
ctrk_lock_dir(const char *path, bool wait, ctrk_error_t *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open '%s' to lock it", path);
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		if (errno == EINTR)
			continue;
		ctrk_error_errno(err, "cannot lock '%s'", path);
		close(fd);
		return -1;
	}
	return fd;
}
