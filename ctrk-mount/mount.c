#include "mount.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "descriptor.h"
#include "fsutil.h"
#include "json.h"
#include "mountinfo.h"
#include "overlay.h"
#include "statedir.h"
#include "store.h"

/* --- options -------------------------------------------------------------- */

/* The options mount(8) turns into flags (libmount's optmap, as containerd's
 * parseMountOptions has them); the later of two contradicting ones wins. */
static const struct {
	const char *name;
	unsigned long set, clear;
} flag_options[] = {
	{"defaults", 0, 0},
	{"ro", MS_RDONLY, 0},
	{"rw", 0, MS_RDONLY},
	{"nosuid", MS_NOSUID, 0},
	{"suid", 0, MS_NOSUID},
	{"nodev", MS_NODEV, 0},
	{"dev", 0, MS_NODEV},
	{"noexec", MS_NOEXEC, 0},
	{"exec", 0, MS_NOEXEC},
	{"sync", MS_SYNCHRONOUS, 0},
	{"async", 0, MS_SYNCHRONOUS},
	{"dirsync", MS_DIRSYNC, 0},
	{"remount", MS_REMOUNT, 0},
	{"mand", MS_MANDLOCK, 0},
	{"nomand", 0, MS_MANDLOCK},
	{"atime", 0, MS_NOATIME},
	{"noatime", MS_NOATIME, MS_RELATIME | MS_STRICTATIME},
	{"diratime", 0, MS_NODIRATIME},
	{"nodiratime", MS_NODIRATIME, 0},
	{"relatime", MS_RELATIME, MS_NOATIME | MS_STRICTATIME},
	{"norelatime", 0, MS_RELATIME},
	{"strictatime", MS_STRICTATIME, MS_NOATIME | MS_RELATIME},
	{"nostrictatime", 0, MS_STRICTATIME},
	{"lazytime", MS_LAZYTIME, 0},
	{"nolazytime", 0, MS_LAZYTIME},
	{"nosymfollow", MS_NOSYMFOLLOW, 0},
	{"symfollow", 0, MS_NOSYMFOLLOW},
	{"silent", MS_SILENT, 0},
	{"loud", 0, MS_SILENT},
	{"bind", MS_BIND, 0},
	{"rbind", MS_BIND | MS_REC, 0},
};

/* Propagation changes take a mount(2) call of their own. */
static const struct {
	const char *name;
	unsigned long flags;
} propagation_options[] = {
	{"private", MS_PRIVATE},
	{"rprivate", MS_PRIVATE | MS_REC},
	{"shared", MS_SHARED},
	{"rshared", MS_SHARED | MS_REC},
	{"slave", MS_SLAVE},
	{"rslave", MS_SLAVE | MS_REC},
	{"unbindable", MS_UNBINDABLE},
	{"runbindable", MS_UNBINDABLE | MS_REC},
};

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

int
mount_opts_parse(const cJSON *options, mount_opts_t *o, ctrk_error_t *err)
{
	const cJSON *opt;
	*o = (mount_opts_t){0};
	o->data = ctrk_xcalloc((size_t)cJSON_GetArraySize(options) + 1, sizeof *o->data);
	cJSON_ArrayForEach(opt, options)
	{
		if (!cJSON_IsString(opt)) {
			mount_opts_free(o);
			return ctrk_error_set(err, 0, "mount options must be strings");
		}
		const char *s = opt->valuestring;
		bool known = false;
		for (size_t i = 0; i < N_ELEMENTS(flag_options) && !known; i++)
			if (strcmp(s, flag_options[i].name) == 0) {
				o->flags = (o->flags & ~flag_options[i].clear) | flag_options[i].set;
				known = true;
			}
		for (size_t i = 0; i < N_ELEMENTS(propagation_options) && !known; i++)
			if (strcmp(s, propagation_options[i].name) == 0) {
				o->propagation = propagation_options[i].flags;
				known = true;
			}
		if (!known && s[0] != '\0')
			o->data[o->ndata++] = s;
	}
	return 0;
}

void
mount_opts_free(mount_opts_t *o)
{
	free(o->data);
	*o = (mount_opts_t){0};
}

