/* config.json for runtime-spec 1.0.2.
 *
 * The defaults follow what Docker and containerd give a container, so that
 * images behave here as they do there: the same capability set, masked and
 * read-only /proc and /sys paths, the usual /dev, /proc and /sys mounts, a
 * new namespace of every kind, no_new_privileges. */
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "caps.h"
#include "checks.h"
#include "cleanup.h"
#include "env.h"
#include "fsutil.h"
#include "json.h"
#include "rundir.h"
#include "seccomp.h"
#include "user.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const masked_paths[] = {
	"/proc/asound",	      "/proc/acpi",	    "/proc/kcore",	 "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
	"/proc/scsi",	      "/sys/firmware",	    "/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

struct default_mount {
	const char *destination, *type, *source, *options;
};
static const struct default_mount default_mounts[] = {
	{"/proc", "proc", "proc", "nosuid,noexec,nodev"},
	{"/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"},
	{"/dev/pts", "devpts", "devpts", "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"},
	{"/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"},
	{"/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"},
	{"/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"},
	{"/sys/fs/cgroup", "cgroup", "cgroup", "nosuid,noexec,nodev,relatime,ro"},
};

static const struct {
	const char *name;
	const char *oci;
} rlimit_names[] = {
	{"as", "RLIMIT_AS"},	       {"core", "RLIMIT_CORE"},	    {"cpu", "RLIMIT_CPU"},
	{"data", "RLIMIT_DATA"},       {"fsize", "RLIMIT_FSIZE"},   {"locks", "RLIMIT_LOCKS"},
	{"memlock", "RLIMIT_MEMLOCK"}, {"msgqueue", "RLIMIT_MSGQUEUE"}, {"nice", "RLIMIT_NICE"},
	{"nofile", "RLIMIT_NOFILE"},   {"nproc", "RLIMIT_NPROC"},   {"rss", "RLIMIT_RSS"},
	{"rtprio", "RLIMIT_RTPRIO"},   {"rttime", "RLIMIT_RTTIME"}, {"sigpending", "RLIMIT_SIGPENDING"},
	{"stack", "RLIMIT_STACK"},
};

static cJSON *
string_array(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

/* "a,b,c" as a JSON array of strings. */
static cJSON *
split_options(const char *s)
{
	cJSON *a = cJSON_CreateArray();
	while (s && *s) {
		size_t n = strcspn(s, ",");
		if (n) {
			cleanup_free char *opt = ctrk_xstrndup(s, n);
			cJSON_AddItemToArray(a, cJSON_CreateString(opt));
		}
		s += n + (s[n] == ',');
	}
	return a;
}

int
spec_parse_size(const char *s, long long *bytes)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 'b': case 'B': end++; break;
	}
	if (*end || v > (LLONG_MAX >> shift))
		return -1;
	*bytes = v << shift;
	return 0;
}

/* ---- environment ---------------------------------------------------- */

/* One -e argument: "K=V", or "K" taking ctrk-run's own value (skipped when
 * unset, as docker does). */
static int
env_apply_arg(run_env_t *env, const char *arg, const char *what, ctrk_error_t *err)
{
	if (!arg[0] || arg[0] == '=')
		return ctrk_error_set(err, 0, "invalid %s '%s': want KEY=VALUE or KEY", what, arg);
	if (strchr(arg, '='))
		return run_env_set(env, arg, what, err);
	const char *v = getenv(arg);
	if (v) {
		cleanup_free char *kv = ctrk_strdup_printf("%s=%s", arg, v);
		return run_env_set(env, kv, what, err);
	}
	return 0;
}

static int
env_apply_file(run_env_t *env, const char *path, ctrk_error_t *err)
{
	cleanup_free char *buf = NULL;
	size_t len;
	if (ctrk_read_file(path, 1u << 20, &buf, &len, err) < 0)
		return ctrk_error_wrap(err, "reading --env-file");
	if (memchr(buf, '\0', len))
		return ctrk_error_set(err, 0, "--env-file '%s' holds a NUL byte", path);
	cleanup_free char *what = ctrk_strdup_printf("line in --env-file '%s'", path);
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		line += strspn(line, " \t");
		if (!*line || *line == '#')
			continue;
		if (env_apply_arg(env, line, what, err) < 0)
			return -1;
	}
	return 0;
}

