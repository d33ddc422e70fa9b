#include "mountinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "lock.h"

/* --- reading the table ------------------------------------------------------ */

/* mountinfo writes space, tab, newline, backslash (and in super options a
 * comma) as \NNN. */
static void
unescape_octal(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static char *
add_dir(ctrk_mount_entry_t *e, const char *path, size_t len)
{
	e->dirs = ctrk_xrealloc(e->dirs, (e->ndirs + 1) * sizeof *e->dirs);
	char *p = ctrk_xmalloc(len + 1);
	memcpy(p, path, len);
	p[len] = '\0';
	return e->dirs[e->ndirs++] = p;
}

static void
add_lower(ctrk_mount_entry_t *e, char *dir)
{
	e->lowers = ctrk_xrealloc(e->lowers, (e->nlowers + 1) * sizeof *e->lowers);
	e->lowers[e->nlowers++] = dir;
}

/* "a:b\:c::d": the layers, colons escaped with "\" (the kernel's own rule,
 * fs/overlayfs/params.c); "::" before the data-only layers. */
static void
add_lowerdir_list(ctrk_mount_entry_t *e, const char *value)
{
	size_t len = strlen(value);
	cleanup_free char *buf = ctrk_xmalloc(len + 1);
	size_t n = 0;
	for (const char *r = value;; r++) {
		if (*r == '\\' && r[1]) {
			buf[n++] = *++r;
			continue;
		}
		if (*r == ':' || *r == '\0') {
			if (n > 0)
				add_lower(e, add_dir(e, buf, n));
			n = 0;
			if (*r == '\0')
				break;
			continue;
		}
		buf[n++] = *r;
	}
}

/* The directories an overlay's super options name. */
static void
parse_overlay_options(ctrk_mount_entry_t *e, const char *opts)
{
	cleanup_free char *copy = ctrk_xstrdup(opts);
	char *save = NULL;
	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(o, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *value = eq + 1;
		unescape_octal(value);
		if (strcmp(o, "lowerdir") == 0)
			add_lowerdir_list(e, value);
		else if (strcmp(o, "lowerdir+") == 0 || strcmp(o, "datadir+") == 0)
			add_lower(e, add_dir(e, value, strlen(value)));
		else if (strcmp(o, "upperdir") == 0)
			e->upperdir = add_dir(e, value, strlen(value));
		else if (strcmp(o, "workdir") == 0)
			add_dir(e, value, strlen(value));
	}
}

static void
entry_free(ctrk_mount_entry_t *e)
{
	for (size_t i = 0; i < e->ndirs; i++)
		free(e->dirs[i]);
	free(e->dirs);
	free(e->lowers);
	free(e->root);
	free(e->target);
	free(e->fstype);
	free(e->source);
}

/* One line: ID PARENT MAJ:MIN ROOT TARGET OPTS [OPTIONAL...] - TYPE SOURCE SUPER */
static bool
parse_line(const char *line, ctrk_mount_entry_t *e)
{
	unsigned maj, min;
	int pos = 0;
	char *super = NULL;
	const char *sep;
	*e = (ctrk_mount_entry_t){0};
	if (sscanf(line, "%d %d %u:%u %ms %ms %*s%n", &e->id, &e->parent, &maj, &min, &e->root, &e->target, &pos) !=
		    6 ||
	    pos == 0 || !(sep = strstr(line + pos, " - ")) ||
	    sscanf(sep + 3, "%ms %ms %ms", &e->fstype, &e->source, &super) < 2) {
		free(super);
		entry_free(e);
		*e = (ctrk_mount_entry_t){0};
		return false;
	}
	e->dev = makedev(maj, min);
	unescape_octal(e->root);
	unescape_octal(e->target);
	unescape_octal(e->source);
	if (super && strcmp(e->fstype, "overlay") == 0)
		parse_overlay_options(e, super);
	free(super);
	return true;
}

static void
table_add_lines(ctrk_mount_table_t *t, FILE *f, pid_t ns_pid)
{
	cleanup_free char *line = NULL;
	size_t cap = 0, alloc = t->n;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		ctrk_mount_entry_t e;
		if (!parse_line(line, &e))
			continue;
		e.ns_pid = ns_pid;
		if (t->n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			t->v = ctrk_xrealloc(t->v, alloc * sizeof *t->v);
		}
		t->v[t->n++] = e;
	}
}