char *
mount_opts_data(const mount_opts_t *o)
{
	size_t len = 0;
	if (o->ndata == 0)
		return NULL;
	for (size_t i = 0; i < o->ndata; i++)
		len += strlen(o->data[i]) + 1;
	char *s = ctrk_xmalloc(len), *p = s;
	for (size_t i = 0; i < o->ndata; i++)
		p = stpcpy(stpcpy(p, i ? "," : ""), o->data[i]);
	return s;
}

static const char *
propagation_name(unsigned long flags)
{
	for (size_t i = 0; i < N_ELEMENTS(propagation_options); i++)
		if (propagation_options[i].flags == flags)
			return propagation_options[i].name;
	return "?";
}

/* --- the kernel's mount table ----------------------------------------------- */

/* 1 when something is mounted on PATH, 0 when not, -1 on error. */
static int
is_mount_point(const char *path, ctrk_error_t *err)
{
	ctrk_mount_table_t t;
	int found = 0;
	if (ctrk_mount_table_read(&t, err) < 0)
		return -1;
	for (size_t i = 0; i < t.n && !found; i++)
		found = strcmp(t.v[i].target, path) == 0;
	ctrk_mount_table_free(&t);
	return found;
}

/* A mount on or below DIR with no mount on top of it or below it: one that
 * umount2() can take away.  Mount IDs are reused, so "newest" (the highest
 * ID) only picks among independent leaves; stacking is in the parent IDs. */
static const ctrk_mount_entry_t *
newest_leaf_under(const ctrk_mount_table_t *t, const char *dir)
{
	const ctrk_mount_entry_t *best = NULL;
	for (size_t i = 0; i < t->n; i++) {
		const ctrk_mount_entry_t *e = &t->v[i];
		bool leaf = true;
		if (!ctrk_path_under(e->target, dir))
			continue;
		for (size_t j = 0; j < t->n && leaf; j++)
			leaf = t->v[j].parent != e->id || t->v[j].id == e->id;
		if (leaf && (!best || e->id > best->id))
			best = e;
	}
	return best;
}

/* --- mounting --------------------------------------------------------------- */

bool
mount_is_rootfs(const cJSON *m)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "target");
	return cJSON_IsString(t) && strcmp(t->valuestring, "/") == 0;
}

char *
mount_default_target(const cJSON *d, ctrk_error_t *err)
{
	const cJSON *snapshot = NULL;
	const char *key = NULL;
	if (ctrk_json_get_object(d, "snapshot", false, &snapshot, "descriptor", err) < 0)
		return NULL;
	if (snapshot && ctrk_json_get_string(snapshot, "key", false, &key, "descriptor: snapshot", err) < 0)
		return NULL;
	if (!key) {
		ctrk_error_set(err, 0, "the descriptor has no snapshot.key to name the target after");
		return NULL;
	}
	if (!*key || strchr(key, '/') || strcmp(key, ".") == 0 || strcmp(key, "..") == 0) {
		ctrk_error_set(err, 0, "descriptor: snapshot.key '%s' cannot name a directory", key);
		return NULL;
	}
	/* $CTRK_RUN's own entries, as ctrk-run reserves them for container ids
	 * (ctrk-run/container.c): ctrk-run's runtime/ and deleted/, and
	 * ctrk-vol's volumes/, whose volumes/rootfs is where a volume
	 * "rootfs" is mounted. */
	if (strcmp(key, "runtime") == 0 || strcmp(key, "deleted") == 0 || strcmp(key, "volumes") == 0) {
		ctrk_error_set(err, 0, "descriptor: snapshot.key '%s' is reserved in '%s': give --target", key,
			       ctrk_default_run());
		return NULL;
	}
	/* The rootfs holds the image's setuid programs and device nodes:
	 * nobody but root may reach it (see statedir.h).  A missing KEY
	 * directory is made by make_target, so that a failure removes it. */
	const char *run = ctrk_default_run();
	cleanup_free char *dir = ctrk_strdup_printf("%s/%s", run, key);
	if (ctrk_private_dir(run, ctrk_path_exists(dir) ? key : NULL, err) < 0)
		return NULL;
	return ctrk_strdup_printf("%s/rootfs", dir);
}

/* Does the kernel list file system TYPE in /proc/filesystems?  (Loading a
 * module for it is not ctrk's job.) */