/* The image's Env: an entry without '=' is skipped as before; one with an
 * empty name ("=x") is refused, as it is with --env. */
static int
env_apply_image(run_env_t *env, const cJSON *image_env, ctrk_error_t *err)
{
	static const char what[] = "image config Env";
	/* The cap is on the merged variables (run_env_set), not the entries:
	 * repeated names are one variable. */
	const cJSON *e;
	cJSON_ArrayForEach(e, image_env) {
		if (cJSON_IsString(e) && strchr(e->valuestring, '=') && run_env_set(env, e->valuestring, what, err) < 0)
			return -1;
	}
	return 0;
}

static int
env_build(const run_opts_t *o, const cJSON *image_env, const char *home, cJSON **out, ctrk_error_t *err)
{
	__attribute__((cleanup(run_env_free))) run_env_t env;
	run_env_init(&env, RUN_ENV_MAX);
	if (env_apply_image(&env, image_env, err) < 0)
		return -1;
	if (!run_env_has(&env, "PATH") && run_env_set(&env, "PATH=" DEFAULT_PATH, "Env", err) < 0)
		return -1;
	if (o->hostname || o->id) {
		cleanup_free char *h = ctrk_strdup_printf("HOSTNAME=%s", o->hostname ? o->hostname : o->id);
		if (run_env_set(&env, h, "Env", err) < 0)
			return -1;
	}
	if (o->tty && !run_env_has(&env, "TERM") && run_env_set(&env, "TERM=xterm", "Env", err) < 0)
		return -1;
	if (home && !run_env_has(&env, "HOME")) {
		cleanup_free char *h = ctrk_strdup_printf("HOME=%s", home);
		if (run_env_set(&env, h, "Env", err) < 0)
			return -1;
	}
	for (size_t i = 0; i < o->env_files.n; i++)
		if (env_apply_file(&env, o->env_files.v[i], err) < 0)
			return -1;
	for (size_t i = 0; i < o->env.n; i++)
		if (env_apply_arg(&env, o->env.v[i], "--env", err) < 0)
			return -1;
	*out = run_env_to_json(&env);
	return 0;
}

/* ---- process -------------------------------------------------------- */

static const cJSON *
image_config(const cJSON *d)
{
	const cJSON *image = cJSON_GetObjectItemCaseSensitive(d, "image");
	return cJSON_GetObjectItemCaseSensitive(image, "config");
}

static const char *
image_string(const cJSON *config, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(config, key);
	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* Append the strings of the image config's KEY (Entrypoint or Cmd) to
 * ARGS. */
static int
args_from_image(cJSON *args, const cJSON *config, const char *key, ctrk_error_t *err)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(config, key), *s;
	if (cJSON_GetArraySize(list) > (int)RUN_ARGS_MAX)
		return ctrk_error_set(err, 0, "image config %s: more than %u entries", key, RUN_ARGS_MAX);
	cJSON_ArrayForEach(s, list) {
		if (cJSON_IsString(s))
			cJSON_AddItemToArray(args, cJSON_CreateString(s->valuestring));
	}
	return 0;
}

/* Entrypoint and Cmd as docker combines them: a command line replaces Cmd;
 * --entrypoint replaces Entrypoint and drops the image's Cmd.  *N_ENTRYPOINT
 * is how many of the arguments came from an entrypoint. */
