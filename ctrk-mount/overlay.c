#include "overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

/* fsconfig() copies at most 256 bytes of a string value (fs/fsopen.c). */
#define FSCONFIG_VALUE_MAX 256

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void
free_strvp(char ***v)
{
	free_strv(*v);
}
#define cleanup_strv __attribute__((cleanup(free_strvp)))

char **
overlay_split_lowerdir(const char *value, size_t *n)
{
	size_t count = 1;
	for (const char *p = value; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == ':')
			count++;
	}
	char **v = ctrk_xcalloc(count + 1, sizeof *v);
	char *cur = ctrk_xmalloc(strlen(value) + 1), *w = cur;
	size_t i = 0;
	for (const char *p = value;; p++) {
		if (*p == '\\' && p[1]) {
			*w++ = *p++;
			*w++ = *p;
		} else if (*p == ':' || *p == '\0') {
			*w = '\0';
			v[i++] = ctrk_xstrdup(cur);
			w = cur;
			if (*p == '\0')
				break;
		} else {
			*w++ = *p;
		}
	}
	free(cur);
	*n = i;
	return v;
}

/* The path a lowerdir element names: its escapes removed. */
static char *
unescape(const char *s)
{
	char *out = ctrk_xmalloc(strlen(s) + 1), *w = out;
	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		*w++ = *s;
	}
	*w = '\0';
	return out;
}

char *
overlay_common_dir(const char *const *paths, size_t n)
{
	if (n == 0 || paths[0][0] != '/')
		return NULL;
	const char *first = paths[0];
	/* LEN is the length of a prefix of FIRST that ends with "/": the
	 * parent of FIRST to start with, then shorter while a path is not
	 * strictly below it. */
	size_t len = strlen(first);
	while (len > 1 && first[len - 1] == '/')
		len--;
	while (len > 0 && first[len - 1] != '/')
		len--;
	for (size_t i = 1; i < n && len > 1; i++) {
		const char *p = paths[i];
		size_t plen = strlen(p);
		while (plen > 1 && p[plen - 1] == '/')
			plen--;
		while (len > 1 && !(plen > len && strncmp(p, first, len) == 0)) {
			len--;
			while (len > 0 && first[len - 1] != '/')
				len--;
		}
	}
	if (len <= 1)
		return NULL;
	return ctrk_xstrndup(first, len - 1);
}

/* Every layer path in O's data, in order. */
static char **
layer_paths(const mount_opts_t *o, size_t *n)
{
	char **v = NULL;
	size_t count = 0;
	for (size_t i = 0; i < o->ndata; i++) {
		const char *s = o->data[i];
		if (has_prefix(s, "lowerdir=")) {
			size_t k;
			cleanup_strv char **dirs = overlay_split_lowerdir(s + strlen("lowerdir="), &k);
			for (size_t j = 0; j < k; j++) {
				if (!dirs[j][0])
					continue;
				v = ctrk_xrealloc(v, (count + 2) * sizeof *v);
				v[count++] = ctrk_xstrdup(dirs[j]);
			}
		} else if (has_prefix(s, "upperdir=") || has_prefix(s, "workdir=")) {
			v = ctrk_xrealloc(v, (count + 2) * sizeof *v);
			v[count++] = ctrk_xstrdup(strchr(s, '=') + 1);
		}
		if (v)
			v[count] = NULL;
	}
	*n = count;
	return v;
}

