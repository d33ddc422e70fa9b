/* attach.c: attach and detach, the container mounts in the descriptor.
 *
 * attach appends one container mount per spec to the descriptor's
 * "mounts" (never touching the rootfs mounts at "/", ctrk-snap's) and
 * records each in the descriptor's "volumes", ctrk-vol's own field, so that
 * detach takes away exactly what attach added:
 *
 *   "volumes": [ {"target": "/data", "type": "volume", "name": "db",
 *                 "anonymous": false, "hold": "5f0c2a9e81d4b7c3"},
 *                {"target": "/tmp", "type": "tmpfs"},
 *                {"target": "/src", "type": "bind", "source": "/home/me/src"} ]
 *
 * "hold" (loop and external volumes, which are mounted on the host) names
 * the descriptor's hold on the volume (hold.c): one id per descriptor.
 *
 * One mount per target: attaching at a target again replaces the mount
 * there (and its record), so attach is idempotent.  ctrk-run mounts the
 * descriptor's mounts after the rootfs, in order (ctrk-run/spec.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "descriptor.h"
#include "extract.h"
#include "fsutil.h"
#include "json.h"
#include "mountinfo.h"
#include "paths.h"
#include "populate.h"
#include "types.h"
#include "vol.h"

#define RECORD "volumes"

typedef enum { SPEC_VOLUME, SPEC_ANONYMOUS, SPEC_TMPFS, SPEC_BIND } spec_kind_t;

/* One mount asked for on the command line. */
typedef struct spec {
	spec_kind_t kind;
	const char *arg; /* as given, for messages */
	char *name;      /* SPEC_VOLUME; SPEC_ANONYMOUS once made or found */
	char *source;    /* SPEC_BIND */
	char *target;    /* absolute, cleaned, not "/" */
	bool ro, nocopy;
	cJSON *options; /* the validated options besides ro/rw/nocopy */
	vol_t vol;
	bool loaded, created;
	bool mounted_here; /* this attach mounted it on the host (loop) */
	bool held_new;     /* this attach took a new hold on it (hold.c) */
} spec_t;

typedef struct specs {
	spec_t *v;
	size_t n;
} specs_t;

static void
specs_free(specs_t *s)
{
	for (size_t i = 0; i < s->n; i++) {
		spec_t *p = &s->v[i];
		free(p->name);
		free(p->source);
		free(p->target);
		cJSON_Delete(p->options);
		if (p->loaded)
			vol_free(&p->vol);
	}
	free(s->v);
}

/* ---- Parsing the specs --------------------------------------------------- */

/* DST as a container path: absolute, cleaned ("." and "//" dropped, ".."
 * resolved, never above "/"), and not "/" itself (the rootfs is
 * ctrk-snap's). */
static int
clean_target(const char *dst, const char *arg, char **out, ctrk_error_t *err)
{
	if (dst[0] != '/')
		return ctrk_error_set(err, 0, "invalid mount '%s': the target '%s' must be an absolute path", arg, dst);
	cleanup_free char *rel = NULL;
	if (ctrk_path_clean(dst + 1, true, &rel, err) < 0)
		return ctrk_error_wrap(err, "invalid mount '%s': the target", arg);
	if (rel[0] == '\0')
		return ctrk_error_set(err, 0, "invalid mount '%s': nothing may be mounted on the container's root '/'", arg);
	for (const char *p = rel; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return ctrk_error_set(err, 0, "invalid mount '%s': the target has a control character", arg);
	*out = ctrk_strdup_printf("/%s", rel);
	return 0;
}

/* DIGITS[k|m|g] (and, when PERCENT, DIGITS%), as tmpfs(5) takes sizes. */
static bool
valid_size(const char *s, bool percent)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 19)
		return false;
	if (s[n] == '\0')
		return true;
	if (s[n + 1] != '\0')
		return false;
	return strchr("kKmMgG", s[n]) || (percent && s[n] == '%');
}

static bool
valid_mode(const char *s)
{
	size_t n = strspn(s, "01234567");
	return n > 0 && n <= 5 && s[n] == '\0' && strtol(s, NULL, 8) <= 07777;
}

/* The comma-separated options LIST for spec P: ro, rw, nosuid, nodev,
 * noexec (and their opposites suid, dev, exec) for every mount; for a tmpfs
 * also size=, mode=, nr_inodes=; for a volume also nocopy (no populate). */
