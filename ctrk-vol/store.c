/* store.c: the volume store — names, metadata, locks, and the verbs that
 * list, create and remove volumes.
 *
 * Crash safety rests on two rules:
 *   - a volume is made complete in a temp directory ".tmp-NAME" of the
 *     store and renamed to NAME last (renameat2 RENAME_NOREPLACE, so of
 *     parallel creates exactly one wins); it is removed by renaming it to
 *     ".rm-NAME.XXXXXX" first, so it disappears in one step;
 *   - the process working on such a temp entry holds an exclusive flock(2)
 *     on it for as long as it lives.  An entry nobody holds is a leftover
 *     of a killed command: the next create, rm, prune, import or check
 *     --fix removes it.  The short window between making a temp directory
 *     and locking it is covered by the store's lock (".lock"), which every
 *     maker and every sweeper holds around that step. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "extract.h"
#include "fsutil.h"
#include "json.h"
#include "mountinfo.h"
#include "paths.h"
#include "populate.h"
#include "statedir.h"
#include "types.h"
#include "vol.h"

const char *
vol_store_dir(bool make, ctrk_error_t *err)
{
	static char *dir;
	if (!dir)
		dir = ctrk_strdup_printf("%s/volumes", ctrk_default_root());
	if (make && ctrk_private_dir(ctrk_default_root(), "volumes", err) < 0)
		return NULL;
	return dir;
}

int
vol_name_check(const char *name, ctrk_error_t *err)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	size_t len = strlen(name);
	if (len == 0)
		return ctrk_error_set(err, 0, "invalid volume name '': it is empty");
	if (len > VOL_NAME_MAX)
		return ctrk_error_set(err, 0, "invalid volume name '%.32s...': longer than %d bytes", name,
				      VOL_NAME_MAX);
	if (!strchr(alnum, name[0]) || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len)
		return ctrk_error_set(err, 0,
				      "invalid volume name '%s': use [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most %d bytes",
				      name, VOL_NAME_MAX);
	return 0;
}

static char *
vol_path(const char *name)
{
	return ctrk_strdup_printf("%s/%s", vol_store_dir(false, NULL), name);
}

/* An error whose message says it all, with ERRNUM for callers that
 * branch on it ("no such volume 'x'", not "...: No such file or
 * directory"). */
static int __attribute__((format(printf, 3, 4)))
vol_error_errno(ctrk_error_t *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	err->errnum = errnum;
	return -1;
}

#define LOCK_TIMEOUT_DEFAULT 120

/* flock(FD, OP) (LOCK_EX or LOCK_SH), waiting at most
 * $CTRK_VOL_LOCK_TIMEOUT seconds (default 120) for WHAT: a holder may
 * itself wait without end (an export writing to a reader that does not
 * read), and a container start must not hang on it.  -1 with errnum
 * ETIMEDOUT past the time. */
static int
timed_flock(int fd, int op, const char *what, ctrk_error_t *err)
{
	long timeout;
	if (ctrk_env_seconds("CTRK_VOL_LOCK_TIMEOUT", LOCK_TIMEOUT_DEFAULT, 3600, &timeout, err) < 0)
		return -1;
	struct timespec nap = {0, 1000000}, start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return ctrk_error_errno(err, "cannot lock %s", what);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= timeout)
			return vol_error_errno(err, ETIMEDOUT,
					       "%s is busy: another ctrk-vol has held it for %ld s (CTRK_VOL_LOCK_TIMEOUT)",
					       what, timeout);
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 64000000) /* up to 64 ms between looks */
			nap.tv_nsec *= 2;
	}
}

/* The store's lock, around making or sweeping temp entries. */
static int
store_lock(ctrk_error_t *err)
{
	const char *store = vol_store_dir(true, err);
	if (!store)
		return -1;
	cleanup_free char *path = ctrk_strdup_printf("%s/.lock", store);
	cleanup_close int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open '%s'", path);
	if (timed_flock(fd, LOCK_EX, "the volume store", err) < 0)
		return -1;
	return steal_fd(&fd);
}

const char *
vol_type(const vol_t *v)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(v->meta, "type");
	return cJSON_IsString(t) ? t->valuestring : "";
}

static int
string_object_check(const cJSON *meta, const char *key, const char *what, ctrk_error_t *err)
{
	const cJSON *obj = NULL, *e;
	if (ctrk_json_get_object(meta, key, true, &obj, what, err) < 0)
		return -1;
	cJSON_ArrayForEach(e, obj)
	{
		if (!cJSON_IsString(e))
			return ctrk_error_set(err, 0, "%s.%s.%s: expected a string", what, key, e->string);
	}
	return 0;
}

