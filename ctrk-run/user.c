/* The container's user (see user.h).
 *
 * /etc/passwd and /etc/group come from the image: they are hostile input.
 * They are found inside the root only, opened only when they are regular
 * files, read up to a bound, and parsed without trusting any field: a line
 * that does not parse is skipped, as if it were not there. */
#include "user.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "inroot.h"

/* Every growable buffer has a maximum; a real /etc/group is a few KiB. */
#define ID_FILE_MAX (1 << 20)

/* The ids a container may have: 0 to 2^31-1, as runc's user lookup and
 * containerd allow.  The kernel takes up to 2^32-2, but runc refuses more
 * than 2^31-1 mid-start while crun runs it: one answer, before anything
 * starts. */
#define ID_MAX 2147483647u

_Static_assert(sizeof(uid_t) == sizeof(id_t) && sizeof(gid_t) == sizeof(id_t), "ids of different sizes");

/* --- finding the files inside the root ------------------------------------ */

/* PFD, an O_PATH descriptor of the regular file ST, opened for reading.
 * Through /proc/self/fd, which reopens that very file: opening the path
 * again could meet something put there meanwhile, such as a device node
 * whose mere opening acts (a watchdog starts, a tape rewinds).  O_NONBLOCK
 * and O_NOCTTY all the same, should a fifo or a terminal get through. */
static int
reopen_for_reading(int pfd, const struct stat *st)
{
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
	int fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat now;
	if (fd < 0)
		return -1;
	/* Not the same file: not the kernel's /proc. */
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		close(fd);
		return errno = EXDEV, -1;
	}
	return fd;
}

/* One of the container's files, read whole. */
typedef struct id_file {
	const char *path; /* "etc/passwd": relative to the root */
	char *buf;	  /* NUL-terminated; NULL: the container has no such file */
	size_t len;
} id_file_t;

static void
id_file_freep(id_file_t *f)
{
	free(f->buf);
}

#define cleanup_id_file __attribute__((cleanup(id_file_freep)))

/* Read F->path from the container's root.  A missing file (or a dangling
 * symlink) counts as empty, as in runc. */
static int
read_id_file(int rootfd, id_file_t *f, ctrk_error_t *err)
{
	/* Followed inside the root only, magic links refused: a /proc in the
	 * root leads nowhere either. */
	cleanup_close int pfd = ctrk_inroot_open(rootfd, f->path, O_PATH, 0, err);
	if (pfd < 0 && errno == ENOENT)
		return 0;
	if (pfd < 0)
		return ctrk_error_errno(err, "cannot open the container's /%s", f->path);
	struct stat st;
	if (fstat(pfd, &st) < 0)
		return ctrk_error_errno(err, "cannot stat the container's /%s", f->path);
	if (!S_ISREG(st.st_mode))
		return ctrk_error_set(err, 0, "the container's /%s is not a regular file", f->path);
	if (st.st_size > ID_FILE_MAX)
		return ctrk_error_set(err, 0, "the container's /%s is larger than %d bytes", f->path, ID_FILE_MAX);
	cleanup_close int fd = reopen_for_reading(pfd, &st);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open the container's /%s through /proc/self/fd", f->path);
	if (ctrk_read_all_fd(fd, ID_FILE_MAX, &f->buf, &f->len, err) < 0)
		return ctrk_error_wrap(err, "reading the container's /%s", f->path);
	return 0;
}

/* --- parsing ----------------------------------------------------------------- */

/* Part of a string, not NUL-terminated. */
typedef struct span {
	const char *p;
	size_t n;
} span_t;

static span_t
span_of(const char *s)
{
	return (span_t){s, strlen(s)};
}