static int
args_build(const run_opts_t *o, const cJSON *config, cJSON **out, size_t *n_entrypoint, ctrk_error_t *err)
{
	cleanup_json cJSON *args = cJSON_CreateArray();
	if (o->entrypoint) {
		if (o->entrypoint[0])
			cJSON_AddItemToArray(args, cJSON_CreateString(o->entrypoint));
	} else if (args_from_image(args, config, "Entrypoint", err) < 0)
		return -1;
	*n_entrypoint = (size_t)cJSON_GetArraySize(args);
	if (o->ncmd) {
		if (o->ncmd > RUN_ARGS_MAX)
			return ctrk_error_set(err, 0, "the command line: more than %u arguments", RUN_ARGS_MAX);
		for (size_t i = 0; i < o->ncmd; i++)
			cJSON_AddItemToArray(args, cJSON_CreateString(o->cmd[i]));
	} else if (!o->entrypoint && args_from_image(args, config, "Cmd", err) < 0)
		return -1;
	if (cJSON_GetArraySize(args) > (int)RUN_ARGS_MAX)
		return ctrk_error_set(err, 0, "Entrypoint and Cmd: more than %u arguments", RUN_ARGS_MAX);
	if (cJSON_GetArraySize(args) == 0)
		return ctrk_error_set(err, 0, "no command: the image has no Entrypoint or Cmd (give one after '--')");
	/* Nothing can be found by an empty name: say so here, wherever it
	 * came from, rather than leave it to the runtime mid-start. */
	if (args->child->valuestring[0] == '\0')
		return ctrk_error_set(err, 0, "the program to run is empty ('' as the first word of %s)",
				      *n_entrypoint ? (o->entrypoint ? "--entrypoint" : "the image's Entrypoint")
						    : (o->ncmd ? "the command line" : "the image's Cmd"));
	*out = steal_pointer(&args);
	return 0;
}

static int
rlimits_build(const ctrk_strlist_t *ulimits, cJSON **out, ctrk_error_t *err)
{
	cleanup_json cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < ulimits->n; i++) {
		const char *u = ulimits->v[i];
		size_t klen = strcspn(u, "=");
		const char *oci = NULL;
		for (size_t k = 0; k < sizeof rlimit_names / sizeof *rlimit_names; k++)
			if (strlen(rlimit_names[k].name) == klen && strncmp(u, rlimit_names[k].name, klen) == 0)
				oci = rlimit_names[k].oci;
		if (!oci || u[klen] != '=')
			return ctrk_error_set(err, 0, "invalid --ulimit '%s': want NAME=SOFT[:HARD] with NAME as in ulimit, "
						      "e.g. nofile", u);
		unsigned long long v[2];
		const char *p = u + klen + 1;
		for (int j = 0; j < 2; j++) {
			char *end;
			if (strncmp(p, "unlimited", 9) == 0 || strncmp(p, "-1", 2) == 0) {
				v[j] = ~0ULL;
				end = (char *)p + (p[0] == 'u' ? 9 : 2);
			} else {
				errno = 0;
				v[j] = strtoull(p, &end, 10);
				if (errno || end == p || *p == '-')
					return ctrk_error_set(err, 0, "invalid --ulimit '%s': not a number", u);
			}
			if (j == 0 && *end == ':') {
				p = end + 1;
				continue;
			}
			if (*end)
				return ctrk_error_set(err, 0, "invalid --ulimit '%s'", u);
			if (j == 0)
				v[1] = v[0];
			break;
		}
		if (v[0] > v[1])
			return ctrk_error_set(err, 0, "invalid --ulimit '%s': the soft limit is above the hard one", u);
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "type", oci);
		/* cJSON keeps numbers as doubles: unlimited must survive as
		 * 2^64-1, which a double rounds to 2^64; runc and crun read that
		 * back as the largest uint64 all the same. */
		cJSON_AddNumberToObject(r, "hard", (double)v[1]);
		cJSON_AddNumberToObject(r, "soft", (double)v[0]);
		cJSON_AddItemToArray(a, r);
	}
	*out = steal_pointer(&a);
	return 0;
}

/* The user, with its primary group among the supplementary ones as a login
 * (initgroups) has it: containerd learnt that the hard way
 * (CVE-2023-25173). */
static cJSON *
user_json(const run_user_t *u)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "uid", u->uid);
	cJSON_AddNumberToObject(j, "gid", u->gid);
	cJSON *g = cJSON_AddArrayToObject(j, "additionalGids");
	cJSON_AddItemToArray(g, cJSON_CreateNumber(u->gid));
	for (size_t i = 0; i < u->n_additional; i++)
		cJSON_AddItemToArray(g, cJSON_CreateNumber(u->additional_gids[i]));
	return j;
}

