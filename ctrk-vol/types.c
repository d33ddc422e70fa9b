/* types.c: the volume types — dir, tmpfs, bind, loop — and external
 * drivers ctrk-vol-NAME: what create checks and makes, how a volume is
 * mounted into a container, and what rm undoes. */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "descriptor.h"
#include "fsutil.h"
#include "json.h"
#include "mountinfo.h"
#include "paths.h"
#include "process.h"
#include "statedir.h"
#include "types.h"
#include "vol.h"

#define DRIVER_REPLY_MAX (64u << 10)
#define DRIVER_TIMEOUT_DEFAULT 60
#define TOOL_TIMEOUT_MS (600 * 1000)

bool
vol_type_builtin(const char *type)
{
	return strcmp(type, "dir") == 0 || strcmp(type, "tmpfs") == 0 || strcmp(type, "bind") == 0 ||
	       strcmp(type, "loop") == 0;
}

static bool
is_type(const vol_t *v, const char *type)
{
	return strcmp(vol_type(v), type) == 0;
}

static const char *
option(const vol_t *v, const char *key)
{
	const cJSON *opts = cJSON_GetObjectItemCaseSensitive(v->meta, "options");
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(opts, key));
}

/* -1 when V's metadata has no KEY (uid, gid, mode). */
static long
number(const vol_t *v, const char *key)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(v->meta, key);
	return cJSON_IsNumber(n) ? (long)n->valuedouble : -1;
}

char *
types_mount_point(const char *name)
{
	return ctrk_strdup_printf("%s/volumes/%s", ctrk_default_run(), name);
}

bool
types_path_is_mount(const char *path)
{
	struct statx sx;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0)
		return false;
	if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
		return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
	/* Before Linux 5.8: a mount point is on another device than its
	 * parent (a bind mount of the same file system is not seen). */
	cleanup_free char *parent = ctrk_strdup_printf("%s/..", path);
	struct stat a, b;
	return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

bool
types_needs_host_mount(const vol_t *v)
{
	return is_type(v, "loop") || !vol_type_builtin(vol_type(v));
}

bool
types_mounted(const vol_t *v)
{
	if (types_needs_host_mount(v)) {
		cleanup_free char *mp = types_mount_point(v->name);
		return types_path_is_mount(mp);
	}
	return false;
}

/* ---- Option values ---- */

/* A size: a whole number of bytes, with k, m, g or t (powers of 1024). */
static int
parse_size(const char *what, const char *s, unsigned long long *out, ctrk_error_t *err)
{
	char *end;
	errno = 0;
	if (!(*s >= '0' && *s <= '9'))
		goto bad;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno)
		goto bad;
	int shift = 0;
	if (*end) {
		const char *u = strchr("kmgt", end[0] | 0x20);
		if (!u || end[1])
			goto bad;
		shift = 10 * (int)(u - "kmgt" + 1);
	}
	if (n > (~0ULL >> shift))
		goto bad;
	*out = n << shift;
	return 0;
bad:
	return ctrk_error_set(err, 0, "invalid %s '%s': expected a size in bytes, with k, m, g or t", what, s);
}

static int
parse_octal_mode(const char *what, const char *s, long *out, ctrk_error_t *err)
{
	char *end;
	long m = strtol(s, &end, 8);
	if (!*s || *end || m < 0 || m > 07777)
		return ctrk_error_set(err, 0, "invalid %s '%s': expected an octal mode, 0 to 7777", what, s);
	*out = m;
	return 0;
}

/* K=V pairs of OPTION (--opt, --label) into OBJ.  Without '=' the value
 * is "" when EMPTY_OK (a label), else an error. */