static int
parse_options(spec_t *p, const char *list, ctrk_error_t *err)
{
	static const char *const flags[] = {"nosuid", "nodev", "noexec", "suid", "dev", "exec", NULL};
	const char *s = list;
	while (true) {
		size_t n = strcspn(s, ",");
		cleanup_free char *o = ctrk_xstrndup(s, n);
		if (n == 0)
			return ctrk_error_set(err, 0, "invalid mount '%s': an empty option", p->arg);
		bool known = false;
		if (strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0) {
			p->ro = o[1] == 'o';
			known = true;
		} else if (strcmp(o, "nocopy") == 0 && (p->kind == SPEC_VOLUME || p->kind == SPEC_ANONYMOUS)) {
			p->nocopy = true;
			known = true;
		} else {
			for (const char *const *f = flags; *f && !known; f++)
				known = strcmp(o, *f) == 0;
			if (!known && p->kind == SPEC_TMPFS) {
				const char *eq = strchr(o, '=');
				const char *v = eq ? eq + 1 : "";
				if (strncmp(o, "size=", 5) == 0)
					known = valid_size(v, true);
				else if (strncmp(o, "nr_inodes=", 10) == 0)
					known = valid_size(v, false);
				else if (strncmp(o, "mode=", 5) == 0)
					known = valid_mode(v);
				if (!known && (strncmp(o, "size=", 5) == 0 || strncmp(o, "nr_inodes=", 10) == 0 ||
					       strncmp(o, "mode=", 5) == 0))
					return ctrk_error_set(err, 0, "invalid mount '%s': bad value in option '%s'", p->arg,
							      o);
			}
			if (known)
				cJSON_AddItemToArray(p->options, cJSON_CreateString(o));
		}
		if (!known)
			return ctrk_error_set(err, 0,
					      "invalid mount '%s': unknown option '%s' (ro, rw, nosuid, nodev, noexec%s%s)",
					      p->arg, o, p->kind == SPEC_TMPFS ? ", size=, mode=, nr_inodes=" : "",
					      p->kind == SPEC_VOLUME || p->kind == SPEC_ANONYMOUS ? ", nocopy" : "");
		if (s[n] == '\0')
			return 0;
		s += n + 1;
	}
}

/* "/dst[:ro|:rw][,OPTS]": the part after NAME: or SRC:. */
static int
parse_target_part(spec_t *p, const char *rest, ctrk_error_t *err)
{
	size_t n = strcspn(rest, ",");
	cleanup_free char *path = ctrk_xstrndup(rest, n);
	char *colon = strchr(path, ':');
	if (colon) {
		*colon = '\0';
		if (strcmp(colon + 1, "ro") == 0)
			p->ro = true;
		else if (strcmp(colon + 1, "rw") != 0)
			return ctrk_error_set(err, 0, "invalid mount '%s': unknown mode '%s' (ro or rw)", p->arg, colon + 1);
	}
	if (clean_target(path, p->arg, &p->target, err) < 0)
		return -1;
	return rest[n] ? parse_options(p, rest + n + 1, err) : 0;
}

/* Is PATH (which exists) inside ctrk's own state?  A bind mount of it
 * would hand a container the store or other containers' files. */
static bool
inside_state(const char *path)
{
	cleanup_free char *real = realpath(path, NULL);
	const char *dirs[] = {ctrk_default_root(), ctrk_default_run()};
	for (size_t i = 0; real && i < 2; i++) {
		cleanup_free char *d = realpath(dirs[i], NULL);
		if (d && (ctrk_path_under(real, d) || ctrk_path_under(d, real)))
			return true;
	}
	return false;
}

