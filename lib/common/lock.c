#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

int
ctrk_lock_file(const char *path, bool exclusive, ctrk_error_t *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open lock file '%s'", path);
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno == EINTR)
			continue;
		ctrk_error_errno(err, "cannot lock '%s'", path);
		close(fd);
		return -1;
	}
	return fd;
}