static int
parse_pairs(const ctrk_strlist_t *l, const char *option, bool empty_ok, cJSON *obj, ctrk_error_t *err)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *kv = l->v[i];
		const char *eq = strchr(kv, '=');
		if (eq == kv || !*kv || (!eq && !empty_ok))
			return ctrk_error_set(err, 0, "invalid %s '%s': expected KEY=VALUE", option, kv);
		cleanup_free char *key = eq ? ctrk_xstrndup(kv, (size_t)(eq - kv)) : ctrk_xstrdup(kv);
		if (cJSON_GetObjectItemCaseSensitive(obj, key))
			return ctrk_error_set(err, 0, "%s '%s' is given twice", option, key);
		cJSON_AddStringToObject(obj, key, eq ? eq + 1 : "");
	}
	return 0;
}

/* Every option of OPTS must be one of KNOWN (NULL-ended). */
static int
options_known(const cJSON *opts, const char *type, const char *const *known, ctrk_error_t *err)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, opts)
	{
		bool ok = false;
		for (size_t i = 0; known[i] && !ok; i++)
			ok = strcmp(o->string, known[i]) == 0;
		if (ok)
			continue;
		char list[128] = "";
		for (size_t i = 0; known[i]; i++)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", known[i]);
		return ctrk_error_set(err, 0, "unknown option '%s' for a %s volume (%s)", o->string, type,
				      known[0] ? list : "it takes none");
	}
	return 0;
}

/* ---- tmpfs ---- */

/* The tmpfs mount options of a tmpfs volume, as mount(2)'s data. */
static char *
tmpfs_data(const cJSON *opts, long uid, long gid, long mode)
{
	char *s = ctrk_xstrdup("");
	const cJSON *o;
	cJSON_ArrayForEach(o, opts)
	{
		char *t = ctrk_strdup_printf("%s%s%s=%s", s, *s ? "," : "", o->string, o->valuestring);
		free(s);
		s = t;
	}
	const char *keys[] = {"uid", "gid", "mode"};
	long vals[] = {uid, gid, mode};
	for (size_t i = 0; i < 3; i++) {
		if (vals[i] < 0)
			continue;
		char *t = ctrk_strdup_printf(i == 2 ? "%s%s%s=%lo" : "%s%s%s=%ld", s, *s ? "," : "", keys[i], vals[i]);
		free(s);
		s = t;
	}
	return s;
}

/* Mount a tmpfs with DATA once, to see that the kernel takes it: in a
 * child with a mount namespace of its own, over its "/", so that nothing
 * of the trial is ever seen outside (also when we are killed). */
static int
tmpfs_trial(const char *data, ctrk_error_t *err)
{
	pid_t pid = fork();
	if (pid < 0)
		return ctrk_error_errno(err, "cannot fork");
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(200);
		if (mount("tmpfs", "/", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data) < 0)
			_exit(errno < 200 ? errno : EINVAL);
		_exit(0);
	}
	int status;
	if (ctrk_wait(pid, &status, err) < 0)
		return -1;
	if (!WIFEXITED(status))
		return ctrk_error_set(err, 0, "the trial mount of a tmpfs was killed");
	if (WEXITSTATUS(status) == 200)
		return ctrk_error_set(err, 0, "cannot make a private mount namespace for the trial mount");
	if (WEXITSTATUS(status) != 0)
		return ctrk_error_set(err, WEXITSTATUS(status), "the kernel refuses a tmpfs with '%s'", data);
	return 0;
}

static int
tmpfs_check(const vol_opts_t *o, cJSON *opts, ctrk_error_t *err)
{
	static const char *const known[] = {"size", "nr_inodes", "mode", NULL};
	if (options_known(opts, "tmpfs", known, err) < 0)
		return -1;
	const char *size = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(opts, "size"));
	const char *inodes = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(opts, "nr_inodes"));
	const char *mode = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(opts, "mode"));
	unsigned long long n;
	long m;
	/* tmpfs also takes size=N%; 0 means no limit, which a volume asking
	 * for a size surely did not mean. */
	if (size && !(strlen(size) > 1 && size[strlen(size) - 1] == '%' &&
		      strspn(size, "0123456789") == strlen(size) - 1)) {
		if (parse_size("size", size, &n, err) < 0)
			return -1;
		if (n == 0)
			return ctrk_error_set(err, 0, "invalid size '0': a tmpfs volume must have a limit (or no size=)");
	}
	if (inodes && parse_size("nr_inodes", inodes, &n, err) < 0)
		return -1;
	if (mode) {
		if (o->mode >= 0)
			return ctrk_error_set(err, 0, "the mode is given twice: --mode and --opt mode=");
		if (parse_octal_mode("mode", mode, &m, err) < 0)
			return -1;
	}
	cleanup_free char *data = tmpfs_data(opts, o->uid, o->gid, o->mode);
	return tmpfs_trial(data, err);
}