static int
parse_spec(spec_t *p, spec_kind_t kind, const char *arg, ctrk_error_t *err)
{
	p->kind = kind;
	p->arg = arg;
	p->options = cJSON_CreateArray();
	if (kind == SPEC_ANONYMOUS)
		return parse_target_part(p, arg, err);
	if (kind == SPEC_TMPFS) {
		size_t n = strcspn(arg, ":");
		cleanup_free char *dst = ctrk_xstrndup(arg, n);
		if (clean_target(dst, arg, &p->target, err) < 0)
			return -1;
		if (arg[n] == '\0') {
			/* As ctrk-run --tmpfs and docker: no set-id, devices or
			 * programs on a scratch file system unless asked. */
			const char *defaults[] = {"nosuid", "nodev", "noexec"};
			for (size_t i = 0; i < 3; i++)
				cJSON_AddItemToArray(p->options, cJSON_CreateString(defaults[i]));
			return 0;
		}
		return parse_options(p, arg + n + 1, err);
	}
	const char *colon = strchr(arg, ':');
	if (!colon)
		return ctrk_error_set(err, 0, "invalid mount '%s': want %s:/dst[:ro][,OPTS]", arg,
				      kind == SPEC_BIND ? "SRC" : "NAME");
	cleanup_free char *first = ctrk_xstrndup(arg, (size_t)(colon - arg));
	if (kind == SPEC_VOLUME) {
		if (vol_name_check(first, err) < 0)
			return ctrk_error_wrap(err, "invalid mount '%s'", arg);
		p->name = steal_pointer(&first);
		return parse_target_part(p, colon + 1, err);
	}
	/* SPEC_BIND */
	if (first[0] != '/')
		return ctrk_error_set(err, 0, "invalid mount '%s': the source '%s' must be an absolute path", arg, first);
	cleanup_free char *rel = NULL;
	if (ctrk_path_clean(first + 1, true, &rel, err) < 0)
		return ctrk_error_wrap(err, "invalid mount '%s': the source", arg);
	p->source = ctrk_strdup_printf("/%s", rel);
	struct stat st;
	if (stat(p->source, &st) < 0)
		return ctrk_error_errno(err, "invalid mount '%s': cannot use the source '%s'", arg, p->source);
	if (inside_state(p->source))
		return ctrk_error_set(err, 0,
				      "invalid mount '%s': the source '%s' is inside ctrk's state (attach a volume "
				      "by name instead)",
				      arg, p->source);
	if (parse_target_part(p, colon + 1, err) < 0)
		return -1;
	cJSON_InsertItemInArray(p->options, 0, cJSON_CreateString("rbind"));
	return 0;
}

static int
parse_specs(const vol_opts_t *o, int argc, char **argv, specs_t *s, ctrk_error_t *err)
{
	size_t total = (size_t)argc + o->tmpfs.n + o->binds.n + o->anonymous.n;
	s->v = ctrk_xcalloc(total ? total : 1, sizeof *s->v);
	struct {
		spec_kind_t kind;
		const char *const *v;
		size_t n;
	} groups[] = {
		{SPEC_VOLUME, (const char *const *)argv, (size_t)argc},
		{SPEC_ANONYMOUS, o->anonymous.v, o->anonymous.n},
		{SPEC_TMPFS, o->tmpfs.v, o->tmpfs.n},
		{SPEC_BIND, o->binds.v, o->binds.n},
	};
	for (size_t g = 0; g < sizeof groups / sizeof *groups; g++)
		for (size_t i = 0; i < groups[g].n; i++)
			if (parse_spec(&s->v[s->n++], groups[g].kind, groups[g].v[i], err) < 0)
				return -1;
	for (size_t i = 0; i < s->n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->v[i].target, s->v[j].target) == 0)
				return ctrk_error_set(err, 0, "two mounts at '%s' ('%s' and '%s')", s->v[i].target,
						      s->v[j].arg, s->v[i].arg);
	return 0;
}

/* ---- The record ---------------------------------------------------------- */

/* Check the descriptor's "volumes" (ctrk-vol's own field) before acting
 * on it. */