static bool
span_eq(span_t a, span_t b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

typedef enum idkind {
	ID_NAME,   /* not a number */
	ID_NUMBER, /* a valid id */
	ID_RANGE,  /* a number, but no valid id */
} idkind_t;

/* What S is: a name, an id (into *ID), or a number too large for one.
 * Decimal digits only: "-1", "+5" and " 5" are names. */
static idkind_t
parse_id(span_t s, id_t *id)
{
	unsigned long long v = 0;
	if (s.n == 0)
		return ID_NAME;
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return ID_NAME;
	for (size_t i = 0; i < s.n; i++) {
		v = v * 10 + (unsigned)(s.p[i] - '0');
		if (v > ID_MAX)
			return ID_RANGE;
	}
	*id = (id_t)v;
	return ID_NUMBER;
}

/* The lines of a file still to be read. */
typedef struct lines {
	const char *p, *end;
} lines_t;

static lines_t
lines_of(const id_file_t *f)
{
	return f->buf ? (lines_t){f->buf, f->buf + f->len} : (lines_t){NULL, NULL};
}

/* LINE split at its colons into F: false unless it has MIN to MAX fields.
 * Fields past the last one present are empty. */
static bool
split_fields(span_t line, span_t *f, size_t min, size_t max)
{
	const char *p = line.p, *end = line.p + line.n;
	size_t nf = 0;
	for (;;) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		if (nf == max)
			return false;
		f[nf++] = (span_t){p, (size_t)((colon ? colon : end) - p)};
		if (!colon)
			break;
		p = colon + 1;
	}
	for (size_t i = nf; i < max; i++)
		f[i] = (span_t){end, 0};
	return nf >= min;
}

/* The next line of IT that can be an entry, split into MIN to MAX fields.
 * Skipped: empty lines, comments, NIS compat lines ("+name", "-name": no
 * NIS here), lines holding a NUL byte, lines with another field count. */
static bool
next_entry(lines_t *it, span_t *f, size_t min, size_t max)
{
	while (it->p < it->end) {
		const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
		span_t line = {it->p, (size_t)((nl ? nl : it->end) - it->p)};
		it->p = nl ? nl + 1 : it->end;
		if (line.n == 0 || line.p[0] == '#' || line.p[0] == '+' || line.p[0] == '-' ||
		    memchr(line.p, '\0', line.n))
			continue;
		if (split_fields(line, f, min, max))
			return true;
	}
	return false;
}

/* An entry's ids are numbers; one outside 0..ID_MAX is kept (its kind
 * ID_RANGE) so that a lookup that finds the entry can refuse it, where
 * skipping it would let a later entry of the same name answer instead. */
static bool
is_number(span_t s, id_t *id, idkind_t *kind)
{
	*kind = parse_id(s, id);
	return *kind != ID_NAME;
}

typedef struct pwent {
	span_t name, home;
	span_t uid_text, gid_text;
	id_t uid, gid;
	idkind_t uid_kind, gid_kind;
} pwent_t;

/* The next /etc/passwd entry, name:password:uid:gid:gecos:home:shell. */
static bool
next_pwent(lines_t *it, pwent_t *pw)
{
	span_t f[7];
	while (next_entry(it, f, 7, 7)) {
		if (f[0].n && is_number(f[2], &pw->uid, &pw->uid_kind) && is_number(f[3], &pw->gid, &pw->gid_kind)) {
			pw->name = f[0];
			pw->home = f[5];
			pw->uid_text = f[2];
			pw->gid_text = f[3];
			return true;
		}
	}
	return false;
}

typedef struct grent {
	span_t name, members, gid_text;
	id_t gid;
	idkind_t gid_kind;
} grent_t;

/* The next /etc/group entry, name:password:gid:member,member.  The members
 * field may be missing: hand-written lines (echo 'app:x:1000' >>/etc/group)
 * are common in images. */
static bool
next_grent(lines_t *it, grent_t *gr)
{
	span_t f[4];
	while (next_entry(it, f, 3, 4)) {
		if (f[0].n && is_number(f[2], &gr->gid, &gr->gid_kind)) {
			gr->name = f[0];
			gr->members = f[3];
			gr->gid_text = f[2];
			return true;
		}
	}
	return false;
}

/* Whether the comma-separated MEMBERS list NAME. */
static bool
has_member(span_t members, span_t name)
{
	const char *p = members.p, *end = members.p + members.n;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;
		if (span_eq((span_t){p, (size_t)(e - p)}, name))
			return true;
		p = comma ? comma + 1 : end;
	}
	return false;
}

/* --- resolving ----------------------------------------------------------------- */