int
vol_meta_validate(const cJSON *meta, const char *name, const char *what, ctrk_error_t *err)
{
	const char *s = NULL;
	long long n;
	if (!cJSON_IsObject(meta))
		return ctrk_error_set(err, 0, "%s: expected a JSON object", what);
	if (ctrk_json_get_int64(meta, "version", true, &n, what, err) < 0)
		return -1;
	if (n != 1)
		return ctrk_error_set(err, 0, "%s.version: %lld is not supported (1 is)", what, n);
	if (ctrk_json_get_string(meta, "name", true, &s, what, err) < 0)
		return -1;
	if (strcmp(s, name) != 0)
		return ctrk_error_set(err, 0, "%s.name: '%s' is not the volume's name", what, s);
	if (ctrk_json_get_string(meta, "type", true, &s, what, err) < 0)
		return -1;
	if (!*s)
		return ctrk_error_set(err, 0, "%s.type: empty", what);
	if (string_object_check(meta, "options", what, err) < 0 || string_object_check(meta, "labels", what, err) < 0)
		return -1;
	if (ctrk_json_get_string(meta, "created", true, &s, what, err) < 0)
		return -1;
	static const char *const ids[] = {"uid", "gid", "mode"};
	for (size_t i = 0; i < 3; i++) {
		n = 0;
		if (ctrk_json_get_int64(meta, ids[i], false, &n, what, err) < 0)
			return -1;
		if (n < 0 || n > (i == 2 ? 07777 : 0x7fffffff))
			return ctrk_error_set(err, 0, "%s.%s: %lld is out of range", what, ids[i], n);
	}
	static const char *const flags[] = {"anonymous", "populating"};
	for (size_t i = 0; i < 2; i++) {
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(meta, flags[i]);
		if (b && !cJSON_IsBool(b))
			return ctrk_error_set(err, 0, "%s.%s: expected true or false", what, flags[i]);
	}
	return 0;
}

int
vol_load(const char *name, vol_t *v, ctrk_error_t *err)
{
	memset(v, 0, sizeof *v);
	if (vol_name_check(name, err) < 0) {
		errno = EINVAL;
		return -1;
	}
	cleanup_free char *dir = vol_path(name);
	struct stat st;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		vol_error_errno(err, ENOENT, "no such volume '%s'", name);
		errno = ENOENT;
		return -1;
	}
	cleanup_free char *path = ctrk_strdup_printf("%s/" VOL_META, dir);
	cleanup_json cJSON *meta = ctrk_json_read_file(path, VOL_META_MAX, err);
	if (!meta || vol_meta_validate(meta, name, VOL_META, err) < 0) {
		ctrk_error_wrap(err, "volume '%s' is damaged (see ctrk-vol check)", name);
		errno = EIO;
		return -1;
	}
	v->name = ctrk_xstrdup(name);
	v->dir = steal_pointer(&dir);
	v->meta = steal_pointer(&meta);
	return 0;
}

void
vol_free(vol_t *v)
{
	free(v->name);
	free(v->dir);
	cJSON_Delete(v->meta);
	memset(v, 0, sizeof *v);
}

int
vol_meta_save(const vol_t *v, ctrk_error_t *err)
{
	cleanup_free char *text = ctrk_json_render(v->meta, true);
	cleanup_free char *path = ctrk_strdup_printf("%s/" VOL_META, v->dir);
	size_t len = strlen(text);
	text[len] = '\n'; /* over the NUL: the file ends in a newline */
	if (ctrk_write_file_atomic(path, text, len + 1, 0600, err) < 0)
		return ctrk_error_wrap(err, "cannot save the metadata of volume '%s'", v->name);
	return 0;
}

int
vol_lock(const char *name, ctrk_error_t *err)
{
	if (vol_name_check(name, err) < 0)
		return -1;
	cleanup_free char *dir = vol_path(name);
	/* The directory may be renamed away (rm) while we wait for its lock:
	 * only a lock on what is still NAME counts.  Never through a
	 * symlink: one in the store is no volume. */
	for (;;) {
		cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
				return vol_error_errno(err, ENOENT, "no such volume '%s'", name);
			return ctrk_error_errno(err, "cannot open '%s' to lock it", dir);
		}
		cleanup_free char *what = ctrk_strdup_printf("volume '%s'", name);
		if (timed_flock(fd, LOCK_EX, what, err) < 0)
			return -1;
		struct stat held, now;
		if (fstat(fd, &held) < 0)
			return ctrk_error_errno(err, "cannot stat '%s'", dir);
		if (lstat(dir, &now) == 0 && held.st_dev == now.st_dev && held.st_ino == now.st_ino)
			return steal_fd(&fd);
		/* Renamed away meanwhile (removed), maybe made again: look
		 * again. */
	}
}

/* ---- Temp entries ---- */

static bool
is_temp_entry(const char *name)
{
	return strncmp(name, VOL_TMP_PREFIX, strlen(VOL_TMP_PREFIX)) == 0 ||
	       strncmp(name, VOL_RM_PREFIX, strlen(VOL_RM_PREFIX)) == 0;
}

/* Try to lock the directory NAME in DIRFD without waiting: its fd when
 * nobody holds it (a leftover), -1 when someone does (errno EWOULDBLOCK)
 * or it cannot be opened. */
static int
try_lock_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Remove the leftover temp entry NAME of the store (DIRFD), which the
 * caller has locked.  A killed create of an external volume may have had
 * its driver make something: the driver is asked to remove it (its
 * metadata was written before the driver's create, see
 * vol_create_with()); a refusal is only a warning, else the leftover
 * would stay forever. */