int
overlay_compact(const mount_opts_t *o, char **dir, char **data)
{
	size_t n, size = 0;
	cleanup_strv char **paths = layer_paths(o, &n);
	char *common;
	for (size_t i = 0; i < n; i++)
		if (paths[i][0] != '/')
			return -1;
	common = overlay_common_dir((const char *const *)paths, n);
	if (!common)
		return -1;

	size_t skip = strlen(common) + 1;
	FILE *out = open_memstream(data, &size);
	if (!out)
		abort();
	for (size_t i = 0; i < o->ndata; i++) {
		const char *s = o->data[i];
		fputs(i ? "," : "", out);
		if (has_prefix(s, "lowerdir=")) {
			size_t k;
			cleanup_strv char **dirs = overlay_split_lowerdir(s + strlen("lowerdir="), &k);
			fputs("lowerdir=", out);
			for (size_t j = 0; j < k; j++)
				fprintf(out, "%s%s", j ? ":" : "", dirs[j][0] ? dirs[j] + skip : "");
		} else if (has_prefix(s, "upperdir=") || has_prefix(s, "workdir=")) {
			const char *eq = strchr(s, '=');
			fprintf(out, "%.*s%s", (int)(eq + 1 - s), s, eq + 1 + skip);
		} else {
			fputs(s, out);
		}
	}
	fclose(out);
	*dir = common;
	return 0;
}

bool
overlay_has_lowerdir_plus(void)
{
	static int known = -1;
	if (known < 0) {
		int fs = fsopen("overlay", FSOPEN_CLOEXEC);
		known = fs >= 0 && fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", "/", 0) == 0;
		if (fs >= 0)
			close(fs);
	}
	return known;
}

/* Can every value go to fsconfig()? */
static bool
fits_fsconfig(const mount_opts_t *o)
{
	for (size_t i = 0; i < o->ndata; i++) {
		const char *s = o->data[i], *eq = strchr(s, '=');
		if (has_prefix(s, "lowerdir=")) {
			size_t k;
			cleanup_strv char **dirs = overlay_split_lowerdir(s + strlen("lowerdir="), &k);
			for (size_t j = 0; j < k; j++)
				if (strlen(dirs[j]) >= FSCONFIG_VALUE_MAX)
					return false;
		} else if (strlen(eq ? eq + 1 : s) >= FSCONFIG_VALUE_MAX) {
			return false;
		}
	}
	return true;
}

/* Fail with errno E, naming the option that failed (WHAT, may be NULL) and
 * adding the file system context's own last error message: the kernel logs
 * its reasons there (see fsopen(2)), not only in dmesg. */
static int
fs_error(int fs, int e, const char *target, const char *what, ctrk_error_t *err)
{
	char buf[512], last[sizeof buf + 4] = "";
	ssize_t n;
	while (fs >= 0 && (n = read(fs, buf, sizeof buf - 1)) > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0] == 'e' && buf[1] == ' ')
			snprintf(last, sizeof last, " (%s)", buf + 2);
	}
	ctrk_error_set(err, 0, "cannot mount overlay on '%s'%s%s: %s%s", target, what ? ": " : "", what ? what : "",
		       strerror(e), last);
	err->errnum = e;
	return -1;
}