static int
record_validate(const cJSON *d, ctrk_error_t *err)
{
	const cJSON *rec = NULL, *e;
	if (ctrk_json_get_array(d, RECORD, false, &rec, "descriptor", err) < 0)
		return -1;
	int i = 0;
	cJSON_ArrayForEach(e, rec) {
		char what[64];
		snprintf(what, sizeof what, "descriptor: " RECORD "[%d]", i++);
		const char *target = NULL, *type = NULL, *name = NULL, *source = NULL;
		if (!cJSON_IsObject(e))
			return ctrk_error_set(err, 0, "%s: must be an object", what);
		if (ctrk_json_get_string(e, "target", true, &target, what, err) < 0 ||
		    ctrk_json_get_string(e, "type", true, &type, what, err) < 0 ||
		    ctrk_json_get_string(e, "name", false, &name, what, err) < 0 ||
		    ctrk_json_get_string(e, "source", false, &source, what, err) < 0)
			return -1;
		const char *hold = NULL;
		if (ctrk_json_get_string(e, "hold", false, &hold, what, err) < 0)
			return -1;
		if (hold && !vol_hold_id_valid(hold))
			return ctrk_error_set(err, 0, "%s: 'hold' must be 16 hex digits, not '%s'", what, hold);
		const cJSON *anon = cJSON_GetObjectItemCaseSensitive(e, "anonymous");
		if (anon && !cJSON_IsBool(anon))
			return ctrk_error_set(err, 0, "%s: 'anonymous' must be a boolean", what);
		if (target[0] != '/' || strcmp(target, "/") == 0)
			return ctrk_error_set(err, 0, "%s: 'target' must be an absolute path other than '/', not '%s'",
					      what, target);
		if (strcmp(type, "volume") == 0) {
			if (!name)
				return ctrk_error_set(err, 0, "%s: a volume needs 'name'", what);
			if (vol_name_check(name, err) < 0)
				return ctrk_error_wrap(err, "%s", what);
		} else if (strcmp(type, "tmpfs") != 0 && strcmp(type, "bind") != 0) {
			return ctrk_error_set(err, 0, "%s: unknown type '%s' (volume, tmpfs or bind)", what, type);
		}
	}
	return 0;
}

/* The first entry of D's record whose string KEY is VALUE, or NULL. */
static cJSON *
record_find(const cJSON *d, const char *key, const char *value)
{
	cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, RECORD)) {
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, key));
		if (v && strcmp(v, value) == 0)
			return e;
	}
	return NULL;
}

/* Remove every container mount at TARGET (never a rootfs mount: TARGET is
 * not "/"). */
static void
remove_mounts_at(cJSON *d, const char *target)
{
	cJSON *mounts = cJSON_GetObjectItemCaseSensitive(d, "mounts");
	cJSON *m = mounts ? mounts->child : NULL;
	while (m) {
		cJSON *next = m->next;
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "target"));
		if (t && strcmp(t, target) == 0 && strcmp(t, "/") != 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(mounts, m));
		m = next;
	}
}

/* ---- attach ------------------------------------------------------------- */

static void
add_option(cJSON *options, const char *opt)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, options)
		if (cJSON_IsString(o) && strcmp(o->valuestring, opt) == 0)
			return;
	cJSON_AddItemToArray(options, cJSON_CreateString(opt));
}

/* Remove the options OPT (or, when PREFIX, those starting with it). */
static void
remove_option(cJSON *options, const char *opt, bool prefix)
{
	cJSON *o = options ? options->child : NULL;
	while (o) {
		cJSON *next = o->next;
		if (cJSON_IsString(o) &&
		    (prefix ? strncmp(o->valuestring, opt, strlen(opt)) == 0 : strcmp(o->valuestring, opt) == 0))
			cJSON_Delete(cJSON_DetachItemViaPointer(options, o));
		o = next;
	}
}

/* P's options and ro into mount M's "options". */
static void
apply_options(const spec_t *p, cJSON *m)
{
	cJSON *options = cJSON_GetObjectItemCaseSensitive(m, "options");
	if (!cJSON_IsArray(options)) {
		options = cJSON_CreateArray();
		ctrk_json_set(m, "options", options);
	}
	/* One of ro/rw: the spec's, replacing what the type gave. */
	remove_option(options, "ro", false);
	remove_option(options, "rw", false);
	const cJSON *o;
	cJSON_ArrayForEach(o, p->options)
		add_option(options, o->valuestring);
	add_option(options, p->ro ? "ro" : "rw");
}

/* M (taken) with TARGET, its fields in the descriptor's order: type,
 * source, target, options. */
static cJSON *
with_target(cJSON *m, const char *target)
{
	cJSON *out = ctrk_mount_new(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "type")),
				    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "source")), target, NULL);
	cJSON *options = cJSON_DetachItemFromObjectCaseSensitive(m, "options");
	if (cJSON_IsArray(options))
		ctrk_json_set(out, "options", options);
	else
		cJSON_Delete(options);
	cJSON_Delete(m);
	return out;
}

static bool
is_tmpfs_volume(const vol_t *v)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v->meta, "type"));
	return type && strcmp(type, "tmpfs") == 0;
}

/* --uid/--gid for a tmpfs: the owner of its root, as mount options (they
 * replace the volume's own). */