static bool
kernel_has_fs(const char *type)
{
	cleanup_fclose FILE *f = fopen("/proc/filesystems", "re");
	char line[256], name[128];
	if (!f)
		return true; /* cannot tell: let the kernel's own error stand */
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "nodev %127s", name) == 1 || sscanf(line, " %127s", name) == 1)
			if (strcmp(name, type) == 0)
				return true;
	return false;
}

/* mount(2) ignores per-mount flags on the call that creates a bind mount:
 * they take a second call with MS_REMOUNT|MS_BIND (see mount(2), "Creating a
 * bind mount").  Restrictions of the mount the bind came from (nosuid, nodev,
 * noexec, ro) are kept, so that "ro" never loosens them. */
static const unsigned long per_mount_flags =
	MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME |
	MS_NOSYMFOLLOW;

static unsigned long
current_restrictions(const char *path)
{
	struct statvfs sv;
	unsigned long flags = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_RDONLY)
		flags |= MS_RDONLY;
	if (sv.f_flag & ST_NOSUID)
		flags |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		flags |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	return flags;
}

static int
mount_bind(const char *source, const char *target, const mount_opts_t *o, ctrk_error_t *err)
{
	unsigned long flags = o->flags & per_mount_flags;
	if (o->flags & MS_REMOUNT) {
		if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
			return ctrk_error_errno(err, "cannot remount the bind mount on '%s'", target);
		return 0;
	}
	if (!source)
		return ctrk_error_set(err, 0, "cannot bind-mount on '%s': the mount has no 'source'", target);
	if (mount(source, target, NULL, MS_BIND | (o->flags & MS_REC), NULL) < 0)
		return ctrk_error_errno(err, "cannot bind-mount '%s' on '%s'", source, target);
	if (flags == 0)
		return 0;
	flags |= current_restrictions(target);
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0) {
		ctrk_error_errno(err, "cannot apply the options of the bind mount on '%s'", target);
		umount2(target, MNT_DETACH);
		return -1;
	}
	return 0;
}

static int
mount_fs(const char *type, const char *source, const char *target, const mount_opts_t *o, ctrk_error_t *err)
{
	cleanup_free char *data = mount_opts_data(o);
	size_t len = data ? strlen(data) : 0;
	long page = sysconf(_SC_PAGESIZE);
	int ret = 0;

	if (len >= (size_t)page && strcmp(type, "overlay") == 0 && !(o->flags & MS_REMOUNT))
		ret = overlay_mount_long(source, target, o, err);
	else if (len >= (size_t)page)
		ret = ctrk_error_set(err, 0, "cannot mount %s on '%s': its options are %zu bytes, more than the %ld the kernel takes",
				     type, target, len, page - 1);
	else if (mount(source, target, type, o->flags, data) < 0)
		ret = ctrk_error_errno(err, "cannot mount %s on '%s'", type, target);

	if (ret < 0 && err->errnum == ENODEV && !kernel_has_fs(type)) {
		ctrk_error_set(err, 0,
			       "cannot mount %s on '%s': the kernel does not know file system type '%s' "
			       "(it is not in /proc/filesystems)",
			       type, target, type);
		err->errnum = ENODEV;
	}
	return ret;
}

/* Mount M on TARGET.  *MOUNTED tells whether there is one mount more on
 * TARGET afterwards (a remount changes a mount, it adds none). */
static int
mount_one(const cJSON *m, const char *target, bool *mounted, ctrk_error_t *err)
{
	const char *type = cJSON_GetObjectItemCaseSensitive(m, "type")->valuestring;
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "source");
	const char *source = cJSON_IsString(src) ? src->valuestring : NULL;
	mount_opts_t o;
	int ret;

	*mounted = false;
	if (mount_opts_parse(cJSON_GetObjectItemCaseSensitive(m, "options"), &o, err) < 0)
		return -1;
	if (strcmp(type, "rbind") == 0)
		o.flags |= MS_BIND | MS_REC;
	else if (strcmp(type, "bind") == 0)
		o.flags |= MS_BIND;
	if (o.flags & MS_BIND)
		ret = mount_bind(source, target, &o, err);
	else
		ret = mount_fs(type, source ? source : type, target, &o, err);
	if (ret == 0 && o.propagation && mount(NULL, target, NULL, o.propagation, NULL) < 0) {
		ret = ctrk_error_errno(err, "cannot make the mount on '%s' %s", target, propagation_name(o.propagation));
		if (!(o.flags & MS_REMOUNT))
			umount2(target, MNT_DETACH);
	}
	if (ret == 0)
		*mounted = !(o.flags & MS_REMOUNT);
	mount_opts_free(&o);
	return ret;
}