int
ctrk_mount_table_read(ctrk_mount_table_t *t, ctrk_error_t *err)
{
	*t = (ctrk_mount_table_t){0};
	cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return ctrk_error_errno(err, "cannot read /proc/self/mountinfo");
	table_add_lines(t, f, 0);
	return 0;
}

int
ctrk_mount_table_read_all(ctrk_mount_table_t *t, ctrk_error_t *err)
{
	struct stat own, st;
	ino_t *seen = NULL;
	size_t nseen = 0;
	struct dirent *de;
	if (ctrk_mount_table_read(t, err) < 0)
		return -1;
	DIR *proc = opendir("/proc");
	if (!proc || stat("/proc/self/ns/mnt", &own) < 0) {
		if (proc)
			closedir(proc);
		return 0; /* no namespaces to tell apart: this one is all there is */
	}
	while ((de = readdir(proc))) {
		char path[64];
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (pid <= 0 || *end)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/ns/mnt", pid);
		if (stat(path, &st) < 0 || st.st_ino == own.st_ino)
			continue;
		bool known = false;
		for (size_t i = 0; i < nseen && !known; i++)
			known = seen[i] == st.st_ino;
		if (known)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/mountinfo", pid);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		seen = ctrk_xrealloc(seen, (nseen + 1) * sizeof *seen);
		seen[nseen++] = st.st_ino;
		table_add_lines(t, f, (pid_t)pid);
		fclose(f);
	}
	closedir(proc);
	free(seen);
	return 0;
}

void
ctrk_mount_table_parse(ctrk_mount_table_t *t, const char *text)
{
	*t = (ctrk_mount_table_t){0};
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	if (!f)
		return;
	table_add_lines(t, f, 0);
	fclose(f);
}

void
ctrk_mount_table_free(ctrk_mount_table_t *t)
{
	for (size_t i = 0; i < t->n; i++)
		entry_free(&t->v[i]);
	free(t->v);
	*t = (ctrk_mount_table_t){0};
}

/* --- which mounts use a directory -------------------------------------------- */

bool
ctrk_path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int
ctrk_dir_ref_get(const ctrk_mount_table_t *t, const char *path, ctrk_dir_ref_t *r, ctrk_error_t *err)
{
	struct stat st;
	const ctrk_mount_entry_t *best = NULL;
	size_t best_len = 0;
	*r = (ctrk_dir_ref_t){0};
	r->path = realpath(path, NULL);
	if (!r->path || stat(r->path, &st) < 0) {
		ctrk_error_errno(err, "cannot resolve '%s'", path);
		ctrk_dir_ref_free(r);
		return -1;
	}
	r->dev = st.st_dev;
	/* The mount R is on: the deepest mount point above it on its device,
	 * the last one listed when several are stacked there. */
	for (size_t i = 0; i < t->n; i++) {
		const ctrk_mount_entry_t *m = &t->v[i];
		size_t len = strlen(m->target);
		if (m->ns_pid == 0 && m->dev == st.st_dev && ctrk_path_under(r->path, m->target) &&
		    (!best || len >= best_len)) {
			best = m;
			best_len = len;
		}
	}
	if (best) {
		const char *rest = r->path + (strcmp(best->target, "/") == 0 ? 0 : best_len);
		if (strcmp(best->root, "/") == 0)
			r->fspath = ctrk_xstrdup(*rest ? rest : "/");
		else
			r->fspath = ctrk_strdup_printf("%s%s", best->root, rest);
	}
	return 0;
}

void
ctrk_dir_ref_free(ctrk_dir_ref_t *r)
{
	free(r->path);
	free(r->fspath);
	*r = (ctrk_dir_ref_t){0};
}

/* An overlay mounted the old way with a long lowerdir names its layers
 * relative to a directory mountinfo does not show (see ctrk-mount's
 * overlay.c).  REL may be below DIR when a leading part of REL could be
 * DIR's last components: "5/fs" with DIR ".../overlay/5". */
static bool
relative_may_be_under(const char *rel, const char *dir)
{
	size_t dlen = strlen(dir);
	for (const char *end = rel;; end++) {
		if (*end == '/' || *end == '\0') {
			size_t k = (size_t)(end - rel);
			if (k > 0 && k < dlen && dir[dlen - k - 1] == '/' && strncmp(dir + dlen - k, rel, k) == 0)
				return true;
		}
		if (*end == '\0')
			return false;
	}
}

