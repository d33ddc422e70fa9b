#include "extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "gzread.h"

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

static const char *
archive_why(struct archive *a)
{
	const char *s = archive_error_string(a);
	return s ? s : "unknown error";
}

static int
pwrite_all(int fd, const char *p, size_t len, off_t off, ctrk_error_t *err)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ctrk_error_errno(err, "write");
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
extract_file(struct archive *a, struct archive_entry *e, int parent, const char *base, const char *path,
	     ctrk_error_t *err)
{
	cleanup_close int fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return ctrk_error_set(err, 0, "'%s' is in the archive twice", path);
	if (fd < 0)
		return ctrk_error_errno(err, "create '%s'", path);
	la_int64_t size = archive_entry_size(e);
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		/* Sparse files come in pieces at offsets, within the size. */
		if (off < 0 || off > size || (la_int64_t)len > size - off)
			return ctrk_error_set(err, 0, "'%s': data beyond its size", path);
		if (pwrite_all(fd, buf, len, (off_t)off, err) < 0)
			return ctrk_error_wrap(err, "extracting '%s'", path);
	}
	if (r != ARCHIVE_EOF)
		return ctrk_error_set(err, 0, "extracting '%s': %s", path, archive_why(a));
	if (ftruncate(fd, (off_t)size) < 0)
		return ctrk_error_errno(err, "extracting '%s'", path);
	return 0;
}

static int
extract_dir(int parent, const char *base, const char *path, ctrk_error_t *err)
{
	if (mkdirat(parent, base, 0700) == 0)
		return 0;
	struct stat st;
	if (errno == EEXIST && fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return ctrk_error_errno(err, "mkdir '%s'", path);
}

static int
record_symlink(ctrk_extract_t *x, struct archive_entry *e, int dirfd, const char *path, ctrk_error_t *err)
{
	const char *target = archive_entry_symlink(e);
	struct stat st;
	if (!target)
		return ctrk_error_set(err, 0, "'%s': a symbolic link without a target", path);
	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return ctrk_error_set(err, 0, "'%s' is in the archive twice", path);
	x->links = ctrk_xrealloc(x->links, (x->nlinks + 1) * sizeof *x->links);
	x->links[x->nlinks].path = ctrk_xstrdup(path);
	x->links[x->nlinks].target = ctrk_xstrdup(target);
	x->nlinks++;
	return 0;
}

/* The recorded symbolic link PATH is, or is below, if any. */
static const char *
symlink_on_path(const ctrk_extract_t *x, const char *path)
{
	for (size_t i = 0; i < x->nlinks; i++) {
		size_t n = strlen(x->links[i].path);
		if (strncmp(path, x->links[i].path, n) == 0 && (path[n] == '/' || path[n] == '\0'))
			return x->links[i].path;
	}
	return NULL;
}

static int
extract_entry(struct archive *a, struct archive_entry *e, int dirfd, ctrk_extract_t *x, const char *name,
	      ctrk_error_t *err)
{
	cleanup_free char *path = NULL;
	if (ctrk_path_clean(name, false, &path, err) < 0)
		return -1;
	if (!*path)
		return 0; /* "./", the top itself */
	const char *link = symlink_on_path(x, path);
	if (link && strcmp(link, path) == 0)
		return ctrk_error_set(err, 0, "'%s' is in the archive twice", path);
	if (link)
		return ctrk_error_set(err, 0, "'%s' is below the symbolic link '%s'", path, link);
	if (archive_entry_hardlink(e))
		return ctrk_error_set(err, 0, "'%s' is a hard link: only files and directories are allowed", path);

	mode_t type = archive_entry_filetype(e);
	if (type == AE_IFLNK && x->record_symlinks)
		return record_symlink(x, e, dirfd, path, err);
	if (type == AE_IFLNK)
		return ctrk_error_set(err, 0, "'%s' is a symbolic link: only files and directories are allowed", path);
	if (type != AE_IFREG && type != AE_IFDIR)
		return ctrk_error_set(err, 0, "'%s' is a device, fifo or socket: only files and directories are "
				      "allowed", path);

	cleanup_free char *walk = ctrk_xstrdup(path);
	char *base;
	cleanup_close int parent = open_parent(dirfd, walk, &base, err);
	if (parent < 0)
		return -1;
	if (type == AE_IFDIR)
		return extract_dir(parent, base, path, err);
	return extract_file(a, e, parent, base, path, err);
}

static int
extract_all(struct archive *a, ctrk_gzread_t *gz, int dirfd, ctrk_extract_t *x, const char *file, ctrk_error_t *err)
{
	if (ctrk_gzread_archive_open(a, gz) != ARCHIVE_OK)
		return ctrk_error_set(err, 0, "'%s' is not a tar archive: %s", file, archive_why(a));
	unsigned long long bytes = 0;
	size_t entries = 0;
	struct archive_entry *e;
	for (;;) {
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN && entries == 0)
			return ctrk_error_set(err, 0, "'%s' is not a tar archive: %s", file, archive_why(a));
		if (r < ARCHIVE_WARN)
			return ctrk_error_set(err, 0, "reading '%s': %s", file, archive_why(a));
		const char *name = archive_entry_pathname(e);
		if (!name)
			return ctrk_error_set(err, 0, "'%s': an entry without a name", file);
		if (++entries > x->max_entries)
			return ctrk_error_set(err, EFBIG, "'%s' has more than %zu entries", file, x->max_entries);
		la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
		if (size < 0 || (unsigned long long)size > x->max_bytes - bytes)
			return ctrk_error_set(err, EFBIG, "'%s' holds more than %llu bytes", file, x->max_bytes);
		bytes += (unsigned long long)size;
		if (extract_entry(a, e, dirfd, x, name, err) < 0)
			return -1;
	}
}