/* mkdir -p PATH, mode 0700 (what leads to a rootfs is root's alone);
 * *CREATED is the topmost directory it made
 * (NULL when it made none), so that a failure can remove exactly those. */
static int
make_target(const char *path, char **created, ctrk_error_t *err)
{
	cleanup_free char *p = ctrk_xstrdup(path);
	struct stat st;
	*created = NULL;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		if (mkdir(p, 0700) == 0) {
			if (!*created)
				*created = ctrk_xstrdup(p);
		} else if (errno != EEXIST) {
			return ctrk_error_errno(err, "cannot create '%s'", p);
		}
		*s = saved;
		if (saved == '\0')
			break;
	}
	if (stat(path, &st) < 0)
		return ctrk_error_errno(err, "cannot use '%s' as the target", path);
	if (!S_ISDIR(st.st_mode))
		return ctrk_error_set(err, ENOTDIR, "cannot use '%s' as the target", path);
	return 0;
}

/* rmdir PATH and its parents up to and including CREATED. */
static void
remove_created(const char *path, const char *created)
{
	cleanup_free char *p = ctrk_xstrdup(path);
	size_t stop = strlen(created);
	for (;;) {
		size_t n = strlen(p);
		while (n > 1 && p[n - 1] == '/')
			p[--n] = '\0';
		if (n < stop || rmdir(p) < 0 || n == stop)
			return;
		char *slash = strrchr(p, '/');
		if (!slash)
			return;
		*slash = '\0';
	}
}

/* Lock the directory that stands for each rootfs mount (ctrk-snap remove
 * takes the same locks), so that checking that nothing mounts them yet and
 * mounting them is one step for every other ctrk-mount and ctrk-snap. */
static int
lock_rootfs_dirs(const cJSON *mounts, ctrk_dir_locks_t *locks, ctrk_error_t *err)
{
	const cJSON *m;
	size_t n = 0, cap = (size_t)cJSON_GetArraySize(mounts);
	char **dirs = ctrk_xcalloc(cap + 1, sizeof *dirs);
	cJSON_ArrayForEach(m, mounts) if (mount_is_rootfs(m)) dirs[n++] = ctrk_mount_object_dir(m);
	int ret = ctrk_dir_locks_take(locks, dirs, n, err);
	for (size_t i = 0; i < n; i++)
		free(dirs[i]);
	free(dirs);
	return ret;
}

/* A writable snapshot mounted twice is two writers on one directory: for
 * overlay, two mounts on one upper directory, which the kernel calls
 * undefined behaviour ("upperdir is in use by another mount").  So a
 * writable overlay whose upperdir any mount uses is refused, and so is a
 * writable bind mount of a snapshot (the descriptor has a `snapshot`)
 * whose source any mount uses.  Read-only mounts (views) may be shared.
 * The mounts of every mount namespace count: a container's copy of its
 * rootfs outlives the host's when that is unmounted. */
static int
check_not_mounted(const cJSON *d, const cJSON *mounts, ctrk_error_t *err)
{
	const cJSON *snapshot = cJSON_GetObjectItemCaseSensitive(d, "snapshot");
	const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(snapshot, "key"));
	const cJSON *m;
	ctrk_mount_table_t t;
	int ret = 0;
	if (ctrk_mount_table_read_all(&t, err) < 0)
		return -1;
	cJSON_ArrayForEach(m, mounts)
	{
		bool overlay = strcmp(cJSON_GetObjectItemCaseSensitive(m, "type")->valuestring, "overlay") == 0;
		size_t *found = NULL, nfound = 0;
		if (!mount_is_rootfs(m) || !ctrk_mount_object_writable(m) || (!overlay && !snapshot))
			continue;
		ctrk_mounts_of(&t, m, &found, &nfound);
		if (nfound > 0) {
			cleanup_free char *dir = ctrk_mount_object_dir(m);
			cleanup_free char *where = ctrk_mount_targets(&t, found, nfound);
			if (key)
				ret = ctrk_error_set(err, 0, "snapshot '%s' is mounted on %s: unmount it first (or --force)",
						     key, where);
			else
				ret = ctrk_error_set(err, 0, "'%s' is in use by the mount on %s: unmount it first (or --force)",
						     dir ? dir : "?", where);
			err->errnum = EBUSY;
		}
		free(found);
		if (ret < 0)
			break;
	}
	ctrk_mount_table_free(&t);
	return ret;
}