static int
no_entry(ctrk_error_t *err, const char *what, span_t name, const id_file_t *f)
{
	if (!f->buf)
		return ctrk_error_set(err, 0, "no %s '%.*s': the container has no /%s", what, (int)name.n, name.p,
				      f->path);
	return ctrk_error_set(err, 0, "no %s '%.*s' in the container's /%s", what, (int)name.n, name.p, f->path);
}

static int
out_of_range(ctrk_error_t *err, const char *what, span_t name, const char *field, span_t id, const id_file_t *f)
{
	return ctrk_error_set(err, 0, "%s '%.*s' has %s %.*s in the container's /%s, out of range (0 to %u)", what,
			      (int)name.n, name.p, field, (int)(id.n < 32 ? id.n : 32), id.p, f->path, ID_MAX);
}

/* SPEC as USER and GROUP (GROUP.p is NULL when there is none).  Neither may
 * be empty when there is a colon: ":g" and "u:" are more likely mistakes
 * than ways to say "root" and "the user's group". */
static int
split_spec(const char *spec, span_t *user, span_t *group, ctrk_error_t *err)
{
	const char *colon = strchr(spec, ':');
	if (!colon) {
		*user = span_of(spec);
		*group = (span_t){NULL, 0};
		return 0;
	}
	*user = (span_t){spec, (size_t)(colon - spec)};
	*group = span_of(colon + 1);
	if (user->n == 0 || group->n == 0 || strchr(colon + 1, ':'))
		return ctrk_error_set(err, 0, "invalid user '%s': expected USER or USER:GROUP", spec);
	return 0;
}

/* USER (a name, a number, or "" for uid 0) into U's uid, gid and home; the
 * name of its passwd entry into *NAME (NAME->p NULL when it has none). */
static int
resolve_uid(const id_file_t *passwd, span_t user, run_user_t *u, span_t *name, ctrk_error_t *err)
{
	id_t uid = 0;
	idkind_t kind = user.n ? parse_id(user, &uid) : ID_NUMBER;
	if (kind == ID_RANGE)
		return ctrk_error_set(err, 0, "user id '%.*s' is out of range (0 to %u)", (int)user.n, user.p, ID_MAX);
	lines_t it = lines_of(passwd);
	pwent_t pw;
	while (next_pwent(&it, &pw)) {
		if (kind == ID_NUMBER ? pw.uid_kind == ID_NUMBER && pw.uid == uid : span_eq(pw.name, user)) {
			if (pw.uid_kind == ID_RANGE || pw.gid_kind == ID_RANGE)
				return out_of_range(err, "user", pw.name, pw.uid_kind == ID_RANGE ? "uid" : "gid",
						    pw.uid_kind == ID_RANGE ? pw.uid_text : pw.gid_text, passwd);
			u->uid = pw.uid;
			u->gid = pw.gid;
			u->home = ctrk_strdup_printf("%.*s", (int)pw.home.n, pw.home.p);
			*name = pw.name;
			return 0;
		}
	}
	if (kind == ID_NAME)
		return no_entry(err, "user", user, passwd);
	u->uid = uid;
	u->gid = 0;
	*name = (span_t){NULL, 0};
	return 0;
}

/* GROUP, a name or a number, as a gid. */
static int
resolve_gid(const id_file_t *group, span_t name, gid_t *gid, ctrk_error_t *err)
{
	id_t id;
	if (name.n == 0)
		return ctrk_error_set(err, 0, "invalid group ''");
	switch (parse_id(name, &id)) {
	case ID_NUMBER:
		*gid = id;
		return 0;
	case ID_RANGE:
		return ctrk_error_set(err, 0, "group id '%.*s' is out of range (0 to %u)", (int)name.n, name.p, ID_MAX);
	case ID_NAME:
		break;
	}
	lines_t it = lines_of(group);
	grent_t gr;
	while (next_grent(&it, &gr)) {
		if (span_eq(gr.name, name)) {
			if (gr.gid_kind == ID_RANGE)
				return out_of_range(err, "group", gr.name, "gid", gr.gid_text, group);
			*gid = gr.gid;
			return 0;
		}
	}
	return no_entry(err, "group", name, group);
}

