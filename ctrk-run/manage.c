/* kill, wait, state, list, logs, delete: the verbs on a container that
 * exists. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "cmd.h"
#include "container.h"
#include "fsutil.h"
#include "json.h"
#include "lock.h"
#include "paths.h"
#include "runtime.h"
#include "statedir.h"

static const struct {
	const char *name;
	int number;
} signals[] = {
	{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
	{"ABRT", SIGABRT}, {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL},   {"USR1", SIGUSR1},
	{"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},   {"TERM", SIGTERM},
	{"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
	{"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM},
	{"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},   {"PWR", SIGPWR},     {"SYS", SIGSYS},
};

int
parse_signal(const char *s, int *sig, ctrk_error_t *err)
{
	long n;
	if (s[0] >= '0' && s[0] <= '9') {
		char *end;
		n = strtol(s, &end, 10);
		if (*end || n < 1 || n >= NSIG)
			return ctrk_error_set(err, 0, "invalid signal '%s'", s);
		*sig = (int)n;
		return 0;
	}
	const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
		if (strcasecmp(name, signals[i].name) == 0) {
			*sig = signals[i].number;
			return 0;
		}
	return ctrk_error_set(err, 0, "invalid signal '%s'", s);
}

/* A container's record and runtime, for the verbs below. */
typedef struct loaded {
	container_t c;
	cJSON *record;
	runtime_t rt;
} loaded_t;

static int
load(const char *id, loaded_t *l, ctrk_error_t *err)
{
	memset(l, 0, sizeof *l);
	if (container_init(id, &l->c, err) < 0)
		return -1;
	if (!(l->record = container_load(&l->c, err)) || runtime_open_recorded(l->record, &l->rt, err) < 0) {
		container_free(&l->c);
		cJSON_Delete(l->record);
		return -1;
	}
	return 0;
}

static void
unload(loaded_t *l)
{
	container_free(&l->c);
	cJSON_Delete(l->record);
	runtime_free(&l->rt);
}

int
cmd_kill(const char *id, const char *signal, ctrk_error_t *err)
{
	int sig = SIGTERM;
	if (signal && parse_signal(signal, &sig, err) < 0)
		return -1;
	loaded_t l;
	if (load(id, &l, err) < 0)
		return -1;
	char num[16];
	snprintf(num, sizeof num, "%d", sig);
	const char *args[] = {"kill", id, num, NULL};
	int code, rc = 0;
	if (container_read_exit(&l.c, &code) == 1)
		rc = ctrk_error_set(err, 0, "container '%s' is not running", id);
	else
		rc = runtime_call(&l.rt, args, NULL, err);
	unload(&l);
	return rc;
}

/* The live status: the recorded exit, else the runtime's word. */
static const char *
live_status(loaded_t *l, int *exit_code)
{
	*exit_code = -1;
	if (container_read_exit(&l->c, exit_code) == 1)
		return "stopped";
	ctrk_error_t ignored;
	cleanup_json cJSON *st = runtime_state(&l->rt, l->c.id, &ignored);
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "status"));
	if (!status)
		return container_owned(&l->c) ? "created" : "unknown";
	/* The runtime-spec states, and runc's "paused". */
	static const char *const states[] = {"creating", "created", "running", "paused", "stopped"};
	for (size_t i = 0; i < sizeof states / sizeof *states; i++)
		if (strcmp(status, states[i]) == 0)
			return states[i];
	return "unknown";
}

static cJSON *
state_object(loaded_t *l)
{
	cJSON *ct = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(l->record, "container"), true);
	int code;
	ctrk_json_set(ct, "status", cJSON_CreateString(live_status(l, &code)));
	if (code >= 0)
		ctrk_json_set(ct, "exitCode", cJSON_CreateNumber(code));
	else
		cJSON_DeleteItemFromObjectCaseSensitive(ct, "exitCode");
	return ct;
}

int
cmd_state(const char *id, ctrk_error_t *err)
{
	loaded_t l;
	if (load(id, &l, err) < 0)
		return -1;
	cleanup_json cJSON *ct = state_object(&l);
	unload(&l);
	return ctrk_json_write_fd(STDOUT_FILENO, ct, true, err);
}

/* Wait for a process that is not our child (its supervisor is gone). */
static void
wait_pid_gone(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	close(fd);
}

int
cmd_wait(const char *id, int *code, ctrk_error_t *err)
{
	loaded_t l;
	if (load(id, &l, err) < 0)
		return -1;
	int rc = -1;
	/* The owner holds the lock until it has written the exit status. */
	int fd = ctrk_lock_file(l.c.lock, false, err);
	if (fd >= 0) {
		close(fd);
		if (container_read_exit(&l.c, code) == 1) {
			rc = 0;
		} else {
			long long pid = 0;
			ctrk_error_t ignored;
			const cJSON *ct = cJSON_GetObjectItemCaseSensitive(l.record, "container");
			cleanup_json cJSON *fresh = container_load(&l.c, &ignored);
			if (fresh)
				ct = cJSON_GetObjectItemCaseSensitive(fresh, "container");
			if (ctrk_json_get_int64(ct, "pid", false, &pid, "container", &ignored) == 0 && pid > 0)
				wait_pid_gone((pid_t)pid);
			rc = ctrk_error_set(err, 0,
					    "the exit status of container '%s' is unknown: its supervisor is gone", id);
		}
	}
	unload(&l);
	return rc;
}