int
mount_rootfs(const cJSON *d, const char *target, bool force, char **rootfs, ctrk_error_t *err)
{
	const cJSON *mounts, *m;
	cleanup_free char *created = NULL, *abs = NULL;
	ctrk_dir_locks_t locks = {0};
	int n = 0, wanted = 0;

	if (ctrk_descriptor_validate(d, err) < 0)
		return -1;
	mounts = cJSON_GetObjectItemCaseSensitive(d, "mounts");
	cJSON_ArrayForEach(m, mounts) wanted += mount_is_rootfs(m);
	if (wanted == 0)
		return ctrk_error_set(err, 0, "descriptor has no rootfs mounts (target \"/\")");
	if (lock_rootfs_dirs(mounts, &locks, err) < 0)
		return -1;
	if (!force && check_not_mounted(d, mounts, err) < 0)
		goto undo;

	if (make_target(target, &created, err) < 0)
		goto undo;
	abs = realpath(target, NULL);
	if (!abs) {
		ctrk_error_errno(err, "cannot resolve '%s'", target);
		goto undo;
	}
	switch (is_mount_point(abs, err)) {
	case -1: goto undo;
	case 1:
		ctrk_error_set(err, 0, "cannot mount on '%s': it is a mount point already (unmount it first)", abs);
		goto undo;
	}
	cJSON_ArrayForEach(m, mounts)
	{
		bool mounted = false;
		if (!mount_is_rootfs(m))
			continue;
		if (mount_one(m, abs, &mounted, err) < 0)
			goto undo;
		n += mounted;
	}
	*rootfs = steal_pointer(&abs);
	ctrk_dir_locks_release(&locks);
	return 0;

undo:
	/* Newest first: each umount2 takes the top mount off the stack. */
	while (n-- > 0)
		if (umount2(abs, UMOUNT_NOFOLLOW) < 0)
			umount2(abs, MNT_DETACH | UMOUNT_NOFOLLOW);
	if (created)
		remove_created(target, created);
	ctrk_dir_locks_release(&locks);
	return -1;
}

/* --- unmounting ------------------------------------------------------------- */

/* Does the symlink NAME in directory DFD (/proc/PID: cwd, root, exe; or
 * /proc/PID/fd: an open file) point at or below DIR? */