/* The size of the terminal ctrk-run runs in, so that the container's starts
 * with it (the process may ask before any resize could arrive). */
static void
set_console_size(cJSON *process)
{
	struct winsize ws = {0};
	int fds[] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
	bool found = false;
	for (size_t i = 0; i < 3 && !found; i++)
		found = ioctl(fds[i], TIOCGWINSZ, &ws) == 0 && ws.ws_col;
	if (!found) {
		cleanup_close int tty = open("/dev/tty", O_RDONLY | O_CLOEXEC | O_NOCTTY);
		found = tty >= 0 && ioctl(tty, TIOCGWINSZ, &ws) == 0 && ws.ws_col;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(process, "consoleSize");
	if (!found)
		return;
	cJSON *size = cJSON_AddObjectToObject(process, "consoleSize");
	cJSON_AddNumberToObject(size, "height", ws.ws_row);
	cJSON_AddNumberToObject(size, "width", ws.ws_col);
}

static int
user_build(const char *rootfs, const char *spec, const ctrk_strlist_t *group_add, cJSON **out, char **home,
	   ctrk_error_t *err)
{
	cleanup_close int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return ctrk_error_errno(err, "cannot open the root file system '%s'", rootfs);
	run_user_t u = {0};
	if (run_user_resolve(rootfd, spec ? spec : "", group_add->v, group_add->n, &u, err) < 0)
		return ctrk_error_wrap(err, "resolving user '%s'", spec ? spec : "");
	*out = user_json(&u);
	if (home)
		*home = u.home ? ctrk_xstrdup(u.home) : NULL;
	run_user_free(&u);
	return 0;
}

static int
caps_build(const run_opts_t *o, cJSON **out, ctrk_error_t *err)
{
	char **caps = NULL;
	size_t n = 0;
	if (run_caps_resolve(o->cap_add.v, o->cap_add.n, o->cap_drop.v, o->cap_drop.n, o->privileged, &caps, &n,
			     err) < 0)
		return -1;
	cJSON *c = cJSON_CreateObject();
	static const char *const sets[] = {"bounding", "effective", "permitted"};
	for (size_t i = 0; i < 3; i++)
		cJSON_AddItemToObject(c, sets[i], string_array((const char *const *)caps, n));
	run_caps_free(caps);
	*out = c;
	return 0;
}

static int
process_build(const run_opts_t *o, const cJSON *d, const char *rootfs, cJSON **out, ctrk_error_t *err)
{
	const cJSON *config = image_config(d);
	cleanup_json cJSON *p = cJSON_CreateObject();
	cJSON *args = NULL, *env = NULL, *user = NULL, *caps = NULL, *rlimits = NULL;
	cleanup_free char *home = NULL;

	cJSON_AddBoolToObject(p, "terminal", o->tty);
	if (o->tty)
		set_console_size(p);
	const char *user_spec = o->user ? o->user : image_string(config, "User");
	if (user_build(rootfs, user_spec, &o->group_add, &user, &home, err) < 0)
		return -1;
	cJSON_AddItemToObject(p, "user", user);
	size_t n_entrypoint = 0;
	if (args_build(o, config, &args, &n_entrypoint, err) < 0)
		return -1;
	cJSON_AddItemToObject(p, "args", args);
	if (env_build(o, cJSON_GetObjectItemCaseSensitive(config, "Env"), home, &env, err) < 0)
		return -1;
	cJSON_AddItemToObject(p, "env", env);
	const char *cwd = o->workdir ? o->workdir : image_string(config, "WorkingDir");
	cleanup_free char *clean_cwd = NULL;
	if (run_clean_path(cwd ? cwd : "/", o->workdir ? "the working directory (--workdir)"
						 : "the working directory (image config WorkingDir)",
			   &clean_cwd, err) < 0)
		return -1;
	cJSON_AddStringToObject(p, "cwd", clean_cwd);
	if (caps_build(o, &caps, err) < 0)
		return -1;
	cJSON_AddItemToObject(p, "capabilities", caps);
	if (rlimits_build(&o->ulimits, &rlimits, err) < 0)
		return -1;
	if (cJSON_GetArraySize(rlimits))
		cJSON_AddItemToObject(p, "rlimits", rlimits);
	else
		cJSON_Delete(rlimits);
	cJSON_AddBoolToObject(p, "noNewPrivileges", !o->privileged);
	if (run_check_exec(p, n_entrypoint, err) < 0)
		return -1;
	*out = steal_pointer(&p);
	return 0;
}

/* ---- mounts --------------------------------------------------------- */

/* A mount destination cleaned lexically (see run_clean_path): never the
 * container's root itself, which is the rootfs's. */
static int
clean_destination(const char *dst, const char *what, char **out, ctrk_error_t *err)
{
	cleanup_free char *clean = NULL;
	if (run_clean_path(dst, what, &clean, err) < 0)
		return -1;
	if (strcmp(clean, "/") == 0)
		return ctrk_error_set(err, 0, "%s '%.256s' is the container's root: nothing may be mounted there", what,
				      dst);
	*out = steal_pointer(&clean);
	return 0;
}

static cJSON *
oci_mount(const char *destination, const char *type, const char *source, cJSON *options)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "destination", destination);
	cJSON_AddStringToObject(m, "type", type);
	cJSON_AddStringToObject(m, "source", source);
	cJSON_AddItemToObject(m, "options", options);
	return m;
}