static void
tmpfs_owner(const vol_opts_t *o, cJSON *m)
{
	cJSON *options = cJSON_GetObjectItemCaseSensitive(m, "options");
	if (o->uid >= 0)
		remove_option(options, "uid=", true);
	if (o->gid >= 0)
		remove_option(options, "gid=", true);
	char buf[32];
	if (o->uid >= 0) {
		snprintf(buf, sizeof buf, "uid=%ld", o->uid);
		add_option(options, buf);
	}
	if (o->gid >= 0) {
		snprintf(buf, sizeof buf, "gid=%ld", o->gid);
		add_option(options, buf);
	}
}

/* --uid/--gid: the volume's root to the container's user. */
static int
chown_root(const vol_opts_t *o, const vol_t *v, ctrk_error_t *err)
{
	if (o->uid < 0 && o->gid < 0)
		return 0;
	cleanup_free char *content = vol_content_path(v);
	if (!content)
		return 0;
	cleanup_close int fd = open(content, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fchown(fd, (uid_t)o->uid, (gid_t)o->gid) < 0)
		return ctrk_error_errno(err, "cannot give the root of volume '%s' to %ld:%ld", v->name, o->uid, o->gid);
	return 0;
}

/* Under the volume's lock: mount it (a loop volume on the host), populate
 * it, give its root away; *MOUNT is the container mount without target. */
static int
attach_volume(const vol_opts_t *o, const cJSON *d, const char *hold, spec_t *p, cJSON **mount,
	      ctrk_error_t *err)
{
	cleanup_close int lock = vol_lock(p->name, err);
	if (lock < 0)
		return -1;
	/* Read again under the lock: another attach may have populated it. */
	vol_free(&p->vol);
	p->loaded = false;
	if (vol_load(p->name, &p->vol, err) < 0)
		return -1;
	p->loaded = true;
	cleanup_json cJSON *m = NULL;
	bool was_mounted = types_mounted(&p->vol);
	if (vol_mount(&p->vol, &m, err) < 0)
		return -1;
	p->mounted_here = !was_mounted && types_mounted(&p->vol);
	/* Mounted on the host while in use: held until detach (or until the
	 * pipeline is gone), so that another descriptor's detach does not
	 * unmount it before this one's container starts. */
	if (types_needs_host_mount(&p->vol) && vol_hold_take(p->name, hold, &p->held_new, err) < 0)
		return -1;
	bool never = (o->populate && strcmp(o->populate, "never") == 0) || p->nocopy;
	bool copied = false;
	if (!never && vol_populate(&p->vol, d, p->target, &copied, err) < 0)
		return -1;
	if (is_tmpfs_volume(&p->vol))
		tmpfs_owner(o, m);
	else if (chown_root(o, &p->vol, err) < 0)
		return -1;
	*mount = steal_pointer(&m);
	return 0;
}

/* ---- Releasing a volume's host mount ------------------------------------ */

/* A loop (or external) volume that no running container uses and no
 * pipeline holds any more (hold.c) is unmounted from the host; the hold
 * HOLD (when not NULL) is dropped first; all under the volume's lock. */
static int
release_volume(const char *name, const char *hold, ctrk_error_t *err)
{
	cleanup_close int lock = vol_lock(name, err);
	vol_t v;
	if (lock < 0 || vol_load(name, &v, err) < 0) {
		if (err->errnum != ENOENT)
			return ctrk_error_wrap(err, "releasing volume '%s'", name);
		ctrk_note("volume '%s' was already removed", name);
		return 0;
	}
	if (hold)
		vol_hold_drop(name, hold);
	char **users = NULL;
	int rc = vol_users(&v, true, &users, err);
	if (rc == 0 && !users[0] && !vol_held(name))
		rc = vol_unmount(&v, err);
	vol_ids_free(users);
	vol_free(&v);
	return rc < 0 ? ctrk_error_wrap(err, "releasing volume '%s'", name) : 0;
}

/* Undo what a failed attach did: the anonymous volumes it made go; a
 * volume it mounted on the host is unmounted unless a running container
 * uses it by now (one mounted before is left alone: another pipeline's
 * container may be about to start on it). */
static void
attach_undo(specs_t *s, const char *hold)
{
	for (size_t i = s->n; i-- > 0;) {
		spec_t *p = &s->v[i];
		ctrk_error_t e;
		if (p->created) {
			if (vol_remove(p->name, true, &e) < 0)
				ctrk_warn("cannot remove the new volume '%s': %s", p->name, e.msg);
		} else if ((p->mounted_here || p->held_new) &&
			   release_volume(p->name, p->held_new ? hold : NULL, &e) < 0)
			ctrk_warn("%s", e.msg);
	}
}

