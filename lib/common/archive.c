#include "archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

#define PATH_MAX_LEN 4096
#define DEPTH_MAX 64

int
ctrk_path_clean(const char *path, bool resolve_dotdot, char **out, ctrk_error_t *err)
{
	if (path[0] == '/')
		return ctrk_error_set(err, 0, "'%s' is an absolute path", path);
	if (strlen(path) > PATH_MAX_LEN)
		return ctrk_error_set(err, ENAMETOOLONG, "'%.64s...'", path);
	cleanup_free char *copy = ctrk_xstrdup(path);
	/* The result is never longer than the input. */
	cleanup_free char *res = ctrk_xmalloc(strlen(path) + 1);
	size_t len = 0;
	int depth = 0;
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (!resolve_dotdot || depth == 0)
				return ctrk_error_set(err, 0, "'%s' leads out of the archive", path);
			char *slash = memrchr(res, '/', len);
			len = slash ? (size_t)(slash - res) : 0;
			depth--;
			continue;
		}
		if (++depth > DEPTH_MAX)
			return ctrk_error_set(err, 0, "'%.64s...' is too deep", path);
		if (len)
			res[len++] = '/';
		memcpy(res + len, c, strlen(c));
		len += strlen(c);
	}
	res[len] = '\0';
	*out = steal_pointer(&res);
	return 0;
}

void
ctrk_extract_free(ctrk_extract_t *x)
{
	for (size_t i = 0; i < x->nlinks; i++) {
		free(x->links[i].path);
		free(x->links[i].target);
	}
	free(x->links);
	x->links = NULL;
	x->nlinks = 0;
}

/* The directory that holds PATH (a cleaned path, modified in place), made
 * as needed; *BASE is PATH's last component.  Each step is opened with
 * O_NOFOLLOW relative to the one before, so a symbolic link on the way (none
 * is ever extracted, but the tree is on disk) cannot lead elsewhere. */
static int
open_parent(int dirfd, char *path, char **base, ctrk_error_t *err)
{
	int cur = dirfd;
	char *p = path, *slash;
	while ((slash = strchr(p, '/'))) {
		*slash = '\0';
		int next = openat(cur, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(cur, p, 0700) < 0 && errno != EEXIST) {
				ctrk_error_errno(err, "mkdir '%s'", path);
				goto fail;
			}
			next = openat(cur, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			if (errno == ELOOP || errno == ENOTDIR)
				ctrk_error_set(err, 0, "'%s' is not a directory", path);
			else
				ctrk_error_errno(err, "open '%s'", path);
			goto fail;
		}
		if (cur != dirfd)
			close(cur);
		cur = next;
		*slash = '/';
		p = slash + 1;
	}
	*base = p;
	if (cur == dirfd && (cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return ctrk_error_errno(err, "dup");
	return cur;
fail:
	if (cur != dirfd)
		close(cur);
	return -1;
}
