#include "extract.h"

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

static int
remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type == FTW_DP || type == FTW_D || type == FTW_DNR)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

int
ctrk_remove_tree(const char *path, ctrk_error_t *err)
{
	/* FTW_DEPTH: contents first; FTW_PHYS: a symbolic link is removed, not
	 * followed; FTW_MOUNT: never into another file system. */
	if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
		return ctrk_error_errno(err, "remove '%s'", path);
	return 0;
}