/* Load the named volumes, and find the anonymous ones a record has at
 * the same target (attach twice: the same volume); nothing is made yet,
 * so a missing volume changes nothing. */
static int
attach_resolve(const cJSON *d, specs_t *s, ctrk_error_t *err)
{
	for (size_t i = 0; i < s->n; i++) {
		spec_t *p = &s->v[i];
		if (p->kind == SPEC_ANONYMOUS) {
			const cJSON *r = record_find(d, "target", p->target);
			const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "name"));
			if (!name || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "anonymous")))
				continue;
			ctrk_error_t e;
			if (vol_load(name, &p->vol, &e) < 0)
				continue; /* gone (pruned): a new one */
			p->loaded = true;
			p->name = ctrk_xstrdup(name);
		} else if (p->kind == SPEC_VOLUME) {
			if (vol_load(p->name, &p->vol, err) < 0) {
				if (err->errnum == ENOENT)
					return ctrk_error_set(err, 0, "no volume '%s' (for '%s'): make it first with "
								      "'ctrk-vol create %s', or use --anonymous",
							      p->name, p->arg, p->name);
				return -1;
			}
			p->loaded = true;
		}
	}
	return 0;
}

/* The record entries of volumes at S's targets in D, that the new mounts
 * replace (to be released once the new descriptor is out), copied into
 * the array REPLACED. */
static void
replaced_volumes(const cJSON *d, const specs_t *s, cJSON *replaced)
{
	for (size_t i = 0; i < s->n; i++) {
		const cJSON *old = record_find(d, "target", s->v[i].target);
		if (cJSON_GetObjectItemCaseSensitive(old, "name"))
			cJSON_AddItemToArray(replaced, cJSON_Duplicate(old, true));
	}
}

/* The descriptor's hold id: the one its record has (attach again keeps
 * it), else a new one. */
static void
hold_id(const cJSON *d, char out[17])
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, RECORD)) {
		const char *h = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "hold"));
		if (h) {
			memcpy(out, h, 17);
			return;
		}
	}
	vol_random_hex(out, 8);
}

static int
attach_all(const vol_opts_t *o, cJSON *d, specs_t *s, const char *hold, cJSON *replaced, ctrk_error_t *err)
{
	if (attach_resolve(d, s, err) < 0)
		return -1;
	cleanup_json cJSON *mounts = cJSON_CreateArray();
	cleanup_json cJSON *records = cJSON_CreateArray();
	for (size_t i = 0; i < s->n; i++) {
		spec_t *p = &s->v[i];
		cJSON *m = NULL, *r = cJSON_CreateObject();
		cJSON_AddItemToArray(records, r);
		cJSON_AddStringToObject(r, "target", p->target);
		switch (p->kind) {
		case SPEC_ANONYMOUS:
			if (!p->loaded) {
				if (vol_create(o, NULL, true, &p->vol, err) < 0)
					return ctrk_error_wrap(err, "'--anonymous %s'", p->arg);
				p->loaded = p->created = true;
				p->name = ctrk_xstrdup(p->vol.name);
			}
			/* fall through */
		case SPEC_VOLUME:
			if (attach_volume(o, d, hold, p, &m, err) < 0)
				return ctrk_error_wrap(err, "attaching '%s'", p->arg);
			cJSON_AddStringToObject(r, "type", "volume");
			cJSON_AddStringToObject(r, "name", p->name);
			cJSON_AddBoolToObject(r, "anonymous", p->kind == SPEC_ANONYMOUS);
			if (types_needs_host_mount(&p->vol))
				cJSON_AddStringToObject(r, "hold", hold);
			break;
		case SPEC_TMPFS:
			m = ctrk_mount_new("tmpfs", "tmpfs", p->target, NULL);
			tmpfs_owner(o, m);
			cJSON_AddStringToObject(r, "type", "tmpfs");
			break;
		case SPEC_BIND:
			m = ctrk_mount_new("bind", p->source, p->target, NULL);
			cJSON_AddStringToObject(r, "type", "bind");
			cJSON_AddStringToObject(r, "source", p->source);
			break;
		}
		m = with_target(m, p->target);
		apply_options(p, m);
		cJSON_AddItemToArray(mounts, m);
		char what[64];
		snprintf(what, sizeof what, "the mount for '%.40s'", p->arg);
		if (ctrk_mount_validate(m, what, err) < 0)
			return -1;
	}
	/* Only now the descriptor: what was at each target goes. */
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(d, "mounts")))
		ctrk_json_set(d, "mounts", cJSON_CreateArray());
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(d, RECORD)))
		ctrk_json_set(d, RECORD, cJSON_CreateArray());
	cJSON *dm = cJSON_GetObjectItemCaseSensitive(d, "mounts"), *dr = cJSON_GetObjectItemCaseSensitive(d, RECORD);
	replaced_volumes(d, s, replaced);
	for (size_t i = 0; i < s->n; i++) {
		remove_mounts_at(d, s->v[i].target);
		cJSON *old = record_find(d, "target", s->v[i].target);
		if (old)
			cJSON_Delete(cJSON_DetachItemViaPointer(dr, old));
	}
	cJSON *x;
	while ((x = cJSON_DetachItemFromArray(mounts, 0)))
		cJSON_AddItemToArray(dm, x);
	while ((x = cJSON_DetachItemFromArray(records, 0)))
		cJSON_AddItemToArray(dr, x);
	return 0;
}

