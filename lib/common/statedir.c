#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

#define PRIVATE_MODE 0700

/* Why NAME in AT could not be opened as a directory without following a
 * symlink: say what is in the way rather than "Too many levels of symbolic
 * links". */
static int
open_failed(int at, const char *name, const char *path, ctrk_error_t *err)
{
	int saved = errno;
	struct stat st;
	if ((saved == ELOOP || saved == ENOTDIR) && fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			return ctrk_error_set(err, 0,
					      "'%s' is a symbolic link: refusing to keep state there "
					      "(give the directory it points to)",
					      path);
		if (!S_ISDIR(st.st_mode))
			return ctrk_error_set(err, ENOTDIR, "cannot use '%s'", path);
	}
	errno = saved;
	return ctrk_error_errno(err, "cannot open '%s'", path);
}

/* Open directory NAME in AT (PATH for messages), creating it when missing,
 * and make it private (see ctrk_private_dir).  Returns the descriptor. */
static int
open_private(int at, const char *name, const char *path, ctrk_error_t *err)
{
	bool created = mkdirat(at, name, PRIVATE_MODE) == 0;
	if (!created && errno != EEXIST)
		return ctrk_error_errno(err, "cannot create '%s'", path);
	/* O_NOFOLLOW: a symlink planted here must not make us chmod, or put
	 * state into, whatever it points to.  Checked on the descriptor, so
	 * nothing can be swapped between the check and the chmod. */
	cleanup_close int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return open_failed(at, name, path, err);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return ctrk_error_errno(err, "cannot stat '%s'", path);
	uid_t me = geteuid();
	if (st.st_uid != me && st.st_uid == 0)
		return ctrk_error_set(err, EACCES,
				      "'%s' is root's: run as root, or give a directory of your own "
				      "(--root, CTRK_ROOT, CTRK_RUN)",
				      path);
	if (st.st_uid != me)
		return ctrk_error_set(err, 0,
				      "'%s' is owned by uid %u, not by uid %u: refusing to use it "
				      "(someone else may have made it; remove it or give it to uid %u)",
				      path, (unsigned)st.st_uid, (unsigned)me, (unsigned)me);
	mode_t mode = st.st_mode & 07777;
	if (mode != PRIVATE_MODE) {
		/* One made looser by someone, or by an older ctrk, is said once:
		 * after this it is 0700 and nothing more is said.  One that is
		 * only tighter (ours, or another process's, made under a strict
		 * umask) is set in full silently. */
		if (fchmod(fd, PRIVATE_MODE) < 0)
			return ctrk_error_errno(err, "cannot make '%s' private (mode 0700)", path);
		if (!created && (mode & ~PRIVATE_MODE))
			ctrk_warn("'%s' was mode %04o: now %04o", path, (unsigned)mode, PRIVATE_MODE);
	}
	return steal_fd(&fd);
}

int
ctrk_private_dir(const char *root, const char *sub, ctrk_error_t *err)
{
	cleanup_free char *path = ctrk_xstrdup(root);
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	if (!*path)
		return ctrk_error_set(err, 0, "the state directory is an empty path");
	if (!strcmp(path, "/"))
		return ctrk_error_set(err, 0, "refusing to use '/' as a state directory");
	/* The root's own parents (/var/lib, /run, a test's directory) are the
	 * system's: only missing ones are made, and made 0700. */
	char *slash = strrchr(path, '/');
	if (slash && slash != path) {
		*slash = '\0';
		int rc = ctrk_path_exists(path) ? 0 : ctrk_mkdir_p(path, PRIVATE_MODE, err);
		*slash = '/';
		if (rc < 0)
			return ctrk_error_wrap(err, "cannot create the parents of '%s'", root);
	}
	cleanup_close int fd = open_private(AT_FDCWD, path, path, err);
	if (fd < 0)
		return -1;
	if (!sub)
		return 0;
	cleanup_free char *rel = ctrk_xstrdup(sub);
	char *save = NULL;
	for (char *name = strtok_r(rel, "/", &save); name; name = strtok_r(NULL, "/", &save)) {
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			return ctrk_error_set(err, 0, "'%s' is not a path below '%s'", sub, root);
		char *next_path = ctrk_strdup_printf("%s/%s", path, name);
		free(path);
		path = next_path;
		int next = open_private(fd, name, path, err);
		if (next < 0)
			return -1;
		close(fd);
		fd = next;
	}
	return 0;
}