static void
gids_add(run_user_t *u, size_t *cap, gid_t gid)
{
	if (u->n_additional == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		u->additional_gids = ctrk_xrealloc(u->additional_gids, *cap * sizeof *u->additional_gids);
	}
	u->additional_gids[u->n_additional++] = gid;
}

/* Every group of the /etc/group that lists NAME as a member. */
static int
add_member_groups(const id_file_t *group, span_t name, run_user_t *u, size_t *cap, ctrk_error_t *err)
{
	lines_t it = lines_of(group);
	grent_t gr;
	while (next_grent(&it, &gr)) {
		if (!has_member(gr.members, name))
			continue;
		if (gr.gid_kind == ID_RANGE)
			return out_of_range(err, "group", gr.name, "gid", gr.gid_text, group);
		gids_add(u, cap, gr.gid);
	}
	return 0;
}

static int
gid_cmp(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
	return (x > y) - (x < y);
}

/* Sorted, without duplicates, without the primary gid. */
static void
gids_normalize(run_user_t *u)
{
	size_t k = 0;
	if (u->n_additional > 1)
		qsort(u->additional_gids, u->n_additional, sizeof *u->additional_gids, gid_cmp);
	for (size_t i = 0; i < u->n_additional; i++) {
		gid_t g = u->additional_gids[i];
		if (g != u->gid && (k == 0 || u->additional_gids[k - 1] != g))
			u->additional_gids[k++] = g;
	}
	u->n_additional = k;
	if (k == 0) {
		free(u->additional_gids);
		u->additional_gids = NULL;
	}
}

static int
resolve(const id_file_t *passwd, const id_file_t *groups, span_t user, span_t group, const char *const *extra,
	size_t nextra, run_user_t *u, ctrk_error_t *err)
{
	span_t name = {NULL, 0};
	size_t cap = 0;
	if (resolve_uid(passwd, user, u, &name, err) < 0)
		return -1;
	if (group.p) {
		if (resolve_gid(groups, group, &u->gid, err) < 0)
			return -1;
	} else if (name.p && add_member_groups(groups, name, u, &cap, err) < 0) {
		return -1;
	}
	for (size_t i = 0; i < nextra; i++) {
		gid_t gid;
		if (resolve_gid(groups, span_of(extra[i]), &gid, err) < 0)
			return -1;
		gids_add(u, &cap, gid);
	}
	gids_normalize(u);
	return 0;
}

static int
resolve_spec(const id_file_t *passwd, const id_file_t *groups, const char *spec, const char *const *extra,
	     size_t nextra, run_user_t *u, ctrk_error_t *err)
{
	span_t user, group;
	*u = (run_user_t){0};
	if (split_spec(spec ? spec : "", &user, &group, err) < 0)
		return -1;
	if (resolve(passwd, groups, user, group, extra, nextra, u, err) < 0) {
		run_user_free(u);
		return -1;
	}
	return 0;
}

int
run_user_resolve(int rootfd, const char *spec, const char *const *extra, size_t nextra, run_user_t *u,
		 ctrk_error_t *err)
{
	cleanup_id_file id_file_t passwd = {.path = "etc/passwd"};
	cleanup_id_file id_file_t groups = {.path = "etc/group"};
	*u = (run_user_t){0};
	if (read_id_file(rootfd, &passwd, err) < 0 || read_id_file(rootfd, &groups, err) < 0)
		return -1;
	return resolve_spec(&passwd, &groups, spec, extra, nextra, u, err);
}

int
run_user_resolve_text(const char *passwd, size_t passwd_len, const char *group, size_t group_len, const char *spec,
		      const char *const *extra, size_t nextra, run_user_t *u, ctrk_error_t *err)
{
	/* Only read: the buffers stay the caller's. */
	const id_file_t pw = {.path = "etc/passwd", .buf = (char *)passwd, .len = passwd_len};
	const id_file_t gr = {.path = "etc/group", .buf = (char *)group, .len = group_len};
	return resolve_spec(&pw, &gr, spec, extra, nextra, u, err);
}

void
run_user_free(run_user_t *u)
{
	free(u->additional_gids);
	free(u->home);
	*u = (run_user_t){0};
}