/* --mount type=TYPE,src=SRC,dst=DST[,ro][,OPTION...] */
static int
parse_mount_flag(const char *arg, cJSON **out, ctrk_error_t *err)
{
	cleanup_free char *type = NULL, *src = NULL, *dst = NULL;
	cleanup_json cJSON *options = cJSON_CreateArray();
	bool bind_given = false;
	const char *s = arg;
	while (*s) {
		size_t n = strcspn(s, ",");
		cleanup_free char *item = ctrk_xstrndup(s, n);
		s += n + (s[n] == ',');
		if (!n)
			continue;
		char *eq = strchr(item, '=');
		const char *key = item, *value = eq ? eq + 1 : NULL;
		if (eq)
			*eq = '\0';
		char **slot = NULL;
		if (strcmp(key, "type") == 0)
			slot = &type;
		else if (strcmp(key, "src") == 0 || strcmp(key, "source") == 0)
			slot = &src;
		else if (strcmp(key, "dst") == 0 || strcmp(key, "destination") == 0 || strcmp(key, "target") == 0)
			slot = &dst;
		if (slot) {
			if (!value || !*value)
				return ctrk_error_set(err, 0, "invalid --mount '%s': '%s' needs a value", arg, key);
			free(*slot);
			*slot = ctrk_xstrdup(value);
			continue;
		}
		if (eq)
			*eq = '=';
		if (strcmp(item, "bind") == 0 || strcmp(item, "rbind") == 0)
			bind_given = true;
		cJSON_AddItemToArray(options, cJSON_CreateString(strcmp(item, "readonly") == 0 ? "ro" : item));
	}
	if (!dst)
		return ctrk_error_set(err, 0, "invalid --mount '%s': no dst=", arg);
	cleanup_free char *clean = NULL;
	if (clean_destination(dst, "--mount dst", &clean, err) < 0)
		return -1;
	if (!type)
		type = ctrk_xstrdup("bind");
	if (strcmp(type, "bind") == 0) {
		if (!src)
			return ctrk_error_set(err, 0, "invalid --mount '%s': a bind mount needs src=", arg);
		struct stat st;
		if (src[0] != '/')
			return ctrk_error_set(err, 0, "invalid --mount '%s': src '%s' is not an absolute path", arg, src);
		if (stat(src, &st) < 0)
			return ctrk_error_errno(err, "invalid --mount '%s': cannot use '%s'", arg, src);
		if (!bind_given)
			cJSON_AddItemToArray(options, cJSON_CreateString("rbind"));
	}
	*out = oci_mount(clean, type, src ? src : type, steal_pointer(&options));
	return 0;
}