static int
leftover_remove(int dirfd, const char *name, ctrk_error_t *err)
{
	if (strncmp(name, VOL_TMP_PREFIX, strlen(VOL_TMP_PREFIX)) == 0) {
		cleanup_free char *path = ctrk_strdup_printf("%s/%s/" VOL_META, vol_store_dir(false, NULL), name);
		ctrk_error_t ignored, derr;
		cleanup_json cJSON *meta = ctrk_json_read_file(path, VOL_META_MAX, &ignored);
		const char *vname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "type"));
		if (vname && type && !vol_type_builtin(type) && vol_name_check(vname, &ignored) == 0) {
			cleanup_free char *dir = ctrk_strdup_printf("%s/%s", vol_store_dir(false, NULL), name);
			vol_t v = {.name = (char *)vname, .dir = dir, .meta = meta};
			if (types_driver_remove(&v, &derr) < 0)
				ctrk_warn("%s", derr.msg);
		}
	}
	return ctrk_remove_tree_at(dirfd, name, err);
}

int
vol_store_sweep(bool fix, cJSON *report, ctrk_error_t *err)
{
	const char *store = vol_store_dir(true, err);
	if (!store)
		return -1;
	cleanup_close int lock = store_lock(err);
	if (lock < 0)
		return -1;
	cleanup_close int dirfd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return ctrk_error_errno(err, "cannot open '%s'", store);
	DIR *d = fdopendir(dup(dirfd));
	if (!d)
		return ctrk_error_errno(err, "cannot read '%s'", store);
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (!is_temp_entry(e->d_name))
			continue;
		cleanup_close int fd = try_lock_at(dirfd, e->d_name);
		if (fd < 0)
			continue; /* at work, or not a directory of ours */
		bool creating = e->d_name[1] == 't';
		bool fixed = false;
		if (fix) {
			ctrk_error_t rm_err;
			if (leftover_remove(dirfd, e->d_name, &rm_err) == 0)
				fixed = true;
			else
				ctrk_warn("cannot remove leftover '%s/%s': %s", store, e->d_name, rm_err.msg);
		}
		if (report) {
			cJSON *p = cJSON_CreateObject();
			cJSON_AddStringToObject(p, "kind", "leftover");
			cleanup_free char *path = ctrk_strdup_printf("%s/%s", store, e->d_name);
			cJSON_AddStringToObject(p, "path", path);
			cJSON_AddStringToObject(p, "detail", creating ? "a create or import that was killed"
								     : "an rm that was killed");
			cJSON_AddBoolToObject(p, "fixed", fixed);
			cJSON_AddItemToArray(report, p);
		}
	}
	closedir(d);
	return rc;
}

/* Claim ".tmp-NAME" for a new volume NAME: made and locked under the
 * store's lock.  A live creator of the same name is waited for, then NAME
 * is looked at again, so that of parallel creates one wins and the others
 * say that the volume exists. */
static int
claim_tmp(const char *name, char **tmp_out, ctrk_error_t *err)
{
	const char *store = vol_store_dir(true, err);
	if (!store)
		return -1;
	cleanup_free char *final = vol_path(name);
	cleanup_free char *tmp = ctrk_strdup_printf("%s/" VOL_TMP_PREFIX "%s", store, name);
	for (;;) {
		cleanup_close int lock = store_lock(err);
		if (lock < 0)
			return -1;
		if (ctrk_path_exists(final))
			return vol_error_errno(err, EEXIST, "volume '%s' already exists", name);
		cleanup_close int other = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (other >= 0) {
			if (flock(other, LOCK_EX | LOCK_NB) == 0) {
				cleanup_close int sfd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				cleanup_free char *base = ctrk_strdup_printf(VOL_TMP_PREFIX "%s", name);
				if (sfd < 0 || leftover_remove(sfd, base, err) < 0)
					return ctrk_error_wrap(err, "cannot remove the leftover '%s'", tmp);
			} else {
				/* Another create of NAME is at work: wait for it
				 * to end, and look again. */
				close(steal_fd(&lock));
				cleanup_free char *what = ctrk_strdup_printf("the new volume '%s'", name);
				if (timed_flock(other, LOCK_SH, what, err) < 0)
					return -1;
				continue;
			}
		} else if (errno != ENOENT) {
			return ctrk_error_errno(err, "cannot open '%s'", tmp);
		}
		if (mkdir(tmp, 0700) < 0)
			return ctrk_error_errno(err, "cannot make '%s'", tmp);
		int fd = try_lock_at(AT_FDCWD, tmp);
		if (fd < 0)
			return ctrk_error_errno(err, "cannot lock '%s'", tmp);
		*tmp_out = steal_pointer(&tmp);
		return fd;
	}
}