/* Is M a bind mount of R, of something below it, or of a file in it? */
static bool
mount_binds_dir(const ctrk_mount_entry_t *m, const ctrk_dir_ref_t *r)
{
	return r->fspath && m->dev == r->dev && ctrk_path_under(m->root, r->fspath);
}

bool
ctrk_mount_uses_dir(const ctrk_mount_entry_t *m, const ctrk_dir_ref_t *r)
{
	for (size_t i = 0; i < m->ndirs; i++) {
		const char *d = m->dirs[i];
		if (d[0] == '/' ? ctrk_path_under(d, r->path) : relative_may_be_under(d, r->path))
			return true;
	}
	return mount_binds_dir(m, r);
}

/* --- mount objects ------------------------------------------------------------ */

static bool
object_has_option(const cJSON *o, const char *name)
{
	const cJSON *opt;
	cJSON_ArrayForEach(opt, cJSON_GetObjectItemCaseSensitive(o, "options"))
	if (cJSON_IsString(opt) && strcmp(opt->valuestring, name) == 0)
		return true;
	return false;
}

/* The value of option NAME= of O, or NULL. */
static const char *
object_option(const cJSON *o, const char *name)
{
	size_t n = strlen(name);
	const cJSON *opt;
	cJSON_ArrayForEach(opt, cJSON_GetObjectItemCaseSensitive(o, "options"))
	if (cJSON_IsString(opt) && strncmp(opt->valuestring, name, n) == 0 && opt->valuestring[n] == '=')
		return opt->valuestring + n + 1;
	return NULL;
}

static const char *
object_type(const cJSON *o)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "type"));
	return type ? type : "";
}

static bool
object_is_overlay(const cJSON *o)
{
	return strcmp(object_type(o), "overlay") == 0;
}

static bool
object_is_bind(const cJSON *o)
{
	return strcmp(object_type(o), "bind") == 0 || strcmp(object_type(o), "rbind") == 0 ||
	       object_has_option(o, "bind") || object_has_option(o, "rbind");
}

bool
ctrk_mount_object_writable(const cJSON *o)
{
	if (object_is_overlay(o))
		return object_option(o, "upperdir") && !object_has_option(o, "ro");
	return !object_has_option(o, "ro");
}

/* O's lower directories, as an overlay entry would list them. */
static void
object_lowers(const cJSON *o, ctrk_mount_entry_t *e)
{
	const cJSON *opt;
	cJSON_ArrayForEach(opt, cJSON_GetObjectItemCaseSensitive(o, "options"))
	{
		const char *s = cJSON_GetStringValue(opt);
		if (s && strncmp(s, "lowerdir=", 9) == 0)
			add_lowerdir_list(e, s + 9);
		else if (s && strncmp(s, "lowerdir+=", 10) == 0)
			add_lower(e, add_dir(e, s + 10, strlen(s + 10)));
		else if (s && strncmp(s, "datadir+=", 9) == 0)
			add_lower(e, add_dir(e, s + 9, strlen(s + 9)));
	}
}

char *
ctrk_mount_object_dir(const cJSON *o)
{
	const char *dir = NULL;
	if (object_is_overlay(o)) {
		ctrk_mount_entry_t e = {0};
		char *first = NULL;
		if ((dir = object_option(o, "upperdir")))
			return dir[0] == '/' ? ctrk_xstrdup(dir) : NULL;
		object_lowers(o, &e);
		if (e.nlowers > 0 && e.lowers[0][0] == '/')
			first = ctrk_xstrdup(e.lowers[0]);
		entry_free(&e);
		return first;
	}
	if (object_is_bind(o))
		dir = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "source"));
	return dir && dir[0] == '/' ? ctrk_xstrdup(dir) : NULL;
}

static void
add_found(size_t **found, size_t *nfound, size_t i)
{
	for (size_t j = 0; j < *nfound; j++)
		if ((*found)[j] == i)
			return;
	*found = ctrk_xrealloc(*found, (*nfound + 1) * sizeof **found);
	(*found)[(*nfound)++] = i;
}