static bool
link_under(int dfd, const char *name, const char *dir)
{
	char path[PATH_MAX];
	ssize_t n = readlinkat(dfd, name, path, sizeof path - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	return ctrk_path_under(path, dir);
}

static bool
process_uses(int pfd, const char *dir)
{
	static const char *const links[] = {"cwd", "root", "exe"};
	struct dirent *e;
	bool found = false;
	for (size_t i = 0; i < N_ELEMENTS(links); i++)
		if (link_under(pfd, links[i], dir))
			return true;
	int fd = openat(pfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *fds = fd >= 0 ? fdopendir(fd) : NULL;
	if (!fds) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (!found && (e = readdir(fds)))
		found = e->d_name[0] != '.' && link_under(dirfd(fds), e->d_name, dir);
	closedir(fds);
	return found;
}

/* The name of the process in /proc/PID (DFD), or "?". */
static void
process_name(int pfd, char *name, size_t size)
{
	cleanup_close int fd = openat(pfd, "comm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, name, size - 1) : -1;
	if (n <= 0)
		n = snprintf(name, size, "?");
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
}

/* "processes use it: 123 (sleep), 456 (sh)": who keeps DIR busy, found by
 * their cwd, root, executable and open files, as fuser(1) does. */
static char *
busy_users(const char *dir)
{
	char *list = NULL;
	size_t size = 0;
	int count = 0;
	FILE *out = open_memstream(&list, &size);
	DIR *proc = opendir("/proc");
	struct dirent *e;
	if (!out)
		abort();
	while (proc && (e = readdir(proc))) {
		char comm[64];
		if (!isdigit((unsigned char)e->d_name[0]) || atoi(e->d_name) == getpid())
			continue;
		cleanup_close int pfd = openat(dirfd(proc), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0 || !process_uses(pfd, dir))
			continue;
		if (++count > 10) {
			fputs(", ...", out);
			break;
		}
		process_name(pfd, comm, sizeof comm);
		fprintf(out, "%s%s (%s)", count > 1 ? ", " : "", e->d_name, comm);
	}
	if (proc)
		closedir(proc);
	fclose(out);
	if (count == 0) {
		free(list);
		return ctrk_xstrdup("no process found using it: a mount below it, or a process in another mount "
				    "namespace, may hold it");
	}
	char *text = ctrk_strdup_printf("processes use it: %s", list);
	free(list);
	return text;
}

/* rmdir DIR and its parents while they are empty and below $CTRK_RUN:
 * ctrk made them, nobody else should have to clean them up. */
static void
remove_run_dirs(const char *dir)
{
	cleanup_free char *run = realpath(ctrk_default_run(), NULL);
	cleanup_free char *p = ctrk_xstrdup(dir);
	if (!run || !ctrk_path_under(p, run))
		return;
	while (strlen(p) > strlen(run) && rmdir(p) == 0)
		*strrchr(p, '/') = '\0';
}

void
mount_remove_run_dirs(const char *path)
{
	cleanup_free char *abs = realpath(path, NULL);
	if (abs) {
		remove_run_dirs(abs);
		return;
	}
	/* PATH is gone: its parent may be left, empty. */
	cleanup_free char *parent = ctrk_xstrdup(path);
	char *slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return;
	*slash = '\0';
	cleanup_free char *abs_parent = realpath(parent, NULL);
	if (abs_parent)
		remove_run_dirs(abs_parent);
}

int
mount_is_mounted(const char *path, ctrk_error_t *err)
{
	cleanup_free char *abs = realpath(path, NULL);
	if (!abs)
		return errno == ENOENT || errno == ENOTDIR ? 0 : ctrk_error_errno(err, "cannot resolve '%s'", path);
	return is_mount_point(abs, err);
}

int
unmount_rootfs(const char *target, bool lazy, char **warning, ctrk_error_t *err)
{
	cleanup_free char *abs = realpath(target, NULL);
	*warning = NULL;
	if (!abs)
		return ctrk_error_errno(err, "cannot unmount '%s'", target);
	if (strcmp(abs, "/") == 0)
		return ctrk_error_set(err, 0, "refusing to unmount '/'");
	/* Only a mount point: "everything below" a plain directory such as
	 * /home could be half the system. */
	switch (is_mount_point(abs, err)) {
	case -1: return -1;
	case 0: return ctrk_error_set(err, 0, "cannot unmount '%s': it is not a mount point", abs);
	}

	for (int round = 0;; round++) {
		ctrk_mount_table_t t;
		if (ctrk_mount_table_read(&t, err) < 0)
			return -1;
		const ctrk_mount_entry_t *top = newest_leaf_under(&t, abs);
		cleanup_free char *path = top ? ctrk_xstrdup(top->target) : NULL;
		ctrk_mount_table_free(&t);
		if (!path)
			break;
		if (round > 10000)
			return ctrk_error_set(err, 0, "cannot unmount '%s': the mounts keep coming back", path);
		if (umount2(path, UMOUNT_NOFOLLOW) == 0)
			continue;
		if (errno != EBUSY)
			return ctrk_error_errno(err, "cannot unmount '%s'", path);

		cleanup_free char *users = busy_users(path);
		if (!lazy) {
			ctrk_error_set(err, 0, "cannot unmount '%s': it is busy (%s)", path, users);
			err->errnum = EBUSY;
			return -1;
		}
		if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return ctrk_error_errno(err, "cannot detach '%s'", path);
		free(*warning);
		*warning = ctrk_strdup_printf("'%s' is busy (%s): detached it, the kernel unmounts it once they let go",
					      path, users);
	}
	remove_run_dirs(abs);
	return 0;
}
