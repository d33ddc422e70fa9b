/* run, config and exec: everything that starts a process. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "checks.h"
#include "cmd.h"
#include "container.h"
#include "descriptor.h"
#include "fsutil.h"
#include "inuse.h"
#include "json.h"
#include "lock.h"
#include "owner.h"
#include "paths.h"
#include "process.h"
#include "runtime.h"
#include "spec.h"
#include "rundir.h"
#include "statedir.h"

/* The descriptor and the root file system of a container: --rootfs (stdin
 * then belongs to the container), or the descriptor's rootfs. */
static cJSON *
read_input(const run_opts_t *o, char **rootfs, ctrk_error_t *err)
{
	cleanup_json cJSON *d = NULL;
	const char *path = o->rootfs;
	if (path)
		d = ctrk_descriptor_new();
	else {
		if (!(d = ctrk_descriptor_read(STDIN_FILENO, false, err)))
			return NULL;
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(d, "rootfs");
		if (!cJSON_IsString(r))
			return ctrk_error_set(err, 0, "the descriptor has no 'rootfs': mount one with ctrk-mount, "
						      "or give --rootfs"),
			       NULL;
		path = r->valuestring;
	}
	char buf[PATH_MAX];
	if (!realpath(path, buf))
		return ctrk_error_errno(err, "cannot use root file system '%s'", path), NULL;
	*rootfs = ctrk_xstrdup(buf);
	return steal_pointer(&d);
}

int
cmd_config(const run_opts_t *o, ctrk_error_t *err)
{
	cleanup_free char *rootfs = NULL;
	cleanup_json cJSON *d = read_input(o, &rootfs, err);
	if (!d)
		return -1;
	cleanup_json cJSON *config = spec_build(o, d, rootfs, err);
	if (!config)
		return -1;
	return ctrk_json_write_fd(STDOUT_FILENO, config, true, err);
}

static cJSON *
container_object(const run_opts_t *o, const container_t *c, const runtime_t *rt, const char *rootfs)
{
	cJSON *ct = cJSON_CreateObject();
	cJSON_AddStringToObject(ct, "id", c->id);
	cJSON_AddStringToObject(ct, "bundle", c->dir);
	cJSON_AddStringToObject(ct, "rootfs", rootfs);
	cJSON_AddStringToObject(ct, "status", "created");
	cJSON_AddStringToObject(ct, "runtime", rt->path);
	if (rt->root)
		cJSON_AddStringToObject(ct, "runtimeRoot", rt->root);
	cleanup_free char *now = container_now();
	cJSON_AddStringToObject(ct, "created", now);
	cJSON_AddBoolToObject(ct, "detached", o->detach);
	return ct;
}

/* One start: what it runs, and what it holds while the container lives. */
typedef struct start {
	const run_opts_t *o;
	const runtime_t *rt;
	const container_t *c;
	cJSON *record; /* the descriptor with "container" */
	int hold;      /* the state directory, shared (rundir_hold) */
	int rootfs_lock; /* the root file system (inuse_lock_rootfs); -1 with --force */
	int lock;        /* the container's lock (two runs of one id) */
} start_t;

/* Let go of what the owner holds while the container lives. */
static void
release(start_t *s)
{
	if (s->hold >= 0)
		close(s->hold);
	if (s->rootfs_lock >= 0)
		close(s->rootfs_lock);
	s->hold = s->rootfs_lock = -1;
}

/* The runtime refused the start because it has a container of that id:
 * that container is not ours, and is left alone. */
static bool
refused_as_taken(const ctrk_error_t *err)
{
	return strstr(err->msg, "already exists") != NULL;
}

/* A start failed: take down what this start made — the runtime's
 * container unless the runtime refused it as taken (it is then someone
 * else's), our files, and the cgroups when no other container needs them. */