void
ctrk_mounts_using(const ctrk_mount_table_t *t, const char *path, size_t **found, size_t *nfound)
{
	ctrk_dir_ref_t r;
	ctrk_error_t ignored = {0};
	if (ctrk_dir_ref_get(t, path, &r, &ignored) < 0)
		return;
	for (size_t i = 0; i < t->n; i++)
		if (ctrk_mount_uses_dir(&t->v[i], &r))
			add_found(found, nfound, i);
	ctrk_dir_ref_free(&r);
}

static bool
same_lowers(const ctrk_mount_entry_t *a, const ctrk_mount_entry_t *b)
{
	if (a->nlowers != b->nlowers)
		return false;
	for (size_t i = 0; i < a->nlowers; i++)
		if (strcmp(a->lowers[i], b->lowers[i]) != 0)
			return false;
	return true;
}

void
ctrk_mounts_of(const ctrk_mount_table_t *t, const cJSON *o, size_t **found, size_t *nfound)
{
	if (object_is_overlay(o)) {
		const char *upper = object_option(o, "upperdir");
		if (upper) {
			ctrk_mounts_using(t, upper, found, nfound);
			return;
		}
		ctrk_mount_entry_t want = {0};
		object_lowers(o, &want);
		for (size_t i = 0; i < t->n; i++) {
			const ctrk_mount_entry_t *m = &t->v[i];
			if (want.nlowers > 0 && strcmp(m->fstype, "overlay") == 0 && !m->upperdir &&
			    same_lowers(m, &want))
				add_found(found, nfound, i);
		}
		entry_free(&want);
		return;
	}
	/* Only other bind mounts: an overlay with the source as a lower layer
	 * is a child snapshot's mount, not a mount of this one. */
	const char *source = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "source"));
	ctrk_dir_ref_t r;
	ctrk_error_t ignored = {0};
	if (!object_is_bind(o) || !source || ctrk_dir_ref_get(t, source, &r, &ignored) < 0)
		return;
	for (size_t i = 0; i < t->n; i++)
		if (mount_binds_dir(&t->v[i], &r))
			add_found(found, nfound, i);
	ctrk_dir_ref_free(&r);
}

char *
ctrk_mount_targets(const ctrk_mount_table_t *t, const size_t *found, size_t nfound)
{
	char *list = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&list, &size);
	if (!out)
		abort();
	for (size_t i = 0; i < nfound; i++) {
		const ctrk_mount_entry_t *m = &t->v[found[i]];
		fprintf(out, "%s'%s'", i ? ", " : "", m->target);
		if (m->ns_pid)
			fprintf(out, " (in the mount namespace of process %d)", (int)m->ns_pid);
	}
	fclose(out);
	return list;
}

/* --- locks ----------------------------------------------------------------------- */

static int
compare_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ctrk_dir_locks_take(ctrk_dir_locks_t *l, char *const *dirs, size_t n, ctrk_error_t *err)
{
	cleanup_free char **sorted = ctrk_xcalloc(n + 1, sizeof *sorted);
	size_t m = 0;
	*l = (ctrk_dir_locks_t){0};
	for (size_t i = 0; i < n; i++)
		if (dirs[i])
			sorted[m++] = dirs[i];
	qsort(sorted, m, sizeof *sorted, compare_paths);
	l->fds = ctrk_xcalloc(m + 1, sizeof *l->fds);
	for (size_t i = 0; i < m; i++) {
		struct stat held, now;
		if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0)
			continue;
		int fd = ctrk_lock_dir(sorted[i], true, err);
		if (fd < 0 && (err->errnum == ENOENT || err->errnum == ENOTDIR))
			continue;
		if (fd < 0)
			goto fail;
		l->fds[l->n++] = fd;
		/* Whoever held it may have removed the directory meanwhile. */
		if (fstat(fd, &held) < 0 || stat(sorted[i], &now) < 0 || held.st_dev != now.st_dev ||
		    held.st_ino != now.st_ino) {
			ctrk_error_set(err, ENOENT, "'%s' was removed while waiting for its lock", sorted[i]);
			goto fail;
		}
	}
	return 0;
fail:
	ctrk_dir_locks_release(l);
	return -1;
}

void
ctrk_dir_locks_release(ctrk_dir_locks_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		close(l->fds[i]);
	free(l->fds);
	*l = (ctrk_dir_locks_t){0};
}
