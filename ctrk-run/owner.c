#include "owner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "process.h"
#include "run.h"

/* Signals that go on to the process.  SIGINT, SIGTERM, SIGHUP and SIGQUIT
 * also mean "stop": if the process outlives them by the stop timeout (a
 * container's init ignores signals it has no handler for), it is killed. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGALRM, SIGPWR};

static bool
stops(int sig)
{
	return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT;
}

int
owner_prepare(owner_t *o, ctrk_error_t *err)
{
	o->sigfd = o->master = -1;
	o->raw.fd = -1;
	o->pid = 0;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return ctrk_error_errno(err, "cannot become a subreaper");
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &set, &o->saved_mask) < 0)
		return ctrk_error_errno(err, "cannot block signals");
	o->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (o->sigfd < 0)
		return ctrk_error_errno(err, "cannot make a signalfd");
	return 0;
}

void
owner_finish(owner_t *o)
{
	tty_restore(&o->raw);
	if (o->master >= 0)
		close(o->master);
	if (o->sigfd >= 0) {
		close(o->sigfd);
		sigprocmask(SIG_SETMASK, &o->saved_mask, NULL);
	}
	o->master = o->sigfd = -1;
}

static long long
file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static int
read_pid(const char *path, pid_t *pid, ctrk_error_t *err)
{
	cleanup_free char *buf = NULL;
	size_t len;
	if (ctrk_read_file(path, 64, &buf, &len, err) < 0)
		return ctrk_error_wrap(err, "the runtime wrote no pid file");
	char *end;
	long v = strtol(buf, &end, 10);
	if (end == buf || v <= 0 || (*end && *end != '\n'))
		return ctrk_error_set(err, 0, "the runtime's pid file '%s' holds no pid", path);
	*pid = (pid_t)v;
	return 0;
}

/* The runtime exited with STATUS before the process ran: its own message,
 * and what it means for the exit code. */
static int
start_failed(const owner_t *o, int status, int *exit_code, ctrk_error_t *err)
{
	cleanup_free char *msg = runtime_log_error(o->c->runtime_log, o->log_offset);
	*exit_code = runtime_start_exit_code(msg);
	/* runc names itself in its messages, crun does not. */
	if (msg && strncmp(msg, o->rt->name, strlen(o->rt->name)) == 0)
		return ctrk_error_set(err, 0, "%s", msg);
	if (msg)
		return ctrk_error_set(err, 0, "%s: %s", o->rt->name, msg);
	return ctrk_error_set(err, 0, "%s failed with status %d", o->rt->name, ctrk_exit_code(status));
}

int
owner_start(owner_t *o, int *exit_code, ctrk_error_t *err)
{
	*exit_code = RUN_EXIT_FAILED;
	cleanup_close int console = -1, devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (o->tty && (console = tty_console_listen(o->c->console, err)) < 0)
		return -1;
	char keep[16];
	snprintf(keep, sizeof keep, "%d", o->keep_fds);
	const char *args[16];
	size_t n = 0;
	args[n++] = o->process_file ? "exec" : "run";
	if (!o->runtime_waits)
		args[n++] = "-d";
	args[n++] = "--pid-file";
	args[n++] = o->c->pidfile;
	if (o->process_file) {
		args[n++] = "--process";
		args[n++] = o->process_file;
	} else {
		args[n++] = "--bundle";
		args[n++] = o->c->dir;
	}
	if (o->tty) {
		args[n++] = "--console-socket";
		args[n++] = o->c->console;
	}
	if (o->keep_fds) {
		args[n++] = "--preserve-fds";
		args[n++] = keep;
	}
	args[n++] = o->c->id;
	args[n] = NULL;

	/* With a terminal the process's stdio is the pty: the runtime gets
	 * only stderr, for its own messages. */
	int stdio[3] = {o->stdio[0], o->stdio[1], o->stdio[2]};
	if (o->tty)
		stdio[0] = stdio[1] = devnull;
	unlink(o->c->pidfile);
	o->log_offset = file_size(o->c->runtime_log);
	pid_t rt = runtime_spawn(o->rt, o->c->runtime_log, args, stdio, o->keep_fds, err);
	if (rt < 0)
		return -1;
	if (o->runtime_waits) {
		o->pid = rt;
		*exit_code = 0;
		return 0;
	}
	int status;
	if (ctrk_wait(rt, &status, err) < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return start_failed(o, status, exit_code, err);
	if (read_pid(o->c->pidfile, &o->pid, err) < 0)
		return -1;
	if (o->tty) {
		if ((o->master = tty_console_receive(console, err)) < 0)
			return -1;
		unlink(o->c->console);
		fcntl(o->master, F_SETFL, fcntl(o->master, F_GETFL) | O_NONBLOCK);
		tty_copy_size(o->term_in >= 0 ? o->term_in : o->term_out, o->master);
		if (tty_make_raw(o->term_in, &o->raw, err) < 0)
			return -1;
	}
	*exit_code = 0;
	return 0;
}

/* Reap every child that has ended (runtime leftovers are reparented here
 * too); true when it was the process. */
static bool
reap(owner_t *o, int *status)
{
	bool done = false;
	pid_t p;
	int st;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p == o->pid) {
			*status = st;
			done = true;
		}
	}
	return done;
}