int
cmd_attach(const vol_opts_t *o, int argc, char **argv)
{
	ctrk_error_t err;
	specs_t s = {0};
	cleanup_json cJSON *replaced = cJSON_CreateArray();
	if (parse_specs(o, argc, argv, &s, &err) < 0) {
		ctrk_report(&err);
		specs_free(&s);
		return CTRK_EXIT_USAGE;
	}
	cleanup_json cJSON *d = ctrk_descriptor_read(STDIN_FILENO, true, &err);
	int rc = CTRK_EXIT_FAILURE;
	if (!d || record_validate(d, &err) < 0)
		goto out;
	char hold[17];
	hold_id(d, hold);
	if (attach_all(o, d, &s, hold, replaced, &err) < 0) {
		attach_undo(&s, hold);
		goto out;
	}
	if (ctrk_descriptor_write(STDOUT_FILENO, d, &err) < 0) {
		attach_undo(&s, hold);
		goto out;
	}
	/* A volume whose mount another one replaced (at the same target) is
	 * this descriptor's no more: its host mount goes when nothing else
	 * uses it, as at detach.  The descriptor is out already, so a failure
	 * here is only a warning (check reports a mount left behind). */
	const cJSON *r;
	cJSON_ArrayForEach(r, replaced) {
		ctrk_error_t rerr;
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "name"));
		const char *old_hold = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "hold"));
		if (!record_find(d, "name", name) && release_volume(name, old_hold, &rerr) < 0)
			ctrk_warn("%s", rerr.msg);
	}
	rc = CTRK_EXIT_OK;
out:
	specs_free(&s);
	return rc == CTRK_EXIT_OK ? rc : ctrk_fail(&err);
}

/* ---- detach ------------------------------------------------------------- */

int
cmd_detach(const vol_opts_t *o)
{
	ctrk_error_t err;
	/* Fail closed: empty input means the step before failed. */
	cleanup_json cJSON *d = ctrk_descriptor_read(STDIN_FILENO, false, &err);
	if (!d || record_validate(d, &err) < 0)
		return ctrk_fail(&err);
	const cJSON *rec = cJSON_GetObjectItemCaseSensitive(d, RECORD), *e;
	cJSON_ArrayForEach(e, rec) {
		const char *target = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "target"));
		remove_mounts_at(d, target);
	}
	cJSON_ArrayForEach(e, rec) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type"));
		const char *hold = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "hold"));
		if (name && strcmp(type, "volume") == 0 && release_volume(name, hold, &err) < 0)
			return ctrk_fail(&err);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(d, RECORD);
	/* The mounts array ctrk-vol alone filled goes with its last mount. */
	const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(d, "mounts");
	if (rec && cJSON_IsArray(mounts) && cJSON_GetArraySize(mounts) == 0)
		cJSON_DeleteItemFromObjectCaseSensitive(d, "mounts");
	if (ctrk_descriptor_write(STDOUT_FILENO, d, &err) < 0)
		return ctrk_fail(&err);
	return CTRK_EXIT_OK;
}
