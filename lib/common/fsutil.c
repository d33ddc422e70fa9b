#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

static void
die_oom(void)
{
	fprintf(stderr, "%s: error: out of memory\n", ctrk_progname);
	abort();
}

void *
ctrk_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die_oom();
	return p;
}

void *
ctrk_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die_oom();
	return p;
}

void *
ctrk_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		die_oom();
	return q;
}

char *
ctrk_xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		die_oom();
	return d;
}

char *
ctrk_xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);
	if (!d)
		die_oom();
	return d;
}

char *
ctrk_strdup_printf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		die_oom();
	return s;
}

int
ctrk_read_all_fd(int fd, size_t max, char **out, size_t *outlen, ctrk_error_t *err)
{
	size_t cap = 8192, len = 0;
	cleanup_free char *buf = ctrk_xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap > max)
				return ctrk_error_set(err, EFBIG, "input larger than %zu bytes", max);
			cap *= 2;
			buf = ctrk_xrealloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ctrk_error_errno(err, "read");
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return ctrk_error_set(err, EFBIG, "input larger than %zu bytes", max);
	}
	buf[len] = '\0';
	*out = steal_pointer(&buf);
	*outlen = len;
	return 0;
}

int
ctrk_read_file(const char *path, size_t max, char **buf, size_t *len, ctrk_error_t *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ctrk_error_errno(err, "open '%s'", path);
	if (ctrk_read_all_fd(fd, max, buf, len, err) < 0)
		return ctrk_error_wrap(err, "reading '%s'", path);
	return 0;
}

int
ctrk_open_regular(const char *path, ctrk_error_t *err)
{
	/* O_NONBLOCK: opening a FIFO for reading blocks until a writer comes. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		ctrk_error_errno(err, "cannot stat '%s'", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		ctrk_error_set(err, 0, "'%s' is not a regular file", path);
		errno = EINVAL;
		return -1;
	}
	/* Reads of a regular file never block; clear the flag all the same
	 * so that the descriptor reads as any other. */
	if (fcntl(fd, F_SETFL, 0) < 0) {
		ctrk_error_errno(err, "fcntl '%s'", path);
		close(fd);
		return -1;
	}
	return fd;
}

int
ctrk_read_regular_file(const char *path, size_t max, char **buf, size_t *len, ctrk_error_t *err)
{
	cleanup_close int fd = ctrk_open_regular(path, err);
	if (fd < 0)
		return -1;
	if (ctrk_read_all_fd(fd, max, buf, len, err) < 0)
		return ctrk_error_wrap(err, "reading '%s'", path);
	return 0;
}

int
ctrk_write_all(int fd, const void *data, size_t len, ctrk_error_t *err)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ctrk_error_errno(err, "write");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ctrk_mkdir_p(const char *path, mode_t mode, ctrk_error_t *err)
{
	cleanup_free char *copy = ctrk_xstrdup(path);
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	for (char *p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		/* chmod after: MODE is what the caller means, whatever the umask. */
		if (mkdir(copy, mode) == 0) {
			if (chmod(copy, mode) < 0)
				return ctrk_error_errno(err, "chmod '%s'", copy);
		} else if (errno != EEXIST) {
			return ctrk_error_errno(err, "mkdir '%s'", copy);
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return ctrk_error_errno(err, "stat '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return ctrk_error_set(err, ENOTDIR, "'%s'", path);
	return 0;
}

int
ctrk_fsync_dir(const char *dir, ctrk_error_t *err)
{
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ctrk_error_errno(err, "open '%s'", dir);
	if (fsync(fd) < 0 && errno != EINVAL)
		return ctrk_error_errno(err, "fsync '%s'", dir);
	return 0;
}

int
ctrk_tmpfile_in(const char *dir, const char *name, char **tmp_path, ctrk_error_t *err)
{
	char *path = ctrk_strdup_printf("%s/.%s.XXXXXX", dir, name);
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		ctrk_error_errno(err, "create a temp file in '%s'", dir);
		free(path);
		return -1;
	}
	*tmp_path = path;
	return fd;
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return ctrk_xstrdup(".");
	if (slash == path)
		return ctrk_xstrdup("/");
	return ctrk_xstrndup(path, (size_t)(slash - path));
}

/* Write DATA to a temp file in TMPDIR (or beside PATH), rename it over
 * PATH; with SYNC, fsync the file first and the directory after. */
static int
replace_file(const char *tmpdir, const char *path, const void *data, size_t len, mode_t mode, bool sync,
	     ctrk_error_t *err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	cleanup_free char *dir = dir_of(path);
	cleanup_free char *tmp = NULL;
	cleanup_close int fd = ctrk_tmpfile_in(tmpdir ? tmpdir : dir, base, &tmp, err);
	if (fd < 0)
		return -1;
	if (ctrk_write_all(fd, data, len, err) < 0) {
		unlink(tmp);
		return ctrk_error_wrap(err, "writing '%s'", tmp);
	}
	if (fchmod(fd, mode) < 0 || (sync && fsync(fd) < 0)) {
		ctrk_error_errno(err, "writing '%s'", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		ctrk_error_errno(err, "rename '%s' to '%s'", tmp, path);
		unlink(tmp);
		return -1;
	}
	return sync ? ctrk_fsync_dir(dir, err) : 0;
}

int
ctrk_write_file_atomic_in(const char *tmpdir, const char *path, const void *data, size_t len, mode_t mode,
			  ctrk_error_t *err)
{
	return replace_file(tmpdir, path, data, len, mode, true, err);
}

int
ctrk_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, ctrk_error_t *err)
{
	return replace_file(NULL, path, data, len, mode, true, err);
}

int
ctrk_replace_file(const char *path, const void *data, size_t len, mode_t mode, ctrk_error_t *err)
{
	return replace_file(NULL, path, data, len, mode, false, err);
}

bool
ctrk_path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* nftw() takes no argument for its callback: the walk's state is here (one
 * walk at a time; the tools are single-threaded). */
static struct {
	ctrk_tree_usage_t u;
	struct {
		dev_t dev;
		ino_t ino;
	} *seen; /* files with more than one link, counted once */
	size_t nseen, cap;
} walk;

static int
count_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
		for (size_t i = 0; i < walk.nseen; i++)
			if (walk.seen[i].dev == st->st_dev && walk.seen[i].ino == st->st_ino)
				return 0;
		if (walk.nseen == walk.cap) {
			walk.cap = walk.cap ? 2 * walk.cap : 64;
			walk.seen = ctrk_xrealloc(walk.seen, walk.cap * sizeof *walk.seen);
		}
		walk.seen[walk.nseen].dev = st->st_dev;
		walk.seen[walk.nseen++].ino = st->st_ino;
	}
	walk.u.inodes++;
	walk.u.size += st->st_size;
	walk.u.allocated += (long long)st->st_blocks * 512;
	return 0;
}

int
ctrk_tree_usage(const char *path, ctrk_tree_usage_t *u, ctrk_error_t *err)
{
	memset(&walk, 0, sizeof walk);
	int rc = nftw(path, count_one, 32, FTW_PHYS | FTW_MOUNT);
	free(walk.seen);
	*u = walk.u;
	memset(&walk, 0, sizeof walk);
	if (rc < 0)
		return ctrk_error_errno(err, "cannot measure '%s'", path);
	return 0;
}