void
vol_random_hex(char *out, size_t nbytes)
{
	unsigned char b[32];
	size_t got = 0;
	if (nbytes > sizeof b)
		nbytes = sizeof b;
	while (got < nbytes) {
		ssize_t n = getrandom(b + got, nbytes - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			abort(); /* no entropy source at all: nothing sensible left */
	}
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static char *
now_rfc3339(void)
{
	time_t t = time(NULL);
	struct tm tm;
	char buf[32];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return ctrk_xstrdup(buf);
}

int
vol_create_with(const vol_opts_t *o, const char *name, bool anonymous, vol_fill_fn fill, void *arg,
		vol_t *out, ctrk_error_t *err)
{
	char generated[65];
	memset(out, 0, sizeof *out);
	if (!name) {
		if (!anonymous)
			return ctrk_error_set(err, EINVAL, "no volume name given");
		vol_random_hex(generated, 32);
		name = generated;
	}
	if (vol_name_check(name, err) < 0)
		return -1;
	cleanup_json cJSON *meta = types_new_meta(o, name, err);
	if (!meta)
		return ctrk_error_wrap(err, "cannot create volume '%s'", name);
	cleanup_free char *created = now_rfc3339();
	cJSON_AddStringToObject(meta, "created", created);
	cJSON_AddBoolToObject(meta, "anonymous", anonymous);

	ctrk_error_t ignored;
	vol_store_sweep(true, NULL, &ignored);
	cleanup_free char *tmp = NULL, *final = vol_path(name);
	cleanup_close int lock = claim_tmp(name, &tmp, err);
	if (lock < 0)
		return -1;
	vol_t tv = {.name = (char *)name, .dir = tmp, .meta = meta};
	/* An external driver's create may leave something behind if we are
	 * killed: the metadata first says whose it is (see leftover_remove). */
	if (!vol_type_builtin(vol_type(&tv))) {
		cleanup_free char *text = ctrk_json_render(meta, false);
		cleanup_free char *path = ctrk_strdup_printf("%s/" VOL_META, tmp);
		if (ctrk_replace_file(path, text, strlen(text), 0600, err) < 0)
			goto fail_dir;
	}
	if (types_create(&tv, err) < 0)
		goto fail_dir;
	if (fill && fill(&tv, arg, err) < 0)
		goto fail_type;
	if (vol_meta_save(&tv, err) < 0)
		goto fail_type;
	/* The content made by FILL must be on disk before the volume is. */
	if (fill && syncfs(lock) < 0) {
		ctrk_error_errno(err, "cannot sync '%s'", tmp);
		goto fail_type;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) < 0) {
		if (errno == EEXIST)
			vol_error_errno(err, EEXIST, "volume '%s' already exists", name);
		else
			ctrk_error_errno(err, "cannot rename '%s' to '%s'", tmp, final);
		goto fail_type;
	}
	if (ctrk_fsync_dir(vol_store_dir(false, NULL), err) < 0)
		return ctrk_error_wrap(err, "volume '%s' was created, but", name);
	out->name = ctrk_xstrdup(name);
	out->dir = steal_pointer(&final);
	out->meta = steal_pointer(&meta);
	return 0;

fail_type:
	types_remove(&tv, &ignored);
fail_dir:
	ctrk_remove_tree(tmp, &ignored);
	return ctrk_error_wrap(err, "cannot create volume '%s'", name);
}

int
vol_create(const vol_opts_t *o, const char *name, bool anonymous, vol_t *out, ctrk_error_t *err)
{
	return vol_create_with(o, name, anonymous, NULL, NULL, out, err);
}

/* ---- Listing ---- */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the store's volumes, sorted; NULL-ended. */
static char **
list_names(size_t *n_out, ctrk_error_t *err)
{
	const char *store = vol_store_dir(false, NULL);
	size_t n = 0, cap = 8;
	char **names = ctrk_xcalloc(cap, sizeof *names);
	DIR *d = opendir(store);
	if (!d) {
		if (errno == ENOENT) {
			*n_out = 0;
			return names;
		}
		free(names);
		ctrk_error_errno(err, "cannot read '%s'", store);
		return NULL;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		if (n + 1 >= cap) {
			cap *= 2;
			names = ctrk_xrealloc(names, cap * sizeof *names);
		}
		names[n++] = ctrk_xstrdup(e->d_name);
	}
	closedir(d);
	names[n] = NULL;
	qsort(names, n, sizeof *names, name_cmp);
	*n_out = n;
	return names;
}

/* --filter label=K or label=K=V. */
static int
filters_check(const vol_opts_t *o)
{
	for (size_t i = 0; i < o->filters.n; i++) {
		const char *f = o->filters.v[i];
		if (strncmp(f, "label=", 6) != 0 || !f[6] || f[6] == '=')
			return ctrk_usage_error("invalid --filter '%s': expected label=KEY or label=KEY=VALUE", f);
	}
	return 0;
}

static bool
filters_match(const vol_opts_t *o, const vol_t *v)
{
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(v->meta, "labels");
	for (size_t i = 0; i < o->filters.n; i++) {
		const char *k = o->filters.v[i] + 6;
		const char *eq = strchr(k, '=');
		cleanup_free char *key = eq ? ctrk_xstrndup(k, (size_t)(eq - k)) : ctrk_xstrdup(k);
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels, key);
		if (!cJSON_IsString(l) || (eq && strcmp(l->valuestring, eq + 1) != 0))
			return false;
	}
	return true;
}

/* What inspect shows: the metadata and where the content is. */
static cJSON *
vol_describe(const vol_t *v)
{
	cJSON *j = cJSON_Duplicate(v->meta, true);
	cJSON_AddStringToObject(j, "dir", v->dir);
	const char *type = vol_type(v);
	bool on_host = strcmp(type, "dir") == 0 || strcmp(type, "bind") == 0 || types_mounted(v);
	cleanup_free char *path = on_host ? vol_content_path(v) : NULL;
	ctrk_json_set(j, "mountpoint", path ? cJSON_CreateString(path) : cJSON_CreateNull());
	if (strcmp(type, "dir") != 0 && strcmp(type, "bind") != 0 && strcmp(type, "tmpfs") != 0)
		cJSON_AddBoolToObject(j, "mounted", types_mounted(v));
	return j;
}

static int
flush_stdout(ctrk_error_t *err)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return ctrk_error_errno(err, "cannot write to standard output");
	return 0;
}