int
cmd_list(bool json, bool quiet, ctrk_error_t *err)
{
	cleanup_json cJSON *all = cJSON_CreateArray();
	DIR *dir = opendir(ctrk_default_run());
	if (!dir && errno != ENOENT)
		return ctrk_error_errno(err, "cannot list '%s'", ctrk_default_run());
	struct dirent *e;
	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		loaded_t l;
		ctrk_error_t ignored;
		container_t probe;
		if (container_init(e->d_name, &probe, &ignored) < 0)
			continue;
		bool has = ctrk_path_exists(probe.record);
		container_free(&probe);
		if (!has || load(e->d_name, &l, &ignored) < 0)
			continue;
		cJSON_AddItemToArray(all, state_object(&l));
		unload(&l);
	}
	if (dir)
		closedir(dir);
	if (json)
		return ctrk_json_write_fd(STDOUT_FILENO, all, true, err);
	if (!quiet)
		printf("%-24s %-8s %-8s %-8s %s\n", "ID", "PID", "STATUS", "RUNTIME", "CREATED");
	const cJSON *ct;
	cJSON_ArrayForEach(ct, all) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(ct, "id");
		if (quiet) {
			printf("%s\n", id->valuestring);
			continue;
		}
		const cJSON *pid = cJSON_GetObjectItemCaseSensitive(ct, "pid");
		const cJSON *status = cJSON_GetObjectItemCaseSensitive(ct, "status");
		const cJSON *runtime = cJSON_GetObjectItemCaseSensitive(ct, "runtime");
		const cJSON *created = cJSON_GetObjectItemCaseSensitive(ct, "created");
		const char *rt = cJSON_IsString(runtime) ? runtime->valuestring : "-";
		const char *base = strrchr(rt, '/');
		printf("%-24s %-8d %-8s %-8s %.19s\n", id->valuestring, cJSON_IsNumber(pid) ? pid->valueint : 0,
		       cJSON_IsString(status) ? status->valuestring : "-", base ? base + 1 : rt,
		       cJSON_IsString(created) ? created->valuestring : "-");
	}
	if (fflush(stdout) != 0)
		return ctrk_error_errno(err, "cannot write the list");
	return 0;
}

int
cmd_logs(const char *id, bool follow, ctrk_error_t *err)
{
	container_t c;
	if (container_init(id, &c, err) < 0)
		return -1;
	int rc = -1;
	cleanup_json cJSON *record = container_load(&c, err);
	cleanup_close int fd = record ? open(c.log, O_RDONLY | O_CLOEXEC) : -1;
	if (record && fd < 0) {
		if (errno == ENOENT)
			ctrk_error_set(err, 0, "container '%s' has no log: only a detached container's output is kept", id);
		else
			ctrk_error_errno(err, "cannot open '%s'", c.log);
	}
	char buf[65536];
	while (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ctrk_error_errno(err, "cannot read '%s'", c.log);
			break;
		}
		if (n > 0) {
			if (ctrk_write_all(STDOUT_FILENO, buf, (size_t)n, err) < 0)
				break;
			continue;
		}
		/* At the end: done, unless following a container that still
		 * runs.  The owner writes its last output before it lets go of
		 * the lock, so one more read after that finds everything. */
		if (!follow) {
			rc = 0;
			break;
		}
		if (!container_owned(&c))
			follow = false;
		else
			nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	container_free(&c);
	return rc;
}

int
cmd_delete(const char *id, bool force, ctrk_error_t *err)
{
	loaded_t l;
	if (load(id, &l, err) < 0)
		return -1;
	int code, rc = -1;
	bool running = container_read_exit(&l.c, &code) != 1;
	ctrk_error_t ignored;
	if (running && !force) {
		int unused;
		const char *st = live_status(&l, &unused);
		if (strcmp(st, "stopped") != 0 && strcmp(st, "unknown") != 0) {
			ctrk_error_set(err, 0, "container '%s' is %s: stop it first, or use --force", id, st);
			goto out;
		}
	}
	if (running) {
		const char *kill_args[] = {"kill", id, "9", NULL};
		runtime_call(&l.rt, kill_args, NULL, &ignored);
		/* Let the owner see the end and let go, for a few seconds. */
		for (int i = 0; i < 100 && container_owned(&l.c); i++)
			nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	const char *delete_args[] = {"delete", "--force", id, NULL};
	if (runtime_call(&l.rt, delete_args, NULL, err) < 0 && !strstr(err->msg, "not exist") &&
	    !strstr(err->msg, "not found"))
		goto out;
	statedir_remove_cgroups(id);
	rc = container_remove(&l.c, err);
out:
	unload(&l);
	return rc;
}