/* ---- bind ---- */

static int
bind_check(const vol_opts_t *o, cJSON *opts, ctrk_error_t *err)
{
	static const char *const known[] = {"path", NULL};
	if (options_known(opts, "bind", known, err) < 0)
		return -1;
	if (o->uid >= 0 || o->gid >= 0 || o->mode >= 0)
		return ctrk_error_set(err, 0, "--uid, --gid and --mode do not apply to a bind volume: it is the host's directory as it is");
	const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(opts, "path"));
	if (!path)
		return ctrk_error_set(err, 0, "a bind volume needs --opt path=/ABSOLUTE/DIR");
	if (path[0] != '/')
		return ctrk_error_set(err, 0, "invalid path '%s': it must be absolute", path);
	cleanup_free char *real = realpath(path, NULL);
	if (!real)
		return ctrk_error_errno(err, "invalid path '%s'", path);
	struct stat st;
	if (stat(real, &st) < 0)
		return ctrk_error_errno(err, "invalid path '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return ctrk_error_set(err, ENOTDIR, "invalid path '%s'", path);
	/* ctrk's own state holds every image and container: a volume in it,
	 * or holding it, would hand a container all of them. */
	const char *roots[] = {ctrk_default_root(), ctrk_default_run()};
	for (size_t i = 0; i < 2; i++) {
		cleanup_free char *state = realpath(roots[i], NULL);
		const char *s = state ? state : roots[i];
		if (ctrk_path_under(real, s) || ctrk_path_under(s, real))
			return ctrk_error_set(err, 0, "invalid path '%s': %s ctrk's own state '%s'", path,
					      ctrk_path_under(real, s) ? "it is inside" : "it holds", s);
	}
	ctrk_json_set(opts, "path", cJSON_CreateString(real));
	return 0;
}

/* ---- loop ---- */

#define LOOP_MIN_SIZE (1ULL << 20)
#define LOOP_MAX_SIZE (16ULL << 40)

static int
loop_check(const vol_opts_t *o, cJSON *opts, ctrk_error_t *err)
{
	static const char *const known[] = {"size", NULL};
	if (options_known(opts, "loop", known, err) < 0)
		return -1;
	const char *size = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(opts, "size"));
	if (!size)
		return ctrk_error_set(err, 0, "a loop volume needs --opt size=N (e.g. size=16m)");
	unsigned long long n;
	if (parse_size("size", size, &n, err) < 0)
		return -1;
	if (n < LOOP_MIN_SIZE || n > LOOP_MAX_SIZE)
		return ctrk_error_set(err, 0, "invalid size '%s': a loop volume takes 1m to 16t", size);
	cleanup_free char *mkfs = ctrk_find_program("mkfs.ext4");
	if (!mkfs)
		return ctrk_error_set(err, ENOENT, "a loop volume needs mkfs.ext4 (e2fsprogs)");
	return 0;
}

/* ---- External drivers ---- */

static int
driver_name_check(const char *type, ctrk_error_t *err)
{
	if (!type[0] || strlen(type) > 64 ||
	    strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(type))
		return ctrk_error_set(err, 0, "invalid volume type '%s': use dir, tmpfs, bind, loop, or a driver name of a-z, 0-9, '-' and '_'", type);
	return 0;
}