static void
undo_start(start_t *s, bool runtime_made)
{
	ctrk_error_t ignored;
	const char *args[] = {"delete", "--force", s->c->id, NULL};
	if (runtime_made) {
		runtime_call(s->rt, args, NULL, &ignored);
		/* The container was ours and is gone, but the rootfs and the
		 * snapshot of its descriptor are still there: keep the
		 * descriptor as a tombstone, so that `ctrk-run delete ID |
		 * ctrk-mount --unmount | ctrk-snap remove` takes them down as
		 * after any other end (ctrk-descriptor(5), TEARDOWN). */
		cleanup_json cJSON *d = cJSON_Duplicate(s->record, true);
		cJSON_DeleteItemFromObjectCaseSensitive(d, "container");
		if (d)
			container_bury(s->c, d, &ignored);
	}
	container_remove(s->c, &ignored);
	release(s);
	if (runtime_made)
		rundir_remove_cgroups(s->c->id);
}

/* The owner's life after a successful start: record the pid, wait, remove
 * the runtime's container, record the exit.  *CODE is run's exit code when
 * the runtime turns out to have failed after all. */
static int
own(start_t *s, owner_t *ow, int *status, int *code, ctrk_error_t *err)
{
	const container_t *c = s->c;
	cJSON *record = s->record;
	cJSON *ct = cJSON_GetObjectItemCaseSensitive(record, "container");
	/* With runtime_waits the pid is the runtime's: `state` asks it. */
	if (!ow->runtime_waits)
		ctrk_json_set(ct, "pid", cJSON_CreateNumber(ow->pid));
	if (container_set_status(c, record, "running", -1, err) < 0)
		return -1;
	if (owner_wait(ow, status, code, err) < 0) {
		if (*code != RUN_EXIT_FAILED || ow->runtime_waits)
			undo_start(s, !refused_as_taken(err));
		return -1;
	}
	ctrk_error_t ignored;
	const char *args[] = {"delete", "--force", c->id, NULL};
	if (!ow->runtime_waits && runtime_call(ow->rt, args, NULL, err) < 0)
		ctrk_warn("%s", err->msg); /* the state stays for `delete --force` */
	release(s);
	rundir_remove_cgroups(NULL);
	if (s->o->rm)
		return container_remove(c, err);
	if (container_write_exit(c, *status, err) < 0)
		return -1;
	container_set_status(c, record, "stopped", ctrk_exit_code(*status), &ignored);
	return 0;
}

static int
run_foreground(start_t *s, int *code, ctrk_error_t *err)
{
	const run_opts_t *o = s->o;
	owner_t ow = {
		.rt = s->rt, .c = s->c, .tty = o->tty, .stdio = {0, 1, 2}, .term_in = -1, .term_out = STDOUT_FILENO,
		.keep_fds = (int)o->preserve_fds, .stop_timeout = o->stop_timeout, .runtime_waits = !o->tty,
	};
	cleanup_close int devtty = -1;
	if (o->tty) {
		/* The descriptor came on stdin: the terminal is still there. */
		if (isatty(STDIN_FILENO))
			ow.term_in = STDIN_FILENO;
		else if ((devtty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) >= 0)
			ow.term_in = devtty;
	}
	int status = 0, rc = -1;
	if (owner_prepare(&ow, err) < 0 || owner_start(&ow, code, err) < 0) {
		owner_finish(&ow);
		undo_start(s, !refused_as_taken(err));
		if (*code == 0)
			*code = RUN_EXIT_FAILED;
		return ctrk_error_wrap(err, "starting container '%s'", s->c->id);
	}
	*code = RUN_EXIT_FAILED;
	rc = own(s, &ow, &status, code, err);
	owner_finish(&ow);
	if (rc < 0)
		return ctrk_error_wrap(err, "starting container '%s'", s->c->id);
	*code = ctrk_exit_code(status);
	return 0;
}

/* What the supervisor tells the command that forked it. */
struct start_report {
	int code; /* 0 started; else run's exit code */
	char msg[CTRK_ERROR_MAX];
};

