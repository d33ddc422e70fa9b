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
#include "descriptor.h"
#include "fsutil.h"
#include "json.h"
#include "lock.h"
#include "paths.h"
#include "runtime.h"
#include "rundir.h"

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

/* The image a container runs, as it was pulled: the offline source
 * ("oci:/dir:tag", whose ref is only the tag), else the reference, else
 * the name; NULL without an image (--rootfs). */
static const char *
image_of(const cJSON *record)
{
	const cJSON *image = cJSON_GetObjectItemCaseSensitive(record, "image");
	static const char *const keys[] = {"source", "ref", "name"};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(image, keys[i]));
		if (v && *v)
			return v;
	}
	return NULL;
}

/* "5 seconds ago", "2 minutes ago", ... since the RFC 3339 time CREATED. */
static char *
age_of(const char *created)
{
	struct tm tm = {0};
	if (!created || !strptime(created, "%Y-%m-%dT%H:%M:%S", &tm))
		return ctrk_xstrdup("-");
	long long s = (long long)time(NULL) - (long long)timegm(&tm);
	if (s < 0)
		s = 0;
	static const struct {
		long long secs;
		const char *unit;
	} units[] = {{86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (s >= units[i].secs || units[i].secs == 1) {
			long long n = s / units[i].secs;
			return ctrk_strdup_printf("%lld %s%s ago", n, units[i].unit, n == 1 ? "" : "s");
		}
	return ctrk_xstrdup("-");
}

/* What `state` prints: the record's container with its live status, the
 * exit code once stopped, the image, the command and the age. */
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
	const char *image = image_of(l->record);
	if (image)
		ctrk_json_set(ct, "image", cJSON_CreateString(image));
	ctrk_error_t ignored;
	cleanup_json cJSON *config = ctrk_json_read_file(l->c.config, 16u << 20, &ignored);
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(config, "process"), "args");
	if (cJSON_IsArray(args))
		ctrk_json_set(ct, "command", cJSON_Duplicate(args, true));
	cleanup_free char *age = age_of(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ct, "created")));
	ctrk_json_set(ct, "age", cJSON_CreateString(age));
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

#define LIST_COLUMNS 7
#define COMMAND_MAX 30

/* One row of the table: ID IMAGE COMMAND CREATED STATUS PID RUNTIME. */
static void
table_row(const cJSON *ct, char *cells[LIST_COLUMNS])
{
	const char *image = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ct, "image"));
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ct, "status"));
	const char *runtime = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ct, "runtime"));
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(ct, "pid");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(ct, "exitCode");
	const cJSON *arg;
	size_t n = 0;
	char command[COMMAND_MAX + 4] = "";
	cJSON_ArrayForEach(arg, cJSON_GetObjectItemCaseSensitive(ct, "command")) {
		const char *a = cJSON_GetStringValue(arg);
		n += (size_t)snprintf(command + n, n < sizeof command ? sizeof command - n : 0, "%s%s",
				      n ? " " : "", a ? a : "");
		if (n >= sizeof command)
			break;
	}
	if (n > COMMAND_MAX)
		memcpy(command + COMMAND_MAX - 3, "...", 4);
	const char *rt = runtime ? runtime : "-";
	const char *base = strrchr(rt, '/');
	cells[0] = ctrk_xstrdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ct, "id")));
	cells[1] = ctrk_xstrdup(image ? image : "-");
	cells[2] = ctrk_xstrdup(*command ? command : "-");
	cells[3] = ctrk_xstrdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ct, "age")));
	if (cJSON_IsNumber(code))
		cells[4] = ctrk_strdup_printf("%s (%d)", status ? status : "-", code->valueint);
	else
		cells[4] = ctrk_xstrdup(status ? status : "-");
	cells[5] = cJSON_IsNumber(pid) ? ctrk_strdup_printf("%d", pid->valueint) : ctrk_xstrdup("-");
	cells[6] = ctrk_xstrdup(base ? base + 1 : rt);
}

/* The containers as a table whose columns are as wide as their cells. */
static void
print_table(const cJSON *all)
{
	static const char *const head[LIST_COLUMNS] = {"ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PID",
						       "RUNTIME"};
	size_t rows = (size_t)cJSON_GetArraySize(all) + 1, width[LIST_COLUMNS] = {0};
	char *(*cells)[LIST_COLUMNS] = ctrk_xrealloc(NULL, rows * sizeof *cells);
	for (size_t j = 0; j < LIST_COLUMNS; j++)
		cells[0][j] = ctrk_xstrdup(head[j]);
	size_t i = 1;
	const cJSON *ct;
	cJSON_ArrayForEach(ct, all) table_row(ct, cells[i++]);
	for (i = 0; i < rows; i++)
		for (size_t j = 0; j < LIST_COLUMNS; j++)
			if (strlen(cells[i][j]) > width[j])
				width[j] = strlen(cells[i][j]);
	for (i = 0; i < rows; i++) {
		for (size_t j = 0; j < LIST_COLUMNS; j++) {
			if (j + 1 < LIST_COLUMNS)
				printf("%-*s   ", (int)width[j], cells[i][j]);
			else
				printf("%s\n", cells[i][j]);
			free(cells[i][j]);
		}
	}
	free(cells);
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
	if (quiet) {
		const cJSON *ct;
		cJSON_ArrayForEach(ct, all)
			printf("%s\n", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ct, "id")));
	} else
		print_table(all);
	if (fflush(stdout) != 0)
		return ctrk_error_errno(err, "cannot write the list");
	return 0;
}