int
ctrk_archive_extract(const char *file, int dirfd, ctrk_extract_t *x, ctrk_error_t *err)
{
	cleanup_close int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return ctrk_error_errno(err, "open '%s'", file);
	if (S_ISDIR(st.st_mode))
		return ctrk_error_set(err, EISDIR, "'%s'", file);
	struct archive *a = archive_read_new();
	if (!a)
		return ctrk_error_set(err, ENOMEM, "reading '%s'", file);
	/* Only filters built into libarchive: none runs an external program.
	 * gzip is undone by gzread.c, which checks the trailers. */
	archive_read_support_format_tar(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	ctrk_gzread_t *gz = ctrk_gzread_new(fd);
	int rc = extract_all(a, gz, dirfd, x, file, err);
	archive_read_free(a);
	ctrk_gzread_free(gz);
	return rc;
}

/* One directory on the way down: its name in its parent, and who it is. */
typedef struct rm_level {
	char name[NAME_MAX + 1];
	dev_t dev;
	ino_t ino;
} rm_level_t;

/* Remove what is in the directory CUR but directories that are not empty;
 * the first of those opened in *CHILD and its name in CHILD_NAME: 1, or 0
 * when none is left, -1 on error. */
static int
empty_dir(int cur, int *child, char child_name[NAME_MAX + 1], ctrk_error_t *err)
{
	int dupfd = dup(cur);
	DIR *d = dupfd >= 0 ? fdopendir(dupfd) : NULL;
	if (!d) {
		if (dupfd >= 0)
			close(dupfd);
		return ctrk_error_errno(err, "cannot read a directory");
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(cur, de->d_name, 0) == 0 || errno == ENOENT ||
		    (errno == EISDIR && (unlinkat(cur, de->d_name, AT_REMOVEDIR) == 0 || errno == ENOENT)))
			continue;
		if (errno != ENOTEMPTY && errno != EEXIST) {
			rc = ctrk_error_errno(err, "cannot remove '%s'", de->d_name);
			break;
		}
		*child = openat(cur, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (*child < 0) {
			rc = ctrk_error_errno(err, "cannot open '%s'", de->d_name);
			break;
		}
		snprintf(child_name, NAME_MAX + 1, "%s", de->d_name);
		rc = 1;
	}
	if (rc == 0 && errno)
		rc = ctrk_error_errno(err, "cannot read a directory");
	closedir(d);
	return rc;
}

/* rm -rf of the directory NAME in PARENT with one directory of it open at a
 * time: a tree of any depth goes (a layer can make one deeper than
 * PATH_MAX below the snapshot's own path, where nftw(3) fails), without
 * following a symlink or entering another file system (EXDEV).  Going up is
 * by "..", checked against what was noted on the way down. */
int
ctrk_remove_tree_at(int parent, const char *name, ctrk_error_t *err)
{
	struct stat pst, st;
	if (fstat(parent, &pst) < 0)
		return ctrk_error_errno(err, "cannot stat the parent");
	rm_level_t *stack = NULL;
	size_t depth = 0, cap = 0;
	int rc = -1, child;
	char child_name[NAME_MAX + 1];
	snprintf(child_name, sizeof child_name, "%s", name);
	int cur = -1;
	child = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (child < 0) {
		ctrk_error_errno(err, "cannot open it");
		goto out;
	}
	for (;;) {
		if (child >= 0) {
			/* Down into CHILD. */
			if (fstat(child, &st) < 0) {
				close(child);
				ctrk_error_errno(err, "cannot stat '%s'", child_name);
				goto out;
			}
			if (depth == cap) {
				cap = cap ? 2 * cap : 16;
				stack = ctrk_xrealloc(stack, cap * sizeof *stack);
			}
			stack[depth] = (rm_level_t){.dev = st.st_dev, .ino = st.st_ino};
			snprintf(stack[depth].name, sizeof stack[depth].name, "%s", child_name);
			depth++;
			if (cur >= 0)
				close(cur);
			cur = child;
			child = -1;
			if (st.st_dev != stack[0].dev) {
				ctrk_error_set(err, EXDEV, "cannot remove '%s', another file system", child_name);
				goto out;
			}
		}
		int r = empty_dir(cur, &child, child_name, err);
		if (r < 0)
			goto out;
		if (r == 1)
			continue;
		/* CUR is empty: up, and remove it. */
		rm_level_t me = stack[--depth];
		int up = depth ? openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : dup(parent);
		close(cur);
		cur = up;
		if (up < 0 || fstat(up, &st) < 0) {
			ctrk_error_errno(err, "cannot go up from '%s'", me.name);
			goto out;
		}
		struct stat want = pst;
		if (depth)
			want = (struct stat){.st_dev = stack[depth - 1].dev, .st_ino = stack[depth - 1].ino};
		if (st.st_dev != want.st_dev || st.st_ino != want.st_ino) {
			ctrk_error_set(err, 0, "the tree moved while it was removed");
			goto out;
		}
		if (unlinkat(up, me.name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
			ctrk_error_errno(err, "cannot remove '%s'", me.name);
			goto out;
		}
		if (depth == 0) {
			rc = 0;
			goto out;
		}
	}
out:
	if (cur >= 0)
		close(cur);
	free(stack);
	return rc;
}

int
ctrk_remove_tree(const char *path, ctrk_error_t *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : ctrk_error_errno(err, "remove '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 && errno != ENOENT ? ctrk_error_errno(err, "remove '%s'", path) : 0;
	cleanup_free char *copy = ctrk_xstrdup(path);
	char *slash = strrchr(copy, '/');
	while (slash && slash > copy && slash[1] == '\0') {
		*slash = '\0';
		slash = strrchr(copy, '/');
	}
	const char *dir = slash ? (slash == copy ? "/" : copy) : ".";
	const char *name = slash ? slash + 1 : copy;
	if (slash)
		*slash = '\0';
	cleanup_close int parent = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0)
		return ctrk_error_errno(err, "remove '%s'", path);
	if (ctrk_remove_tree_at(parent, name, err) < 0)
		return ctrk_error_wrap(err, "remove '%s'", path);
	return 0;
}
