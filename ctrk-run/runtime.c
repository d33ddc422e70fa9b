#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "process.h"
#include "run.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

#define MAX_ARGS 64

static bool
fs_is(const char *path, long magic)
{
	struct statfs st;
	return statfs(path, &st) == 0 && st.f_type == magic;
}

static bool
cgroup_hybrid(void)
{
	return fs_is("/sys/fs/cgroup", TMPFS_MAGIC) && fs_is("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC);
}

int
runtime_open(const char *name, const char *root, runtime_t *rt, ctrk_error_t *err)
{
	memset(rt, 0, sizeof *rt);
	if (!name)
		name = getenv("CTRK_RUNTIME");
	if (!name || !*name)
		name = "runc";
	rt->path = ctrk_find_program(name);
	if (!rt->path)
		return ctrk_error_set(err, 0, "runtime '%s' not found%s", name,
				      strchr(name, '/') ? "" : " in PATH");
	const char *base = strrchr(rt->path, '/');
	rt->name = ctrk_xstrdup(base ? base + 1 : rt->path);
	rt->root = root ? ctrk_xstrdup(root) : NULL;
	rt->hide_cgroup_unified = strcmp(rt->name, "crun") == 0 && cgroup_hybrid();
	return 0;
}

int
runtime_open_recorded(const cJSON *record, runtime_t *rt, ctrk_error_t *err)
{
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(record, "container");
	const char *runtime = NULL, *root = NULL;
	if (ctrk_json_get_string(ct, "runtime", true, &runtime, "container", err) < 0 ||
	    ctrk_json_get_string(ct, "runtimeRoot", false, &root, "container", err) < 0)
		return -1;
	return runtime_open(runtime, root, rt, err);
}

void
runtime_free(runtime_t *rt)
{
	free(rt->path);
	free(rt->name);
	free(rt->root);
	memset(rt, 0, sizeof *rt);
}

/* In the runtime's child, before exec: a private view of the mounts without
 * the cgroup2 tree.  Slave propagation keeps later host mounts visible. */
static int
hide_cgroup_unified(void *arg)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
	    umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0)
		return -1;
	return 0;
}

/* The runtime's environment: a few variables, never the caller's whole
 * environment, which may hold tokens and passwords that a runtime (or a
 * hook, or a wrapper given as --runtime) has no business with.
 *   PATH             to find what the runtime runs itself; the caller's,
 *                    or the usual default
 *   XDG_RUNTIME_DIR  where a runtime keeps state when not run as root
 * NOTIFY_SOCKET is left out on purpose: with it runc and crun bind the
 * caller's systemd socket into the container and `run -d` waits for the
 * container to say READY=1, which an ordinary image never does. */
static const char *const runtime_env_names[] = {"PATH", "XDG_RUNTIME_DIR"};
#define RUNTIME_ENV_N (sizeof runtime_env_names / sizeof *runtime_env_names)

/* ENV (RUNTIME_ENV_N + 1 entries) filled from ctrk-run's environment; the
 * strings are owned by BUF's entries. */
static void
runtime_environ(char *env[RUNTIME_ENV_N + 1], char *buf[RUNTIME_ENV_N])
{
	size_t n = 0;
	for (size_t i = 0; i < RUNTIME_ENV_N; i++) {
		const char *v = getenv(runtime_env_names[i]);
		buf[i] = NULL;
		if (!v && strcmp(runtime_env_names[i], "PATH") == 0)
			v = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
		if (v)
			env[n++] = buf[i] = ctrk_strdup_printf("%s=%s", runtime_env_names[i], v);
	}
	env[n] = NULL;
}

static void
runtime_environ_free(char *buf[RUNTIME_ENV_N])
{
	for (size_t i = 0; i < RUNTIME_ENV_N; i++)
		free(buf[i]);
}

/* `RUNTIME [--root R] [--log LOG --log-format json] ARGS...` in S, with
 * ARGV (MAX_ARGS entries) as its command line. */
static int
runtime_command(const runtime_t *rt, const char *log, const char *const *args, const char **argv,
		ctrk_spawn_t *s, ctrk_error_t *err)
{
	size_t n = 0;
	argv[n++] = rt->path;
	if (rt->root) {
		argv[n++] = "--root";
		argv[n++] = rt->root;
	}
	if (log) {
		argv[n++] = "--log";
		argv[n++] = log;
		argv[n++] = "--log-format";
		argv[n++] = "json";
	}
	for (; *args; args++) {
		if (n + 1 >= MAX_ARGS)
			return ctrk_error_set(err, E2BIG, "too many runtime arguments");
		argv[n++] = *args;
	}
	argv[n] = NULL;
	*s = (ctrk_spawn_t){
		.argv = (char *const *)argv,
		.stdio = {-1, -1, -1},
		.setup = rt->hide_cgroup_unified ? hide_cgroup_unified : NULL,
		.setup_what = "cannot hide /sys/fs/cgroup/unified from the runtime",
	};
	return 0;
}