int
cmd_logs(const char *id, bool follow, ctrk_error_t *err)
{
	container_t c = {0};
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

/* What delete prints for a container that is gone: its tombstone, else
 * the descriptor on stdin (teardown run again in a pipeline), else a
 * descriptor with only the version; each without "container". */
static cJSON *
descriptor_of_gone(const container_t *c, ctrk_error_t *err)
{
	cJSON *d = container_tombstone(c);
	if (!d && !isatty(STDIN_FILENO))
		d = ctrk_descriptor_read(STDIN_FILENO, true, err);
	else if (!d)
		d = ctrk_descriptor_new();
	if (d)
		cJSON_DeleteItemFromObjectCaseSensitive(d, "container");
	return d;
}

int
cmd_delete(const char *id, bool force, bool print, ctrk_error_t *err)
{
	container_t gone;
	if (container_init(id, &gone, err) < 0)
		return -1;
	if (!ctrk_path_exists(gone.record)) {
		/* Teardown is idempotent: run again, it carries the same
		 * descriptor on. */
		ctrk_note("container '%s' was already deleted", id);
		cleanup_json cJSON *d = print ? descriptor_of_gone(&gone, err) : NULL;
		container_free(&gone);
		if (!print)
			return 0;
		return d ? ctrk_descriptor_write(STDOUT_FILENO, d, err) : -1;
	}
	container_free(&gone);
	loaded_t l;
	if (load(id, &l, err) < 0)
		return -1;
	int code, rc = -1;
	bool running = container_read_exit(&l.c, &code) != 1;
	ctrk_error_t ignored;
	cleanup_json cJSON *d = NULL;
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
	rundir_remove_cgroups(id);
	/* The tombstone first: once the record is gone, it is all that says
	 * what the container was made of. */
	d = cJSON_Duplicate(l.record, true);
	cJSON_DeleteItemFromObjectCaseSensitive(d, "container");
	if (container_bury(&l.c, d, err) < 0 || container_remove(&l.c, err) < 0)
		goto out;
	rc = print ? ctrk_descriptor_write(STDOUT_FILENO, d, err) : 0;
out:
	unload(&l);
	return rc;
}

/* Has the container ended?  The owner records the exit; without an owner
 * (its supervisor was killed) the runtime tells. */
static bool
ended(loaded_t *l)
{
	int code;
	if (container_read_exit(&l->c, &code) == 1)
		return true;
	if (container_owned(&l->c))
		return false;
	ctrk_error_t ignored;
	cleanup_json cJSON *st = runtime_state(&l->rt, l->c.id, &ignored);
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "status"));
	return !st || (status && strcmp(status, "stopped") == 0);
}

/* Wait up to SECS seconds for the container to end. */
static bool
ended_within(loaded_t *l, long secs)
{
	for (long i = 0; i <= secs * 20; i++) {
		if (ended(l))
			return true;
		if (i < secs * 20)
			nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	}
	return false;
}

/* The signal that asks the image's process to stop: its StopSignal, else
 * SIGTERM (as docker stop does). */
static int
stop_signal(const cJSON *record, int *sig, ctrk_error_t *err)
{
	const cJSON *config = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(record, "image"), "config");
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(config, "StopSignal"));
	*sig = SIGTERM;
	if (name && parse_signal(name, sig, err) < 0)
		return ctrk_error_wrap(err, "the image's StopSignal");
	return 0;
}

static int
kill_with(loaded_t *l, int sig, ctrk_error_t *err)
{
	char num[16];
	snprintf(num, sizeof num, "%d", sig);
	const char *args[] = {"kill", l->c.id, num, NULL};
	/* It may have ended in between: then there is nothing to kill. */
	if (runtime_call(&l->rt, args, NULL, err) < 0 && !ended(l))
		return -1;
	return 0;
}

int
cmd_stop(const char *id, long timeout, ctrk_error_t *err)
{
	loaded_t l;
	if (load(id, &l, err) < 0)
		return -1;
	int sig, rc = -1;
	if (ended(&l)) {
		rc = 0;
		goto out;
	}
	if (stop_signal(l.record, &sig, err) < 0 || kill_with(&l, sig, err) < 0)
		goto out;
	if (ended_within(&l, timeout)) {
		rc = 0;
		goto out;
	}
	if (kill_with(&l, SIGKILL, err) < 0)
		goto out;
	/* SIGKILL cannot be ignored; the owner needs a moment to record it. */
	if (ended_within(&l, 10))
		rc = 0;
	else
		ctrk_error_set(err, 0, "container '%s' did not end after SIGKILL", id);
out:
	unload(&l);
	return rc;
}