static char *
driver_program(const char *type, ctrk_error_t *err)
{
	if (driver_name_check(type, err) < 0)
		return NULL;
	cleanup_free char *prog = ctrk_strdup_printf("ctrk-vol-%s", type);
	char *path = ctrk_find_program(prog);
	if (!path)
		ctrk_error_set(err, 0, "unknown volume type '%s': not dir, tmpfs, bind or loop, and no '%s' on PATH",
			       type, prog);
	return path;
}

/* Run the driver program PROG with REQ on stdin; its reply (one JSON
 * object, "" counting as {}) within $CTRK_VOL_DRIVER_TIMEOUT seconds
 * (default 60) and DRIVER_REPLY_MAX bytes.  ctrk_spawn_capture() gives it a
 * process group of its own, and past the deadline the group is killed, so
 * a hanging driver takes nothing with it.  A driver that leaves a process
 * running (a FUSE daemon for its mount) must not leave it holding its
 * standard output: the reply ends where that output does. */
static cJSON *
driver_run(const char *prog, const cJSON *req, ctrk_error_t *err)
{
	long timeout;
	if (ctrk_env_seconds("CTRK_VOL_DRIVER_TIMEOUT", DRIVER_TIMEOUT_DEFAULT, 3600, &timeout, err) < 0)
		return NULL;
	cleanup_free char *text = ctrk_json_render(req, false);
	char *argv[] = {(char *)prog, NULL};
	ctrk_spawn_t s = {.argv = argv, .stdio = {-1, -1, -1}, .timeout_ms = (int)timeout * 1000};
	cleanup_free char *buf = NULL;
	size_t got = 0;
	int status = 0;
	if (ctrk_spawn_capture(&s, text, strlen(text), DRIVER_REPLY_MAX, &buf, &got, NULL, &status, err) < 0) {
		if (err->errnum == ETIMEDOUT)
			ctrk_error_set(err, 0, "'%s' timed out after %ld s (CTRK_VOL_DRIVER_TIMEOUT)", prog, timeout);
		else if (err->errnum == EFBIG)
			ctrk_error_set(err, 0, "'%s' answered more than 64 KiB", prog);
		return NULL;
	}
	bool blank = strspn(buf, " \t\r\n") == got;
	ctrk_error_t perr;
	cJSON *reply = blank ? cJSON_CreateObject() : ctrk_json_parse(buf, got, "the answer", &perr);
	if (reply && !cJSON_IsObject(reply)) {
		cJSON_Delete(reply);
		reply = NULL;
		ctrk_error_set(&perr, 0, "the answer is not a JSON object");
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "error"));
		if (msg)
			ctrk_error_set(err, 0, "%s", msg);
		else if (WIFEXITED(status))
			ctrk_error_set(err, 0, "'%s' failed with exit status %d", prog, WEXITSTATUS(status));
		else
			ctrk_error_set(err, 0, "'%s' was killed by signal %d", prog, WTERMSIG(status));
		cJSON_Delete(reply);
		return NULL;
	}
	if (!reply) {
		*err = perr;
		return NULL;
	}
	return reply;
}

/* One request {op, name, options, ...EXTRA} to V's driver. */
static cJSON *
driver_call(const vol_t *v, const char *op, cJSON *extra, ctrk_error_t *err)
{
	cleanup_json cJSON *req = cJSON_CreateObject();
	cleanup_json cJSON *more = extra;
	cJSON_AddStringToObject(req, "op", op);
	cJSON_AddStringToObject(req, "name", v->name);
	const cJSON *opts = cJSON_GetObjectItemCaseSensitive(v->meta, "options");
	cJSON_AddItemToObject(req, "options", opts ? cJSON_Duplicate(opts, true) : cJSON_CreateObject());
	for (cJSON *e = more ? more->child : NULL; e; e = e->next)
		cJSON_AddItemToObject(req, e->string, cJSON_Duplicate(e, true));
	cleanup_free char *prog = driver_program(vol_type(v), err);
	cJSON *reply = prog ? driver_run(prog, req, err) : NULL;
	if (!reply)
		ctrk_error_wrap(err, "driver '%s': %s '%s'", vol_type(v), op, v->name);
	return reply;
}