static void __attribute__((noreturn))
supervise(start_t *s, int report)
{
	const container_t *c = s->c;
	ctrk_error_t err = {0};
	struct start_report rep = {RUN_EXIT_FAILED, ""};
	int status, code = RUN_EXIT_FAILED;
	/* Nothing of the caller's may stay open here: `ctrk-run run -d | jq`
	 * must end when ctrk-run does. */
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int log = open(c->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (devnull < 0 || log < 0 || setsid() < 0 || dup2(devnull, 0) < 0 || dup2(log, 1) < 0 ||
	    dup2(log, 2) < 0) {
		ctrk_error_errno(&err, "cannot set up the supervisor");
		goto fail;
	}
	/* Nor any other descriptor it inherited (a shell's `exec 7>file`, a
	 * harness's pipe): it lives as long as the container.  Kept: what
	 * this start opened itself. */
	int keep[] = {report, devnull, log, s->hold, s->rootfs_lock, s->lock};
	ctrk_close_fds_except(keep, sizeof keep / sizeof *keep);
	owner_t ow = {
		.rt = s->rt, .c = c, .tty = s->o->tty, .stdio = {0, 1, 2}, .term_in = -1, .term_out = log,
		.keep_fds = 0, .stop_timeout = s->o->stop_timeout,
	};
	if (owner_prepare(&ow, &err) < 0 || owner_start(&ow, &code, &err) < 0) {
		owner_finish(&ow);
		undo_start(s, !refused_as_taken(&err));
		goto fail;
	}
	cJSON *ct = cJSON_GetObjectItemCaseSensitive(s->record, "container");
	ctrk_json_set(ct, "pid", cJSON_CreateNumber(ow.pid));
	ctrk_json_set(ct, "status", cJSON_CreateString("running"));
	if (container_save(c, s->record, &err) < 0) {
		owner_finish(&ow);
		undo_start(s, true);
		goto fail;
	}
	rep.code = 0;
	if (write(report, &rep, sizeof rep) != sizeof rep) {
		/* The command is gone; the container runs on regardless. */
	}
	close(report);
	if (own(s, &ow, &status, &code, &err) < 0)
		fprintf(stderr, "ctrk-run: error: supervising container '%s': %s\n", c->id, err.msg);
	owner_finish(&ow);
	_exit(0);
fail:
	rep.code = code ? code : RUN_EXIT_FAILED;
	snprintf(rep.msg, sizeof rep.msg, "%s", err.msg);
	if (write(report, &rep, sizeof rep) != sizeof rep) {
		/* Nobody to tell. */
	}
	_exit(1);
}

static int
run_detached(start_t *s, int *code, ctrk_error_t *err)
{
	int p[2];
	*code = RUN_EXIT_FAILED;
	if (pipe2(p, O_CLOEXEC) < 0)
		return ctrk_error_errno(err, "cannot make a pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return ctrk_error_errno(err, "cannot fork the supervisor");
	}
	if (pid == 0) {
		close(p[0]);
		supervise(s, p[1]);
	}
	close(p[1]);
	/* The supervisor holds the state directory and the rootfs now. */
	release(s);
	struct start_report rep;
	ssize_t n;
	while ((n = read(p[0], &rep, sizeof rep)) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (n != sizeof rep) {
		undo_start(s, true);
		return ctrk_error_set(err, 0, "the supervisor of '%s' died before the container started", s->c->id);
	}
	if (rep.code) {
		/* The supervisor undid its start; the cgroup parent may have
		 * been ours still when it tried. */
		rundir_remove_cgroups(s->c->id);
		*code = rep.code;
		return ctrk_error_set(err, 0, "starting container '%s': %s", s->c->id, rep.msg);
	}
	/* The supervisor saved the record with the pid. */
	cleanup_json cJSON *saved = container_load(s->c, err);
	if (!saved)
		return -1;
	*code = 0;
	return ctrk_descriptor_write(STDOUT_FILENO, saved, err);
}

/* FD moved to MIN_FD or above (see inuse_fd_above); -1 as FD is passed on
 * with its error. */
static int
above(int fd, int min_fd, ctrk_error_t *err)
{
	if (fd < 0)
		return -1;
	int moved = inuse_fd_above(fd, min_fd);
	if (moved < 0)
		ctrk_error_errno(err, "cannot move a descriptor above %d", min_fd);
	return moved;
}

/* The runtime has a container ID in its state root already (one that a
 * crash left, or another user of a shared --runtime-root): runc, crun and
 * youki keep one directory per container there. */
static bool
runtime_has(const runtime_t *rt, const char *id)
{
	if (!rt->root)
		return false;
	cleanup_free char *path = ctrk_strdup_printf("%s/%s", rt->root, id);
	return ctrk_path_exists(path);
}

static int
create_and_start(const run_opts_t *o, const runtime_t *rt, const container_t *c, int *code, ctrk_error_t *err)
{
	cleanup_free char *rootfs = NULL;
	cleanup_json cJSON *d = read_input(o, &rootfs, err);
	cleanup_json cJSON *config = d ? spec_build(o, d, rootfs, err) : NULL;
	if (!config || ctrk_private_dir(ctrk_default_run(), c->id, err) < 0)
		return -1;
	/* The lock makes two `run`s of one id exclusive; the owner keeps it
	 * (a detached supervisor inherits it across fork). */
	int min_fd = 3 + (int)o->preserve_fds; /* none may reach the container */
	cleanup_close int lock = above(ctrk_lock_file_try(c->lock, true, err), min_fd, err);
	if (lock < 0) {
		if (err->errnum == EWOULDBLOCK)
			ctrk_error_set(err, 0, "container '%s' already exists and is running", o->id);
		return -1;
	}
	if (ctrk_path_exists(c->record))
		return ctrk_error_set(err, 0, "container '%s' already exists (delete it first)", o->id);
	if (runtime_has(rt, o->id))
		return ctrk_error_set(err, 0,
				      "%s already has a container '%s' in '%s', which ctrk-run did not start "
				      "here: left alone",
				      rt->name, o->id, rt->root);
	/* One container per rootfs, unless --force: taken before the runtime
	 * starts, held by the owner until the container has ended. */
	start_t s = {.o = o, .rt = rt, .c = c, .record = d, .hold = -1, .rootfs_lock = -1, .lock = lock};
	if (!o->force && (s.rootfs_lock = inuse_lock_rootfs(rootfs, min_fd, err)) < 0) {
		undo_start(&s, false);
		return -1;
	}
	if ((s.hold = above(rundir_hold(err), min_fd, err)) < 0) {
		undo_start(&s, false);
		return -1;
	}
	cleanup_free char *text = ctrk_json_render(config, true);
	/* exec reads it back, with this bound. */
	if (strlen(text) > RUN_CONFIG_MAX) {
		ctrk_error_set(err, 0, "the container's config.json would be %zu bytes, more than %u", strlen(text),
			       RUN_CONFIG_MAX);
		undo_start(&s, false);
		return -1;
	}
	if (container_write_file(c, c->config, text, err) < 0) {
		undo_start(&s, false);
		return -1;
	}
	/* The runtime appends to its log, keeping the mode of one that exists:
	 * 0600, whatever the umask.  Closed at once: an fd held here could
	 * take a number in the --preserve-fds range. */
	int rtlog = open(c->runtime_log, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (rtlog < 0 || fchmod(rtlog, 0600) < 0) {
		ctrk_error_errno(err, "cannot create '%s'", c->runtime_log);
		if (rtlog >= 0)
			close(rtlog);
		undo_start(&s, false);
		return -1;
	}
	close(rtlog);
	unlink(c->exit);
	ctrk_json_set(d, "container", container_object(o, c, rt, rootfs));
	if (container_save(c, d, err) < 0) {
		undo_start(&s, false);
		return -1;
	}
	/* A tombstone is for teardown run again: this id lives again. */
	unlink(c->tombstone);
	int rc = o->detach ? run_detached(&s, code, err) : run_foreground(&s, code, err);
	release(&s);
	return rc;
}

int
cmd_run(const run_opts_t *o, int *code, ctrk_error_t *err)
{
	*code = RUN_EXIT_FAILED;
	runtime_t rt;
	container_t c = {0};
	if (runtime_open(o->runtime, o->runtime_root, &rt, err) < 0)
		return -1;
	/* By default the runtime keeps its state in this state directory:
	 * another $CTRK_RUN's containers are not even visible to it. */
	int rc = 0;
	if (!rt.root && !(rt.root = rundir_runtime_root(rt.name, err)))
		rc = -1;
	if (rc == 0)
		rc = container_init(o->id, &c, err);
	if (rc == 0)
		rc = create_and_start(o, &rt, &c, code, err);
	container_free(&c);
	runtime_free(&rt);
	return rc;
}

static bool
stopped(const container_t *c)
{
	int code;
	return container_read_exit(c, &code) == 1;
}

/* Start PROCESS_FILE in the running container C and, unless detached, wait
 * for it. */
static int
exec_process(const run_opts_t *o, const runtime_t *rt, const container_t *c, const char *process_file, int *code,
	     ctrk_error_t *err)
{
	/* Each exec has its own pid file and console socket. */
	container_t ec = *c;
	cleanup_free char *pidfile = ctrk_strdup_printf("%s.pid", process_file);
	cleanup_free char *console = ctrk_strdup_printf("%s/exec-%d.sock", c->dir, (int)getpid());
	ec.pidfile = pidfile;
	ec.console = console;
	owner_t ow = {
		.rt = rt, .c = &ec, .process_file = process_file, .tty = o->tty, .stdio = {0, 1, 2},
		.term_in = o->tty ? STDIN_FILENO : -1, .term_out = STDOUT_FILENO,
		.keep_fds = (int)o->preserve_fds, .stop_timeout = o->stop_timeout,
	};
	cleanup_close int devnull = -1;
	if (o->detach) {
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		ow.stdio[0] = ow.stdio[1] = ow.stdio[2] = devnull;
		ow.tty = false;
	}
	int status, rc = -1;
	if (owner_prepare(&ow, err) < 0 || owner_start(&ow, code, err) < 0) {
		ctrk_error_wrap(err, "exec in container '%s'", o->id);
	} else if (o->detach) {
		*code = 0;
		rc = 0;
	} else if (owner_wait(&ow, &status, code, err) == 0) {
		*code = ctrk_exit_code(status);
		rc = 0;
	}
	owner_finish(&ow);
	unlink(pidfile);
	unlink(console);
	return rc;
}

static int
exec_in(const run_opts_t *o, const container_t *c, char **args, size_t nargs, int *code, ctrk_error_t *err)
{
	cleanup_json cJSON *record = container_load(c, err);
	cleanup_json cJSON *config = record ? ctrk_json_read_file(c->config, RUN_CONFIG_MAX, err) : NULL;
	cleanup_json cJSON *process = config ? spec_exec_process(config, o, args, nargs, err) : NULL;
	if (!process)
		return -1;
	if (stopped(c))
		return ctrk_error_set(err, 0, "container '%s' is not running", o->id);
	runtime_t rt;
	if (runtime_open_recorded(record, &rt, err) < 0)
		return -1;
	cleanup_free char *text = ctrk_json_render(process, false);
	cleanup_free char *process_file = NULL;
	cleanup_close int fd = ctrk_tmpfile_in(c->dir, "process.json", &process_file, err);
	int rc = -1;
	if (fd >= 0 && ctrk_write_all(fd, text, strlen(text), err) == 0)
		rc = exec_process(o, &rt, c, process_file, code, err);
	if (process_file)
		unlink(process_file);
	runtime_free(&rt);
	return rc;
}

int
cmd_exec(const run_opts_t *o, char **args, size_t nargs, int *code, ctrk_error_t *err)
{
	*code = RUN_EXIT_FAILED;
	container_t c = {0};
	if (container_init(o->id, &c, err) < 0)
		return -1;
	int rc = exec_in(o, &c, args, nargs, code, err);
	container_free(&c);
	return rc;
}