int
cmd_ls(const vol_opts_t *o)
{
	ctrk_error_t err = {0};
	if (filters_check(o) != 0)
		return CTRK_EXIT_USAGE;
	size_t n;
	char **names = list_names(&n, &err);
	if (!names)
		return ctrk_fail(&err);
	cleanup_json cJSON *all = cJSON_CreateArray();
	int rc = CTRK_EXIT_OK;
	if (!o->json && !o->quiet)
		printf("%-10s %s\n", "TYPE", "NAME");
	for (size_t i = 0; i < n; i++) {
		vol_t v;
		if (vol_load(names[i], &v, &err) < 0) {
			if (errno != ENOENT) {
				ctrk_warn("%s", err.msg);
				rc = CTRK_EXIT_FAILURE;
			}
			continue;
		}
		if (filters_match(o, &v)) {
			if (o->json)
				cJSON_AddItemToArray(all, vol_describe(&v));
			else if (o->quiet)
				printf("%s\n", v.name);
			else
				printf("%-10s %s\n", vol_type(&v), v.name);
		}
		vol_free(&v);
	}
	vol_ids_free(names);
	if (o->json && ctrk_json_write_fd(1, all, true, &err) < 0)
		return ctrk_fail(&err);
	if (flush_stdout(&err) < 0)
		return ctrk_fail(&err);
	return rc;
}

int
cmd_inspect(const vol_opts_t *o, int argc, char **argv)
{
	ctrk_error_t err;
	cleanup_json cJSON *all = cJSON_CreateArray();
	int rc = CTRK_EXIT_OK;
	for (int i = 0; i < argc; i++) {
		vol_t v;
		if (vol_load(argv[i], &v, &err) < 0) {
			ctrk_report(&err);
			rc = CTRK_EXIT_FAILURE;
			continue;
		}
		cJSON_AddItemToArray(all, vol_describe(&v));
		vol_free(&v);
	}
	if (ctrk_json_write_fd(1, all, true, &err) < 0)
		return ctrk_fail(&err);
	return rc;
}

int
cmd_exists(const vol_opts_t *o, const char *name)
{
	ctrk_error_t err;
	if (vol_name_check(name, &err) < 0) {
		ctrk_report(&err);
		return CTRK_EXIT_USAGE;
	}
	cleanup_free char *dir = vol_path(name);
	struct stat st;
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? CTRK_EXIT_OK : CTRK_EXIT_FAILURE;
}

int
cmd_path(const vol_opts_t *o, const char *name)
{
	ctrk_error_t err;
	vol_t v;
	if (vol_load(name, &v, &err) < 0)
		return ctrk_fail(&err);
	const char *type = vol_type(&v);
	cleanup_free char *path = NULL;
	if (strcmp(type, "tmpfs") == 0)
		ctrk_error_set(&err, 0, "volume '%s' is a tmpfs: each container gets a new one, it has no host path",
			       name);
	else if (!vol_type_builtin(type) || strcmp(type, "loop") == 0) {
		/* Mounted on the host only while a container uses it:
		 * path does not mount it (nothing would unmount it). */
		if (!types_mounted(&v))
			ctrk_error_set(&err, 0,
				       "volume '%s' (%s) is not mounted: it is mounted while a container uses it",
				       name, type);
		else if (!(path = vol_content_path(&v)))
			ctrk_error_set(&err, 0, "volume '%s': its driver gives no path", name);
	} else
		path = vol_content_path(&v);
	vol_free(&v);
	if (!path)
		return ctrk_fail(&err);
	printf("%s\n", path);
	if (flush_stdout(&err) < 0)
		return ctrk_fail(&err);
	return CTRK_EXIT_OK;
}

/* ---- Create and remove ---- */

int
cmd_create(const vol_opts_t *o, const char *name)
{
	ctrk_error_t err;
	vol_t v;
	if (vol_create(o, name, false, &v, &err) < 0)
		return ctrk_fail(&err);
	printf("%s\n", v.name);
	vol_free(&v);
	if (flush_stdout(&err) < 0)
		return ctrk_fail(&err);
	return CTRK_EXIT_OK;
}

/* "'a', 'b'" */
static char *
ids_list(char **ids)
{
	char *s = ctrk_xstrdup("");
	for (size_t i = 0; ids[i]; i++) {
		char *t = ctrk_strdup_printf("%s%s'%s'", s, i ? ", " : "", ids[i]);
		free(s);
		s = t;
	}
	return s;
}

/* A mount point inside the volume directory DIR (a host mount made inside
 * a dir volume's _data): removing the volume would delete that other file
 * system's files, so rm refuses, before anything is renamed. */