static int
driver_simple(const vol_t *v, const char *op, cJSON *extra, ctrk_error_t *err)
{
	cJSON *reply = driver_call(v, op, extra, err);
	cJSON_Delete(reply);
	return reply ? 0 : -1;
}

int
types_driver_remove(const vol_t *v, ctrk_error_t *err)
{
	return driver_simple(v, "remove", NULL, err);
}

static cJSON *
target_arg(const char *target)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "target", target);
	return o;
}

/* ---- Create ---- */

cJSON *
types_new_meta(const vol_opts_t *o, const char *name, ctrk_error_t *err)
{
	const char *type = o->type ? o->type : "dir";
	cleanup_json cJSON *meta = cJSON_CreateObject();
	cJSON_AddNumberToObject(meta, "version", 1);
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "type", type);
	cJSON *opts = cJSON_AddObjectToObject(meta, "options");
	cJSON *labels = cJSON_AddObjectToObject(meta, "labels");
	if (parse_pairs(&o->opts, "--opt", false, opts, err) < 0 ||
	    parse_pairs(&o->labels, "--label", true, labels, err) < 0)
		return NULL;
	if (strcmp(type, "dir") == 0) {
		static const char *const none[] = {NULL};
		if (options_known(opts, "dir", none, err) < 0)
			return NULL;
	} else if (strcmp(type, "tmpfs") == 0) {
		if (tmpfs_check(o, opts, err) < 0)
			return NULL;
	} else if (strcmp(type, "bind") == 0) {
		if (bind_check(o, opts, err) < 0)
			return NULL;
	} else if (strcmp(type, "loop") == 0) {
		if (loop_check(o, opts, err) < 0)
			return NULL;
	} else {
		cleanup_free char *prog = driver_program(type, err);
		if (!prog)
			return NULL;
	}
	if (o->uid >= 0)
		cJSON_AddNumberToObject(meta, "uid", (double)o->uid);
	if (o->gid >= 0)
		cJSON_AddNumberToObject(meta, "gid", (double)o->gid);
	if (o->mode >= 0)
		cJSON_AddNumberToObject(meta, "mode", (double)o->mode);
	/* What is written must read back: labels and options are strings
	 * of any bytes from argv, and meta.json is read strictly (UTF-8). */
	cleanup_free char *text = ctrk_json_render(meta, false);
	cleanup_json cJSON *back = ctrk_json_parse(text, strlen(text), "the new volume's labels and options", err);
	if (!back)
		return NULL;
	return steal_pointer(&meta);
}

static int
run_quiet(char *const argv[], ctrk_error_t *err)
{
	/* mkfs.ext4 and debugfs on a sparse image take seconds; a wait
	 * without end is never right. */
	ctrk_spawn_t s = {.argv = argv, .stdio = {-1, -1, -1}, .timeout_ms = TOOL_TIMEOUT_MS};
	cleanup_free char *out = NULL, *errout = NULL;
	int status;
	if (ctrk_spawn_capture(&s, NULL, 0, 64 << 10, &out, NULL, &errout, &status, err) < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		size_t n = strlen(errout);
		while (n && errout[n - 1] == '\n')
			errout[--n] = '\0';
		return ctrk_error_set(err, 0, "'%s' failed (status %d)%s%s", argv[0], ctrk_exit_code(status),
				      *errout ? ": " : "", errout);
	}
	return 0;
}