pid_t
runtime_spawn(const runtime_t *rt, const char *log, const char *const *args, const int stdio[3], int keep_fds,
	      ctrk_error_t *err)
{
	const char *argv[MAX_ARGS];
	char *env[RUNTIME_ENV_N + 1], *envbuf[RUNTIME_ENV_N];
	ctrk_spawn_t s;
	if (runtime_command(rt, log, args, argv, &s, err) < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		s.stdio[i] = stdio[i];
	s.keep_fds = keep_fds;
	runtime_environ(env, envbuf);
	s.envp = env;
	pid_t pid = ctrk_spawn(&s, err);
	runtime_environ_free(envbuf);
	if (pid < 0)
		return ctrk_error_wrap(err, "starting runtime '%s'", rt->name);
	return pid;
}

/* The message of a runtime's failure: its JSON log lines' "msg" when it
 * wrote such, else its text. */
static char *
message_of(const char *text)
{
	char *last = NULL;
	cleanup_free char *copy = ctrk_xstrdup(text);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cleanup_json cJSON *j = cJSON_Parse(line);
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "msg");
		const char *m = cJSON_IsString(msg) ? msg->valuestring : j ? NULL : line;
		if (m && *m) {
			free(last);
			last = ctrk_xstrdup(m);
		}
	}
	return last;
}

int
runtime_call(const runtime_t *rt, const char *const *args, char **out, ctrk_error_t *err)
{
	const char *argv[MAX_ARGS];
	ctrk_spawn_t s;
	if (runtime_command(rt, NULL, args, argv, &s, err) < 0)
		return -1;
	cleanup_free char *outbuf = NULL, *errbuf = NULL;
	char *env[RUNTIME_ENV_N + 1], *envbuf[RUNTIME_ENV_N];
	int status;
	runtime_environ(env, envbuf);
	s.envp = env;
	int rc = ctrk_spawn_capture(&s, NULL, 0, 1u << 20, &outbuf, NULL, &errbuf, &status, err);
	runtime_environ_free(envbuf);
	if (rc < 0)
		return ctrk_error_wrap(err, "starting runtime '%s'", rt->name);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (out)
			*out = steal_pointer(&outbuf);
		return 0;
	}
	cleanup_free char *msg = message_of(errbuf);
	if (msg)
		return ctrk_error_set(err, 0, "%s %s: %s", rt->name, args[0], msg);
	return ctrk_error_set(err, 0, "%s %s failed with status %d", rt->name, args[0], ctrk_exit_code(status));
}

cJSON *
runtime_state(const runtime_t *rt, const char *id, ctrk_error_t *err)
{
	const char *args[] = {"state", id, NULL};
	cleanup_free char *out = NULL;
	if (runtime_call(rt, args, &out, err) < 0)
		return NULL;
	return ctrk_json_parse(out, strlen(out), "the runtime's state", err);
}

char *
runtime_log_error(const char *log, long long offset)
{
	cleanup_close int fd = open(log, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || lseek(fd, offset, SEEK_SET) < 0)
		return NULL;
	cleanup_free char *buf = NULL;
	size_t len;
	ctrk_error_t ignored;
	if (ctrk_read_all_fd(fd, 1u << 20, &buf, &len, &ignored) < 0)
		return NULL;
	return message_of(buf);
}

int
runtime_start_exit_code(const char *m)
{
	if (!m)
		return RUN_EXIT_FAILED;
	/* runc: exec: "x": executable file not found in $PATH
	 *       exec: "/x": stat /x: no such file or directory
	 *       exec: "/etc": permission denied
	 * crun: executable file `x` not found in $PATH: No such file or directory
	 *       open executable: Permission denied */
	bool about_exec = strstr(m, "exec: \"") || strcasestr(m, "executable");
	if (!about_exec)
		return RUN_EXIT_FAILED;
	if (strcasestr(m, "not found") || strcasestr(m, "no such file"))
		return RUN_EXIT_NOT_FOUND;
	if (strcasestr(m, "permission denied") || strcasestr(m, "exec format error") || strcasestr(m, "is a directory"))
		return RUN_EXIT_CANNOT_INVOKE;
	return RUN_EXIT_FAILED;
}