static int
check_no_mount_inside(const char *name, const char *dir, ctrk_error_t *err)
{
	cleanup_free char *real = realpath(dir, NULL); /* as mountinfo names it */
	ctrk_mount_table_t t = {0};
	if (!real)
		return ctrk_error_errno(err, "cannot resolve '%s'", dir);
	if (ctrk_mount_table_read(&t, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < t.n && rc == 0; i++)
		if (ctrk_path_under(t.v[i].target, real))
			rc = vol_error_errno(err, EBUSY, "'%s' is mounted inside volume '%s': unmount it first",
					     t.v[i].target, name);
	ctrk_mount_table_free(&t);
	return rc;
}

/* Rename the volume directory DIR away to a fresh ".rm-NAME.XXXXXXXX"
 * (the caller holds its lock, which goes with it), make that durable, and
 * delete it: without following a symlink or entering another file system
 * (ctrk_remove_tree_at), and only inside the store. */
static int
remove_volume_dir(const char *name, const char *dir, ctrk_error_t *err)
{
	const char *store = vol_store_dir(false, NULL);
	if (check_no_mount_inside(name, dir, err) < 0)
		return -1;
	cleanup_close int storefd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (storefd < 0)
		return ctrk_error_errno(err, "cannot open '%s'", store);
	char gone[sizeof VOL_RM_PREFIX + VOL_NAME_MAX + 16];
	for (int tries = 0;; tries++) {
		char suffix[65];
		vol_random_hex(suffix, 4);
		snprintf(gone, sizeof gone, VOL_RM_PREFIX "%s.%s", name, suffix);
		if (renameat2(AT_FDCWD, dir, storefd, gone, RENAME_NOREPLACE) == 0)
			break;
		if (errno != EEXIST || tries > 8)
			return ctrk_error_errno(err, "cannot rename '%s' to '%s/%s'", dir, store, gone);
	}
	if (fsync(storefd) < 0)
		return ctrk_error_errno(err, "cannot sync '%s'", store);
	if (ctrk_remove_tree_at(storefd, gone, err) < 0)
		return -1;
	cleanup_free char *mp = types_mount_point(name);
	rmdir(mp);
	vol_holds_remove(name);
	return 0;
}

/* A damaged volume with no content: removed under its lock. */
static int
rm_one_damaged(const char *name, ctrk_error_t *err)
{
	cleanup_close int lock = vol_lock(name, err);
	if (lock < 0)
		return -1;
	cleanup_free char *dir = vol_path(name);
	return remove_volume_dir(name, dir, err);
}

/* Remove volume NAME unless a container uses it (with FORCE: unless a
 * running one does).  *FREED (may be NULL) gets the space its content
 * took. */
static int
remove_one(const char *name, bool force, unsigned long long *freed, ctrk_error_t *err)
{
	cleanup_close int lock = vol_lock(name, err);
	if (lock < 0)
		return -1;
	vol_t v;
	if (vol_load(name, &v, err) < 0)
		return -1;
	int rc = -1;
	char **ids = NULL;
	if (vol_users(&v, force, &ids, err) < 0)
		goto out;
	if (ids[0]) {
		cleanup_free char *list = ids_list(ids);
		vol_error_errno(err, EBUSY, "volume '%s' is in use by %s %s%s", name,
			       ids[1] ? "containers" : "container", list,
			       force ? ", running" : ": remove the container first (or --force if it is stopped)");
		goto out;
	}
	/* A pipeline that attached it and has not started its container yet
	 * (hold.c) is about to use it. */
	if (!force && types_needs_host_mount(&v) && vol_held(name)) {
		vol_error_errno(err, EBUSY,
				"volume '%s' is attached by a pipeline whose container has not started: its "
				"detach releases it (or --force)",
				name);
		goto out;
	}
	if (freed) {
		const char *type = vol_type(&v);
		*freed = 0;
		if (strcmp(type, "dir") == 0 || strcmp(type, "loop") == 0) {
			cleanup_free char *p = ctrk_strdup_printf("%s/%s", v.dir,
								  strcmp(type, "dir") == 0 ? VOL_DATA : VOL_IMAGE);
			ctrk_tree_usage_t u;
			ctrk_error_t ignored;
			if (ctrk_tree_usage(p, &u, &ignored) == 0)
				*freed = (unsigned long long)u.allocated;
		}
	}
	if (types_remove(&v, err) < 0 || remove_volume_dir(name, v.dir, err) < 0)
		goto out;
	rc = 0;
out:
	vol_ids_free(ids);
	vol_free(&v);
	return rc;
}

int
vol_remove(const char *name, bool force, ctrk_error_t *err)
{
	return remove_one(name, force, NULL, err);
}

int
cmd_rm(const vol_opts_t *o, int argc, char **argv)
{
	ctrk_error_t err;
	int rc = CTRK_EXIT_OK;
	vol_store_sweep(true, NULL, &err);
	for (int i = 0; i < argc; i++) {
		if (vol_remove(argv[i], o->force, &err) < 0) {
			ctrk_error_wrap(&err, "cannot remove volume '%s'", argv[i]);
			ctrk_report(&err);
			rc = CTRK_EXIT_FAILURE;
		} else if (!o->quiet)
			printf("%s\n", argv[i]);
	}
	if (flush_stdout(&err) < 0)
		return ctrk_fail(&err);
	return rc;
}

static void
human_size(unsigned long long n, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double d = (double)n;
	size_t u = 0;
	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", n);
	else
		snprintf(buf, len, "%.1f %s", d, units[u]);
}

int
cmd_prune(const vol_opts_t *o)
{
	ctrk_error_t err;
	vol_store_sweep(true, NULL, &err);
	size_t n;
	char **names = list_names(&n, &err);
	if (!names)
		return ctrk_fail(&err);
	unsigned long long total = 0;
	int rc = CTRK_EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		vol_t v;
		if (vol_load(names[i], &v, &err) < 0)
			continue; /* damaged: for check, not prune */
		const cJSON *labels = cJSON_GetObjectItemCaseSensitive(v.meta, "labels");
		bool anonymous = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v.meta, "anonymous"));
		bool candidate = cJSON_GetArraySize(labels) == 0 && (anonymous || o->all);
		vol_free(&v);
		if (!candidate)
			continue;
		unsigned long long freed = 0;
		if (remove_one(names[i], false, &freed, &err) == 0) {
			total += freed;
			printf("%s\n", names[i]);
		} else if (err.errnum != ENOENT && err.errnum != EBUSY) {
			ctrk_error_wrap(&err, "cannot remove volume '%s'", names[i]);
			ctrk_report(&err);
			rc = CTRK_EXIT_FAILURE;
		}
	}
	vol_ids_free(names);
	char size[32];
	human_size(total, size, sizeof size);
	printf("Total reclaimed space: %s\n", size);
	if (flush_stdout(&err) < 0)
		return ctrk_fail(&err);
	return rc;
}