/* Free bytes of the ext4 file system in IMAGE, from its superblock. */
static int
ext4_free_bytes(int fd, unsigned long long *out, ctrk_error_t *err)
{
	unsigned char sb[1024];
	if (pread(fd, sb, sizeof sb, 1024) != (ssize_t)sizeof sb)
		return ctrk_error_errno(err, "cannot read the new file system's superblock");
#define LE32(o) ((unsigned long long)sb[o] | (unsigned long long)sb[(o) + 1] << 8 | \
		 (unsigned long long)sb[(o) + 2] << 16 | (unsigned long long)sb[(o) + 3] << 24)
	unsigned long long free_blocks = LE32(12);
	if (LE32(0x60) & 0x80) /* INCOMPAT_64BIT */
		free_blocks |= LE32(0x158) << 32;
	unsigned log = (unsigned)LE32(24);
#undef LE32
	if (sb[0x38] != 0x53 || sb[0x39] != 0xef || log > 6)
		return ctrk_error_set(err, 0, "the new file system's superblock is not ext4's");
	*out = free_blocks << (10 + log);
	return 0;
}

static int
mkfs(int fd, const char *image, unsigned long long size, const char *owner, ctrk_error_t *err)
{
	if (ftruncate(fd, (off_t)size) < 0)
		return ctrk_error_errno(err, "cannot size '%s'", image);
	/* No reserved blocks (nobody needs root's 5% in a volume), and the
	 * root's owner; the image is sparse until used. */
	char *argv[] = {"mkfs.ext4", "-F", "-q", "-m", "0", "-E", (char *)owner, (char *)image, NULL};
	return run_quiet(argv, err);
}

static int
loop_create(const vol_t *v, ctrk_error_t *err)
{
	unsigned long long size, free_bytes = 0;
	if (parse_size("size", option(v, "size"), &size, err) < 0)
		return -1;
	cleanup_free char *image = ctrk_strdup_printf("%s/" VOL_IMAGE, v->dir);
	cleanup_close int fd = open(image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot create '%s'", image);
	long uid = number(v, "uid"), gid = number(v, "gid"), mode = number(v, "mode");
	char owner[64];
	snprintf(owner, sizeof owner, "root_owner=%ld:%ld", uid >= 0 ? uid : 0, gid >= 0 ? gid : 0);
	/* size= is what the volume holds: the file system's own overhead
	 * (journal, inode tables, bitmaps: a fifth of a small one) comes on
	 * top.  Measured on a first try, then the image grows by that much;
	 * the second overhead is a little larger, so the volume holds a
	 * little less than size=, never more. */
	if (mkfs(fd, image, size, owner, err) < 0 || ext4_free_bytes(fd, &free_bytes, err) < 0)
		return -1;
	if (free_bytes < size && mkfs(fd, image, size + (size - free_bytes), owner, err) < 0)
		return -1;
	if (mode >= 0) {
		char req[64];
		snprintf(req, sizeof req, "sif / mode 0%lo", 040000 | mode);
		char *debugfs[] = {"debugfs", "-w", "-R", req, image, NULL};
		if (run_quiet(debugfs, err) < 0)
			return -1;
	}
	if (fsync(fd) < 0)
		return ctrk_error_errno(err, "cannot sync '%s'", image);
	return 0;
}

static int
dir_create(const vol_t *v, ctrk_error_t *err)
{
	cleanup_free char *data = ctrk_strdup_printf("%s/" VOL_DATA, v->dir);
	long uid = number(v, "uid"), gid = number(v, "gid"), mode = number(v, "mode");
	if (mkdir(data, 0700) < 0)
		return ctrk_error_errno(err, "cannot make '%s'", data);
	/* Owner first: chown clears the set-id bits that chmod may set. */
	if ((uid >= 0 || gid >= 0) && lchown(data, (uid_t)uid, (gid_t)gid) < 0)
		return ctrk_error_errno(err, "cannot give '%s' to %ld:%ld", data, uid, gid);
	if (chmod(data, mode >= 0 ? (mode_t)mode : 0755) < 0)
		return ctrk_error_errno(err, "cannot set the mode of '%s'", data);
	return 0;
}

int
types_create(const vol_t *v, ctrk_error_t *err)
{
	const char *type = vol_type(v);
	if (strcmp(type, "dir") == 0)
		return dir_create(v, err);
	if (strcmp(type, "loop") == 0)
		return loop_create(v, err);
	if (vol_type_builtin(type))
		return 0; /* tmpfs, bind: nothing to make */
	cJSON *extra = cJSON_CreateObject();
	static const char *const ids[] = {"uid", "gid", "mode"};
	for (size_t i = 0; i < 3; i++) {
		long n = number(v, ids[i]);
		if (n >= 0)
			cJSON_AddNumberToObject(extra, ids[i], (double)n);
	}
	return driver_simple(v, "create", extra, err);
}

/* ---- Mount ---- */

int
types_loop_mount(const char *image, const char *target, ctrk_error_t *err)
{
	cleanup_close int img = open(image, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (img < 0)
		return ctrk_error_errno(err, "cannot open '%s'", image);
	cleanup_close int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return ctrk_error_errno(err, "cannot open /dev/loop-control");
	/* Another process may take the free device between asking and
	 * configuring it (EBUSY): ask again. */
	for (int tries = 0; tries < 32; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			return ctrk_error_errno(err, "cannot get a free loop device");
		char dev[32];
		snprintf(dev, sizeof dev, "/dev/loop%d", n);
		cleanup_close int fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && mknod(dev, S_IFBLK | 0600, makedev(7, n)) == 0)
			fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return ctrk_error_errno(err, "cannot open '%s'", dev);
		/* Autoclear: the device is let go with the last unmount, so
		 * that nothing but the mount needs undoing. */
		struct loop_config cfg = {.fd = (unsigned)img, .info = {.lo_flags = LO_FLAGS_AUTOCLEAR}};
		snprintf((char *)cfg.info.lo_file_name, sizeof cfg.info.lo_file_name, "%s", image);
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) < 0) {
			if (errno == EBUSY)
				continue;
			return ctrk_error_errno(err, "cannot attach '%s' to '%s'", image, dev);
		}
		if (mount(dev, target, "ext4", 0, NULL) < 0)
			return ctrk_error_errno(err, "cannot mount '%s' ('%s') on '%s'", dev, image, target);
		return 0;
	}
	return ctrk_error_set(err, EBUSY, "cannot get a free loop device: all taken while trying");
}