/* Copy what FROM has now to TO: one read, or until it would block when
 * DRAIN (FROM is then non-blocking; the user's stdin is left as it is).
 * Returns false at the end of FROM. */
static bool
relay(int from, int to, bool drain)
{
	char buf[16384];
	for (;;) {
		ssize_t n = read(from, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0) /* EIO: the last slave is closed */
			return false;
		ctrk_error_t ignored;
		if (to >= 0 && ctrk_write_all(to, buf, (size_t)n, &ignored) < 0)
			to = -1; /* nobody reads: keep draining */
		if (!drain)
			return true;
	}
}

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Whom a stop timeout kills: the process, or with runtime_waits the
 * container's process, which the runtime's pid file names. */
static void
kill_process(owner_t *o)
{
	pid_t pid = o->pid;
	ctrk_error_t ignored;
	if (o->runtime_waits && read_pid(o->c->pidfile, &pid, &ignored) < 0)
		pid = o->pid;
	kill(pid, SIGKILL);
}

int
owner_wait(owner_t *o, int *status, int *exit_code, ctrk_error_t *err)
{
	*exit_code = RUN_EXIT_FAILED;
	long long kill_at = 0;
	bool in_open = o->tty && o->term_in >= 0, master_open = o->master >= 0;
	for (;;) {
		if (reap(o, status))
			break;
		struct pollfd p[3] = {
			{.fd = o->sigfd, .events = POLLIN},
			{.fd = in_open ? o->term_in : -1, .events = POLLIN},
			{.fd = master_open ? o->master : -1, .events = POLLIN},
		};
		int timeout = -1;
		if (kill_at)
			timeout = (int)(kill_at > now_ms() ? kill_at - now_ms() : 0);
		int r = poll(p, 3, timeout);
		if (r < 0 && errno != EINTR)
			return ctrk_error_errno(err, "cannot poll");
		if (kill_at && now_ms() >= kill_at) {
			kill_process(o);
			kill_at = 0;
		}
		if (r <= 0)
			continue;
		struct signalfd_siginfo si;
		while (p[0].revents && read(o->sigfd, &si, sizeof si) == sizeof si) {
			int sig = (int)si.ssi_signo;
			if (sig == SIGCHLD)
				continue;
			if (sig == SIGWINCH) {
				tty_copy_size(o->term_in >= 0 ? o->term_in : o->term_out, o->master);
				continue;
			}
			/* The pid is our child and not yet reaped: it cannot
			 * have been reused. */
			kill(o->pid, sig);
			if (stops(sig) && !kill_at)
				kill_at = now_ms() + o->stop_timeout * 1000;
		}
		if (p[1].revents && !relay(o->term_in, o->master, false))
			in_open = false;
		if (p[2].revents && !relay(o->master, o->term_out, true))
			master_open = false;
	}
	/* What the process wrote last is still in the pty. */
	if (master_open)
		relay(o->master, o->term_out, true);
	/* The runtime writes the pid file once it has made the container: no
	 * pid file, no container, and its status is its own failure. */
	if (o->runtime_waits && !ctrk_path_exists(o->c->pidfile) &&
	    (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0))
		return start_failed(o, *status, exit_code, err);
	*exit_code = 0;
	return 0;
}