/* --tmpfs DST[:OPTIONS] */
static int
parse_tmpfs_flag(const char *arg, cJSON **out, ctrk_error_t *err)
{
	size_t n = strcspn(arg, ":");
	cleanup_free char *dst = ctrk_xstrndup(arg, n), *clean = NULL;
	if (clean_destination(dst, "--tmpfs", &clean, err) < 0)
		return -1;
	cJSON *options = split_options(arg[n] ? arg + n + 1 : "nosuid,nodev,noexec");
	*out = oci_mount(clean, "tmpfs", "tmpfs", options);
	return 0;
}

/* The descriptor's container mounts (target other than "/"), as ctrk-vol
 * hands them out. */
static int
descriptor_mounts(const cJSON *d, cJSON *mounts, ctrk_error_t *err)
{
	const cJSON *m;
	int i = 0;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(d, "mounts")) {
		const cJSON *target = cJSON_GetObjectItemCaseSensitive(m, "target");
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "type");
		const cJSON *source = cJSON_GetObjectItemCaseSensitive(m, "source");
		i++;
		if (!cJSON_IsString(target) || strcmp(target->valuestring, "/") == 0)
			continue;
		char what[64];
		snprintf(what, sizeof what, "descriptor: mounts[%d] target", i - 1);
		cleanup_free char *clean = NULL;
		if (clean_destination(target->valuestring, what, &clean, err) < 0)
			return -1;
		cJSON *options = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(m, "options"), true);
		if (!options)
			options = cJSON_CreateArray();
		cJSON_AddItemToArray(mounts, oci_mount(clean, type->valuestring,
						       cJSON_IsString(source) ? source->valuestring : type->valuestring,
						       options));
	}
	return 0;
}

static bool
has_destination(const cJSON *mounts, const char *destination)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, mounts) {
		const cJSON *dst = cJSON_GetObjectItemCaseSensitive(m, "destination");
		if (strcmp(dst->valuestring, destination) == 0)
			return true;
	}
	return false;
}

static int
mounts_build(const run_opts_t *o, const cJSON *d, cJSON **out, ctrk_error_t *err)
{
	cleanup_json cJSON *user = cJSON_CreateArray();
	if (descriptor_mounts(d, user, err) < 0)
		return -1;
	size_t n = (size_t)cJSON_GetArraySize(user) + o->mounts.n + o->tmpfs.n;
	if (n > RUN_MOUNTS_MAX)
		return ctrk_error_set(err, 0, "too many mounts: %zu (descriptor mounts, --mount, --tmpfs), more than %u",
				      n, RUN_MOUNTS_MAX);
	for (size_t i = 0; i < o->mounts.n; i++) {
		cJSON *m = NULL;
		if (parse_mount_flag(o->mounts.v[i], &m, err) < 0)
			return -1;
		cJSON_AddItemToArray(user, m);
	}
	for (size_t i = 0; i < o->tmpfs.n; i++) {
		cJSON *m = NULL;
		if (parse_tmpfs_flag(o->tmpfs.v[i], &m, err) < 0)
			return -1;
		cJSON_AddItemToArray(user, m);
	}
	/* A mount the user asks for replaces the default one at the same
	 * place (as with docker's --tmpfs /dev/shm). */
	cleanup_json cJSON *all = cJSON_CreateArray();
	for (size_t i = 0; i < sizeof default_mounts / sizeof *default_mounts; i++) {
		const struct default_mount *dm = &default_mounts[i];
		if (has_destination(user, dm->destination))
			continue;
		cJSON *options = split_options(dm->options);
		if (o->privileged && (strcmp(dm->type, "sysfs") == 0 || strcmp(dm->type, "cgroup") == 0)) {
			cJSON_Delete(options);
			options = split_options("nosuid,noexec,nodev,rw");
		}
		cJSON_AddItemToArray(all, oci_mount(dm->destination, dm->type, dm->source, options));
	}
	cJSON *m;
	while ((m = cJSON_DetachItemFromArray(user, 0)))
		cJSON_AddItemToArray(all, m);
	*out = steal_pointer(&all);
	return 0;
}