int
overlay_mount_fsconfig(const char *source, const char *target, const mount_opts_t *o, ctrk_error_t *err)
{
	static const struct {
		unsigned long ms;
		const char *sb_flag;
		unsigned int attr;
	} flags[] = {
		{MS_RDONLY, "ro", MOUNT_ATTR_RDONLY},
		{MS_NOSUID, NULL, MOUNT_ATTR_NOSUID},
		{MS_NODEV, NULL, MOUNT_ATTR_NODEV},
		{MS_NOEXEC, NULL, MOUNT_ATTR_NOEXEC},
		{MS_NOATIME, NULL, MOUNT_ATTR_NOATIME},
		{MS_STRICTATIME, NULL, MOUNT_ATTR_STRICTATIME},
		{MS_NODIRATIME, NULL, MOUNT_ATTR_NODIRATIME},
		{MS_NOSYMFOLLOW, NULL, MOUNT_ATTR_NOSYMFOLLOW},
		{MS_SYNCHRONOUS, "sync", 0},
		{MS_DIRSYNC, "dirsync", 0},
		{MS_LAZYTIME, "lazytime", 0},
	};
	cleanup_close int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	cleanup_close int mnt = -1;
	unsigned int attr = 0;

	if (fs < 0)
		return fs_error(-1, errno, target, NULL, err);
	if (source && fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		return fs_error(fs, errno, target, NULL, err);
	for (size_t i = 0; i < o->ndata; i++) {
		const char *s = o->data[i], *eq = strchr(s, '=');
		int r;
		if (has_prefix(s, "lowerdir=")) {
			size_t k;
			bool data_only = false;
			cleanup_strv char **dirs = overlay_split_lowerdir(s + strlen("lowerdir="), &k);
			for (size_t j = 0; j < k; j++) {
				if (!dirs[j][0]) { /* "::": data-only layers follow */
					data_only = true;
					continue;
				}
				cleanup_free char *path = unescape(dirs[j]);
				if (fsconfig(fs, FSCONFIG_SET_STRING, data_only ? "datadir+" : "lowerdir+", path, 0) < 0) {
					cleanup_free char *what = ctrk_strdup_printf("layer '%s'", path);
					return fs_error(fs, errno, target, what, err);
				}
			}
			continue;
		}
		if (eq) {
			cleanup_free char *key = ctrk_xstrndup(s, (size_t)(eq - s));
			r = fsconfig(fs, FSCONFIG_SET_STRING, key, eq + 1, 0);
		} else {
			r = fsconfig(fs, FSCONFIG_SET_FLAG, s, NULL, 0);
		}
		if (r < 0) {
			cleanup_free char *what = ctrk_strdup_printf("option '%s'", s);
			return fs_error(fs, errno, target, what, err);
		}
	}
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		if (!(o->flags & flags[i].ms))
			continue;
		attr |= flags[i].attr;
		if (flags[i].sb_flag && fsconfig(fs, FSCONFIG_SET_FLAG, flags[i].sb_flag, NULL, 0) < 0)
			return fs_error(fs, errno, target, NULL, err);
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fs_error(fs, errno, target, NULL, err);
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, attr);
	if (mnt < 0)
		return fs_error(fs, errno, target, NULL, err);
	if (move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return fs_error(-1, errno, target, NULL, err);
	return 0;
}

int
overlay_mount_relative(const char *source, const char *target, const mount_opts_t *o, ctrk_error_t *err)
{
	cleanup_free char *dir = NULL, *data = NULL;
	cleanup_close int dfd = -1;
	long page = sysconf(_SC_PAGESIZE);
	int status;
	pid_t pid;

	if (overlay_compact(o, &dir, &data) < 0)
		return ctrk_error_set(err, 0,
				      "cannot mount overlay on '%s': its options are longer than the kernel takes, "
				      "and its layers have no common directory to name them from",
				      target);
	if (strlen(data) >= (size_t)page)
		return ctrk_error_set(err, 0,
				      "cannot mount overlay on '%s': its options are %zu bytes even with the layers "
				      "named from '%s', more than the %ld the kernel takes",
				      target, strlen(data), dir, page - 1);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ctrk_error_errno(err, "cannot mount overlay on '%s': cannot open '%s'", target, dir);

	/* The relative paths resolve against the working directory of the
	 * process that calls mount(2): a child's, so ours stays put. */
	pid = fork();
	if (pid < 0)
		return ctrk_error_errno(err, "cannot mount overlay on '%s': fork", target);
	if (pid == 0) {
		if (fchdir(dfd) < 0 || mount(source, target, "overlay", o->flags, data) < 0)
			_exit(errno ? errno : 255);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return ctrk_error_errno(err, "cannot mount overlay on '%s': waitpid", target);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return ctrk_error_set(err, WEXITSTATUS(status), "cannot mount overlay on '%s'", target);
	return ctrk_error_set(err, 0, "cannot mount overlay on '%s': the mounting process died of signal %d",
			      target, WTERMSIG(status));
}

int
overlay_mount_long(const char *source, const char *target, const mount_opts_t *o, ctrk_error_t *err)
{
	if (overlay_has_lowerdir_plus() && fits_fsconfig(o))
		return overlay_mount_fsconfig(source, target, o, err);
	return overlay_mount_relative(source, target, o, err);
}