/* ---- check ---- */

static void
problem(cJSON *report, const char *kind, const char *path, const char *volume, const char *detail, bool fixed)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "kind", kind);
	cJSON_AddStringToObject(p, "path", path);
	if (volume)
		cJSON_AddStringToObject(p, "volume", volume);
	cJSON_AddStringToObject(p, "detail", detail);
	cJSON_AddBoolToObject(p, "fixed", fixed);
	cJSON_AddItemToArray(report, p);
}

/* Stale temp files of the atomic metadata writes (".meta.json.XXXXXX"),
 * left by a writer that was killed: only looked at under the lock. */
static void
check_meta_temps(const char *name, const char *dir, bool fix, cJSON *report)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "." VOL_META ".", strlen(VOL_META) + 2) != 0)
			continue;
		cleanup_free char *p = ctrk_strdup_printf("%s/%s", dir, e->d_name);
		bool fixed = fix && unlink(p) == 0;
		problem(report, "meta-temp", p, name, "a metadata update that was killed", fixed);
	}
	closedir(d);
}

/* A volume whose meta.json is missing or invalid: with FIX, rebuilt from
 * what the directory holds (_data: a dir volume; disk.img: a loop volume),
 * or, when it holds neither, removed (there is nothing in it to keep). */
static void
check_damaged(const char *name, const char *dir, const ctrk_error_t *why, bool fix, cJSON *report)
{
	bool fixed = false;
	cleanup_free char *data = ctrk_strdup_printf("%s/" VOL_DATA, dir);
	cleanup_free char *image = ctrk_strdup_printf("%s/" VOL_IMAGE, dir);
	struct stat st;
	const char *type = lstat(data, &st) == 0 && S_ISDIR(st.st_mode)     ? "dir"
			   : lstat(image, &st) == 0 && S_ISREG(st.st_mode) ? "loop"
									   : NULL;
	if (fix) {
		ctrk_error_t err;
		if (type) {
			cleanup_json cJSON *meta = cJSON_CreateObject();
			cJSON_AddNumberToObject(meta, "version", 1);
			cJSON_AddStringToObject(meta, "name", name);
			cJSON_AddStringToObject(meta, "type", type);
			cJSON *opts = cJSON_AddObjectToObject(meta, "options");
			if (strcmp(type, "loop") == 0) {
				char size[32];
				snprintf(size, sizeof size, "%lld", (long long)st.st_size);
				cJSON_AddStringToObject(opts, "size", size);
			}
			cJSON_AddObjectToObject(meta, "labels");
			cleanup_free char *created = now_rfc3339();
			cJSON_AddStringToObject(meta, "created", created);
			cJSON_AddBoolToObject(meta, "anonymous", false);
			cJSON_AddBoolToObject(meta, "repaired", true);
			vol_t v = {.name = (char *)name, .dir = (char *)dir, .meta = meta};
			fixed = vol_meta_save(&v, &err) == 0;
		} else {
			fixed = rm_one_damaged(name, &err) == 0;
		}
		if (!fixed)
			ctrk_warn("%s", err.msg);
	}
	cleanup_free char *detail =
		ctrk_strdup_printf("%s; %s", why->msg,
				   type ? (fix ? "metadata rebuilt" : "--fix rebuilds its metadata")
					: (fix ? "removed (it held no content)" : "--fix removes it (it holds no content)"));
	problem(report, "damaged", dir, name, detail, fixed);
}

/* A populate (attach's copy-up) that was killed leaves "populating": true
 * (we hold the volume's lock, so no live one is at work).  With FIX the
 * half copy is emptied and the mark dropped, so that the next attach
 * copies again (as attach itself would; see populate.h). */
static int
empty_content(const vol_t *v, ctrk_error_t *err)
{
	cleanup_free char *content = vol_content_path(v);
	cleanup_close int dfd = content ? open(content, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd < 0)
		return ctrk_error_errno(err, "cannot open the content of volume '%s'", v->name);
	return vol_empty_dir(dfd, err);
}