/* ---- linux ---------------------------------------------------------- */

static bool
cgroup2_only(void)
{
	struct statfs st;
	return statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

static void
add_namespace(cJSON *nss, const char *type, const char *path)
{
	cJSON *ns = cJSON_CreateObject();
	cJSON_AddStringToObject(ns, "type", type);
	if (path)
		cJSON_AddStringToObject(ns, "path", path);
	cJSON_AddItemToArray(nss, ns);
}

/* The network namespace: --net, else the descriptor's netns (a path, or an
 * object with "path", from ctrk-netif), else a new one. */
static int
network_namespace(const run_opts_t *o, const cJSON *d, cJSON *nss, ctrk_error_t *err)
{
	const char *net = o->net;
	if (!net) {
		const cJSON *netns = cJSON_GetObjectItemCaseSensitive(d, "netns");
		if (cJSON_IsObject(netns))
			netns = cJSON_GetObjectItemCaseSensitive(netns, "path");
		if (cJSON_IsString(netns))
			net = netns->valuestring;
	}
	if (!net || strcmp(net, "none") == 0) {
		add_namespace(nss, "network", NULL);
		return 0;
	}
	if (strcmp(net, "host") == 0)
		return 0;
	if (net[0] != '/')
		return ctrk_error_set(err, 0, "invalid network '%s': want host, none or the path of a namespace", net);
	struct stat st;
	if (stat(net, &st) < 0)
		return ctrk_error_errno(err, "cannot use network namespace '%s'", net);
	add_namespace(nss, "network", net);
	return 0;
}

static cJSON *
resources_build(const run_opts_t *o)
{
	cJSON *r = cJSON_CreateObject();
	cJSON *devices = cJSON_AddArrayToObject(r, "devices");
	cJSON *rule = cJSON_CreateObject();
	/* Deny all, and the runtime allows the devices it creates (null, zero,
	 * full, tty, random, urandom, ptmx, pts); privileged allows all. */
	cJSON_AddBoolToObject(rule, "allow", o->privileged);
	cJSON_AddStringToObject(rule, "access", "rwm");
	cJSON_AddItemToArray(devices, rule);
	if (o->memory) {
		cJSON *mem = cJSON_AddObjectToObject(r, "memory");
		cJSON_AddNumberToObject(mem, "limit", (double)o->memory);
	}
	if (o->cpu_quota) {
		cJSON *cpu = cJSON_AddObjectToObject(r, "cpu");
		cJSON_AddNumberToObject(cpu, "quota", (double)o->cpu_quota);
		cJSON_AddNumberToObject(cpu, "period", 100000);
	}
	if (o->pids_limit) {
		cJSON *pids = cJSON_AddObjectToObject(r, "pids");
		cJSON_AddNumberToObject(pids, "limit", (double)o->pids_limit);
	}
	return r;
}

static int
linux_build(const run_opts_t *o, const cJSON *d, cJSON **out, ctrk_error_t *err)
{
	cleanup_json cJSON *l = cJSON_CreateObject();
	cJSON *nss = cJSON_AddArrayToObject(l, "namespaces");
	if (!o->pid || strcmp(o->pid, "host") != 0)
		add_namespace(nss, "pid", NULL);
	add_namespace(nss, "ipc", NULL);
	add_namespace(nss, "uts", NULL);
	add_namespace(nss, "mount", NULL);
	if (network_namespace(o, d, nss, err) < 0)
		return -1;
	if (cgroup2_only())
		add_namespace(nss, "cgroup", NULL);
	cJSON_AddItemToObject(l, "resources", resources_build(o));
	/* Under the state directory's own parent: another $CTRK_RUN may have a
	 * container with the same id. */
	cleanup_free char *parent = rundir_cgroup_parent();
	cleanup_free char *cgroup = ctrk_strdup_printf("/%s/%s", parent, o->id);
	cJSON_AddStringToObject(l, "cgroupsPath", cgroup);
	if (!o->privileged) {
		cJSON_AddItemToObject(l, "maskedPaths",
				      string_array(masked_paths, sizeof masked_paths / sizeof *masked_paths));
		cJSON_AddItemToObject(l, "readonlyPaths",
				      string_array(readonly_paths, sizeof readonly_paths / sizeof *readonly_paths));
	}
	*out = steal_pointer(&l);
	return 0;
}

cJSON *
spec_build(const run_opts_t *o, const cJSON *d, const char *rootfs, ctrk_error_t *err)
{
	cleanup_json cJSON *c = cJSON_CreateObject();
	cJSON *process = NULL, *mounts = NULL, *linux_ = NULL;
	cJSON_AddStringToObject(c, "ociVersion", "1.0.2");
	if (process_build(o, d, rootfs, &process, err) < 0)
		return NULL;
	cJSON_AddItemToObject(c, "process", process);
	cJSON *root = cJSON_AddObjectToObject(c, "root");
	cJSON_AddStringToObject(root, "path", rootfs);
	cJSON_AddBoolToObject(root, "readonly", o->read_only);
	cJSON_AddStringToObject(c, "hostname", o->hostname ? o->hostname : o->id);
	if (mounts_build(o, d, &mounts, err) < 0)
		return NULL;
	cJSON_AddItemToObject(c, "mounts", mounts);
	if (linux_build(o, d, &linux_, err) < 0)
		return NULL;
	cJSON_AddItemToObject(c, "linux", linux_);
	if (run_seccomp_add(c, o, err) < 0)
		return NULL;
	return steal_pointer(&c);
}

cJSON *
spec_exec_process(const cJSON *config, const run_opts_t *o, char **args, size_t nargs, ctrk_error_t *err)
{
	const cJSON *process = cJSON_GetObjectItemCaseSensitive(config, "process");
	const cJSON *root = cJSON_GetObjectItemCaseSensitive(config, "root");
	const char *rootfs = NULL;
	if (!cJSON_IsObject(process) ||
	    ctrk_json_get_string(root, "path", true, &rootfs, "the container's config.json root", err) < 0)
		return ctrk_error_set(err, 0, "the container's config.json has no process or root"), NULL;
	cleanup_json cJSON *p = cJSON_Duplicate(process, true);
	ctrk_json_set(p, "terminal", cJSON_CreateBool(o->tty));
	ctrk_json_set(p, "args", string_array((const char *const *)args, nargs));
	__attribute__((cleanup(run_env_free))) run_env_t env;
	run_env_init(&env, RUN_ENV_MAX);
	if (run_env_set_json(&env, cJSON_GetObjectItemCaseSensitive(p, "env"), "the container's config.json env",
			     err) < 0)
		return NULL;
	if (o->tty && !run_env_has(&env, "TERM") && run_env_set(&env, "TERM=xterm", "Env", err) < 0)
		return NULL;
	for (size_t i = 0; i < o->env_files.n; i++)
		if (env_apply_file(&env, o->env_files.v[i], err) < 0)
			return NULL;
	for (size_t i = 0; i < o->env.n; i++)
		if (env_apply_arg(&env, o->env.v[i], "--env", err) < 0)
			return NULL;
	ctrk_json_set(p, "env", run_env_to_json(&env));
	if (o->user) {
		cJSON *user;
		if (user_build(rootfs, o->user, &o->group_add, &user, NULL, err) < 0)
			return NULL;
		ctrk_json_set(p, "user", user);
	}
	if (o->workdir) {
		char *cwd;
		if (run_clean_path(o->workdir, "the working directory (--workdir)", &cwd, err) < 0)
			return NULL;
		ctrk_json_set(p, "cwd", cJSON_CreateString(cwd));
		free(cwd);
	}
	if (o->tty)
		set_console_size(p);
	else
		cJSON_DeleteItemFromObjectCaseSensitive(p, "consoleSize");
	if (args[0][0] == '\0')
		return ctrk_error_set(err, 0, "the program to run is empty ('' as the first word of the command line)"),
		       NULL;
	if (run_check_exec(p, 0, err) < 0)
		return NULL;
	return steal_pointer(&p);
}