/* Make $CTRK_RUN/volumes/NAME, the empty directory to mount V on. */
static char *
mount_point_make(const vol_t *v, ctrk_error_t *err)
{
	if (ctrk_private_dir(ctrk_default_run(), "volumes", err) < 0)
		return NULL;
	char *mp = types_mount_point(v->name);
	if (mkdir(mp, 0700) < 0 && errno != EEXIST) {
		ctrk_error_errno(err, "cannot make '%s'", mp);
		free(mp);
		return NULL;
	}
	return mp;
}

/* Mount V (loop or external) on the host when it is not. */
static int
host_mount(const vol_t *v, ctrk_error_t *err)
{
	if (types_mounted(v))
		return 0;
	cleanup_free char *mp = mount_point_make(v, err);
	if (!mp)
		return -1;
	if (is_type(v, "loop")) {
		cleanup_free char *image = ctrk_strdup_printf("%s/" VOL_IMAGE, v->dir);
		return types_loop_mount(image, mp, err);
	}
	if (driver_simple(v, "mount", target_arg(mp), err) < 0)
		return -1;
	if (!types_path_is_mount(mp))
		return ctrk_error_set(err, 0, "driver '%s': mount '%s': nothing is mounted on '%s'", vol_type(v),
				      v->name, mp);
	return 0;
}