static int
repair_populate(vol_t *v, ctrk_error_t *err)
{
	/* Never empty what a running container works in: that half copy is
	 * its data now (populate leaves such a volume alone too). */
	char **ids = NULL;
	if (vol_users(v, true, &ids, err) < 0)
		return -1;
	if (ids && ids[0]) {
		cleanup_free char *list = ids_list(ids);
		vol_ids_free(ids);
		return vol_error_errno(err, EBUSY, "the running container %s uses it: stop it first", list);
	}
	vol_ids_free(ids);
	bool mounted_here = false;
	if (types_needs_host_mount(v) && !types_mounted(v)) {
		cJSON *m = NULL;
		if (vol_mount(v, &m, err) < 0)
			return -1;
		cJSON_Delete(m);
		mounted_here = true;
	}
	int rc = empty_content(v, err);
	if (rc == 0) {
		cJSON_DeleteItemFromObjectCaseSensitive(v->meta, "populating");
		rc = vol_meta_save(v, err);
	}
	ctrk_error_t uerr;
	if (mounted_here && vol_unmount(v, &uerr) < 0)
		ctrk_warn("%s", uerr.msg);
	return rc;
}

static void
check_populating(vol_t *v, bool fix, cJSON *report)
{
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v->meta, "populating")))
		return;
	bool fixed = false;
	ctrk_error_t err;
	if (fix && !(fixed = repair_populate(v, &err) == 0))
		ctrk_warn("cannot repair volume '%s': %s", v->name, err.msg);
	problem(report, "populate-interrupted", v->dir, v->name,
		fix ? "a populate that was killed: emptied, the next attach copies again"
		    : "a populate that was killed: --fix empties it (the next attach copies again)",
		fixed);
}

/* Mount points in $CTRK_RUN/volumes whose volume is gone (a loop or
 * external volume removed by hand, or an rm killed after the unmount
 * failed): with FIX unmounted (detached) and removed. */
static void
check_mounts(bool fix, cJSON *report)
{
	cleanup_free char *dir = ctrk_strdup_printf("%s/volumes", ctrk_default_run());
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (ctrk_is_dot_or_dotdot(e->d_name))
			continue;
		ctrk_error_t err;
		vol_t v;
		bool gone = vol_load(e->d_name, &v, &err) < 0 && errno == ENOENT;
		if (!gone) {
			vol_free(&v);
			continue;
		}
		cleanup_free char *mp = ctrk_strdup_printf("%s/%s", dir, e->d_name);
		bool mounted = types_path_is_mount(mp);
		bool fixed = false;
		if (fix) {
			if (mounted && umount2(mp, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
				ctrk_warn("cannot unmount '%s': %s", mp, strerror(errno));
			else if (rmdir(mp) < 0)
				ctrk_warn("cannot remove '%s': %s", mp, strerror(errno));
			else
				fixed = true;
		}
		problem(report, mounted ? "stale-mount" : "stale-mountpoint", mp, e->d_name,
			mounted ? "a volume that no longer exists is still mounted here"
				: "the mount point of a volume that no longer exists",
			fixed);
	}
	closedir(d);
}

/* A loop or external volume mounted on the host that no running container
 * uses and no live pipeline holds: its pipeline died before its teardown
 * (detach) ran.  With FIX unmounted, as detach would have. */
static void
check_unused_mount(vol_t *v, bool fix, cJSON *report)
{
	if (!types_mounted(v))
		return;
	ctrk_error_t err;
	char **ids = NULL;
	bool used = vol_users(v, true, &ids, &err) < 0 || ids[0] || vol_held(v->name);
	vol_ids_free(ids);
	if (used)
		return;
	bool fixed = false;
	if (fix && !(fixed = vol_unmount(v, &err) == 0))
		ctrk_warn("%s", err.msg);
	cleanup_free char *mp = types_mount_point(v->name);
	problem(report, "unused-mount", mp, v->name,
		fix ? "mounted, but no container uses it and no pipeline holds it: unmounted"
		    : "mounted, but no container uses it and no pipeline holds it: --fix unmounts it",
		fixed);
}

int
cmd_check(const vol_opts_t *o)
{
	ctrk_error_t err;
	cleanup_json cJSON *report = cJSON_CreateArray();
	if (vol_store_sweep(o->fix, report, &err) < 0)
		return ctrk_fail(&err);
	size_t n;
	char **names = list_names(&n, &err);
	if (!names)
		return ctrk_fail(&err);
	for (size_t i = 0; i < n; i++) {
		/* Under the volume's lock: what a live command is changing
		 * is no leftover. */
		cleanup_close int lock = vol_lock(names[i], &err);
		if (lock < 0)
			continue; /* removed meanwhile */
		cleanup_free char *dir = vol_path(names[i]);
		check_meta_temps(names[i], dir, o->fix, report);
		vol_t v;
		if (vol_load(names[i], &v, &err) < 0) {
			close(steal_fd(&lock)); /* check_damaged's rm takes it again */
			check_damaged(names[i], dir, &err, o->fix, report);
			continue;
		}
		check_populating(&v, o->fix, report);
		check_unused_mount(&v, o->fix, report);
		vol_free(&v);
	}
	vol_ids_free(names);
	check_mounts(o->fix, report);

	int rc = CTRK_EXIT_OK;
	const cJSON *p;
	cJSON_ArrayForEach(p, report)
	{
		bool fixed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "fixed"));
		if (!fixed)
			rc = CTRK_EXIT_FAILURE;
		if (!o->json)
			printf("%s: %s: %s%s\n", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "kind")),
			       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "path")),
			       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "detail")),
			       fixed ? " (fixed)" : "");
	}
	if (o->json && ctrk_json_write_fd(1, report, true, &err) < 0)
		return ctrk_fail(&err);
	if (flush_stdout(&err) < 0)
		return ctrk_fail(&err);
	return rc;
}