int
vol_mount(const vol_t *v, cJSON **mount, ctrk_error_t *err)
{
	*mount = NULL;
	cJSON *m = cJSON_CreateObject();
	cJSON *opts;
	if (is_type(v, "tmpfs")) {
		cJSON_AddStringToObject(m, "type", "tmpfs");
		cJSON_AddStringToObject(m, "source", "tmpfs");
		opts = cJSON_AddArrayToObject(m, "options");
		cJSON_AddItemToArray(opts, cJSON_CreateString("nosuid"));
		cJSON_AddItemToArray(opts, cJSON_CreateString("nodev"));
		const cJSON *o;
		cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(v->meta, "options"))
		{
			cleanup_free char *kv = ctrk_strdup_printf("%s=%s", o->string, o->valuestring);
			cJSON_AddItemToArray(opts, cJSON_CreateString(kv));
		}
		static const char *const ids[] = {"uid", "gid", "mode"};
		for (size_t i = 0; i < 3; i++) {
			long n = number(v, ids[i]);
			if (n < 0)
				continue;
			cleanup_free char *kv = ctrk_strdup_printf(i == 2 ? "%s=%lo" : "%s=%ld", ids[i], n);
			cJSON_AddItemToArray(opts, cJSON_CreateString(kv));
		}
		*mount = m;
		return 0;
	}
	if ((is_type(v, "loop") || !vol_type_builtin(vol_type(v))) && host_mount(v, err) < 0) {
		cJSON_Delete(m);
		return ctrk_error_wrap(err, "cannot mount volume '%s'", v->name);
	}
	cleanup_free char *src = is_type(v, "dir") || is_type(v, "bind") ? vol_content_path(v)
									  : types_mount_point(v->name);
	cJSON_AddStringToObject(m, "type", "bind");
	cJSON_AddStringToObject(m, "source", src);
	opts = cJSON_AddArrayToObject(m, "options");
	cJSON_AddItemToArray(opts, cJSON_CreateString("rbind"));
	*mount = m;
	return 0;
}

int
vol_unmount(const vol_t *v, ctrk_error_t *err)
{
	if (!is_type(v, "loop") && vol_type_builtin(vol_type(v)))
		return 0;
	cleanup_free char *mp = types_mount_point(v->name);
	if (types_path_is_mount(mp)) {
		if (is_type(v, "loop")) {
			if (umount2(mp, UMOUNT_NOFOLLOW) < 0)
				return ctrk_error_errno(err, "cannot unmount volume '%s' from '%s'", v->name, mp);
		} else if (driver_simple(v, "unmount", target_arg(mp), err) < 0)
			return -1;
		else if (types_path_is_mount(mp))
			return ctrk_error_set(err, 0, "driver '%s': unmount '%s': '%s' is still mounted", vol_type(v),
					      v->name, mp);
	}
	if (rmdir(mp) < 0 && errno != ENOENT)
		return ctrk_error_errno(err, "cannot remove '%s'", mp);
	return 0;
}

char *
vol_content_path(const vol_t *v)
{
	if (is_type(v, "dir"))
		return ctrk_strdup_printf("%s/" VOL_DATA, v->dir);
	if (is_type(v, "bind")) {
		const char *p = option(v, "path");
		return p ? ctrk_xstrdup(p) : NULL;
	}
	if (is_type(v, "tmpfs"))
		return NULL;
	if (is_type(v, "loop"))
		return types_mount_point(v->name);
	/* External: the driver says where the content is. */
	cleanup_free char *mp = types_mount_point(v->name);
	ctrk_error_t err;
	cleanup_json cJSON *reply = driver_call(v, "path", target_arg(mp), &err);
	const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "path"));
	return p && p[0] == '/' ? ctrk_xstrdup(p) : NULL;
}

int
types_remove(const vol_t *v, ctrk_error_t *err)
{
	const char *type = vol_type(v);
	if (strcmp(type, "loop") == 0 || !vol_type_builtin(type)) {
		if (vol_unmount(v, err) < 0)
			return -1;
	}
	if (!vol_type_builtin(type))
		return driver_simple(v, "remove", NULL, err);
	return 0;
}
