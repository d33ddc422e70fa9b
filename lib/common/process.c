#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

char *
ctrk_find_program(const char *name)
{
	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? ctrk_xstrdup(name) : NULL;
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		char *p = ctrk_strdup_printf("%.*s/%s", (int)n, n ? path : ".", name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
		path += n + (path[n] == ':');
	}
	return NULL;
}

int
ctrk_exit_code(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int
ctrk_wait(pid_t pid, int *status, ctrk_error_t *err)
{
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return ctrk_error_errno(err, "cannot wait for process %d", (int)pid);
	}
	return 0;
}

/* close_range(FIRST, LAST, FLAGS), or one by one where the kernel lacks it
 * (before 5.9): closed, or with CLOSE_RANGE_CLOEXEC marked close-on-exec
 * (kept open until exec; the exec-error pipe is among them). */
static void
close_range_compat(unsigned first, unsigned last, unsigned flags)
{
	if (first > last || syscall(SYS_close_range, first, last, flags) == 0)
		return;
	long max = sysconf(_SC_OPEN_MAX);
	unsigned end = max > 0 && max < INT_MAX ? (unsigned)max : 65536;
	for (unsigned fd = first; fd <= last && fd < end; fd++) {
		if (flags & CLOSE_RANGE_CLOEXEC)
			fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		else
			close((int)fd);
	}
}

static int
int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

void
ctrk_close_fds_except(const int *keep, size_t n)
{
	int sorted[64];
	size_t k = 0;
	for (size_t i = 0; i < n && k < sizeof sorted / sizeof *sorted; i++)
		if (keep[i] >= 3)
			sorted[k++] = keep[i];
	qsort(sorted, k, sizeof *sorted, int_cmp);
	unsigned from = 3;
	for (size_t i = 0; i < k; i++) {
		if ((unsigned)sorted[i] > from)
			close_range_compat(from, (unsigned)sorted[i] - 1, 0);
		if ((unsigned)sorted[i] >= from)
			from = (unsigned)sorted[i] + 1;
	}
	close_range_compat(from, ~0U, 0);
}

/* What the child sends back through the exec-error pipe. */
struct spawn_failure {
	int errnum;
	int stage; /* 0: setup, 1: exec, 2: stdio */
};

static void __attribute__((noreturn))
child_fail(int pipefd, int stage)
{
	struct spawn_failure f = {errno, stage};
	if (write(pipefd, &f, sizeof f) < 0) {
		/* Nothing else to tell anybody. */
	}
	_exit(127);
}

static void __attribute__((noreturn))
child_exec(const ctrk_spawn_t *s, const char *program, int pipefd)
{
	/* The pipe must not sit where a passed descriptor or stdio goes. */
	if (pipefd < 3 + s->keep_fds) {
		int moved = fcntl(pipefd, F_DUPFD_CLOEXEC, 3 + s->keep_fds);
		if (moved < 0)
			_exit(127);
		pipefd = moved;
	}
	for (int i = 0; i < 3; i++) {
		if (s->stdio[i] < 0)
			continue;
		if (s->stdio[i] == i) {
			if (fcntl(i, F_SETFD, 0) < 0)
				child_fail(pipefd, 2);
		} else if (dup2(s->stdio[i], i) < 0)
			child_fail(pipefd, 2);
	}
	for (int fd = 3; fd < 3 + s->keep_fds; fd++)
		fcntl(fd, F_SETFD, 0);
	close_range_compat(3 + (unsigned)s->keep_fds, ~0U, CLOSE_RANGE_CLOEXEC);

	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);

	/* Its own group, for the deadline to kill what it starts too. */
	if (s->timeout_ms > 0 && setpgid(0, 0) < 0)
		child_fail(pipefd, 0);
	if (s->setup && s->setup(s->setup_arg) < 0)
		child_fail(pipefd, 0);
	if (s->envp)
		execve(program, s->argv, s->envp);
	else
		execv(program, s->argv);
	child_fail(pipefd, 1);
}

pid_t
ctrk_spawn(const ctrk_spawn_t *s, ctrk_error_t *err)
{
	cleanup_free char *program = ctrk_find_program(s->argv[0]);
	if (!program)
		return ctrk_error_set(err, ENOENT, "cannot run '%s'", s->argv[0]);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return ctrk_error_errno(err, "cannot make a pipe");
	pid_t pid = fork();
	if (pid < 0) {
		ctrk_error_errno(err, "cannot fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		child_exec(s, program, p[1]);
	}
	close(p[1]);
	struct spawn_failure f;
	ssize_t n;
	while ((n = read(p[0], &f, sizeof f)) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (n <= 0)
		return pid; /* the exec happened and closed the pipe */
	int status;
	ctrk_error_t ignored;
	ctrk_wait(pid, &status, &ignored);
	if (n != sizeof f)
		return ctrk_error_set(err, 0, "cannot run '%s'", program);
	if (f.stage == 0)
		return ctrk_error_set(err, f.errnum, "%s", s->setup_what ? s->setup_what : "cannot set up the child");
	if (f.stage == 2)
		return ctrk_error_set(err, f.errnum, "cannot set up the standard streams of '%s'", program);
	return ctrk_error_set(err, f.errnum, "cannot run '%s'", program);
}

static void
close_fds(int fds[3])
{
	for (int i = 0; i < 3; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static long long
monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll()'s timeout until DEADLINE (a monotonic_ms() time; 0: none). */
static int
poll_timeout(long long deadline)
{
	if (!deadline)
		return -1;
	long long left = deadline - monotonic_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

static int
timed_out(const char *name, int timeout_ms, ctrk_error_t *err)
{
	ctrk_error_set(err, 0, "'%s' did not finish in %g s and was killed", name, timeout_ms / 1000.0);
	err->errnum = ETIMEDOUT;
	return -1;
}

/* Feed IN to FDS[0] and read FDS[1] and FDS[2] into BUF, each to its end,
 * closing each descriptor once done with it.  Sets *EPIPE_SEEN when the
 * child closed its stdin early.  Fails with ETIMEDOUT at DEADLINE. */
/* BUF grown to CAP bytes; a secret is moved by hand so that no copy of it
 * is left in freed memory. */
static char *
grow(char *buf, size_t len, size_t cap, bool secret)
{
	if (!secret)
		return ctrk_xrealloc(buf, cap);
	char *bigger = ctrk_xmalloc(cap);
	if (buf) {
		memcpy(bigger, buf, len);
		explicit_bzero(buf, len);
		free(buf);
	}
	return bigger;
}

static int
pump(const ctrk_spawn_t *s, int fds[3], const char *in, size_t inlen, size_t max, char *buf[3], size_t len[3],
     bool *epipe_seen, long long deadline, ctrk_error_t *err)
{
	const char *name = s->argv[0];
	size_t off = 0, cap[3] = {0, 0, 0};
	while (fds[0] >= 0 || fds[1] >= 0 || fds[2] >= 0) {
		struct pollfd p[3];
		for (int i = 0; i < 3; i++)
			p[i] = (struct pollfd){.fd = fds[i], .events = i == 0 ? POLLOUT : POLLIN};
		int n = poll(p, 3, poll_timeout(deadline));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ctrk_error_errno(err, "cannot poll the pipes of '%s'", name);
		}
		if (n == 0)
			return timed_out(name, s->timeout_ms, err);
		if (p[0].revents) {
			/* Non-blocking: a full pipe must not stop us reading. */
			ssize_t n = write(fds[0], in + off, inlen - off);
			if (n >= 0)
				off += (size_t)n;
			else if (errno == EPIPE)
				*epipe_seen = true; /* it does not want the rest */
			else if (errno != EINTR && errno != EAGAIN)
				return ctrk_error_errno(err, "cannot write to '%s'", name);
			if (off == inlen || *epipe_seen) {
				close(fds[0]);
				fds[0] = -1;
			}
		}
		for (int i = 1; i < 3; i++) {
			if (!p[i].revents)
				continue;
			if (len[i] == cap[i]) {
				/* Room for one byte more than MAX, to see it. */
				cap[i] = cap[i] ? cap[i] * 2 : 4096;
				if (cap[i] - 1 > max)
					cap[i] = max + 1;
				buf[i] = grow(buf[i], len[i], cap[i] + 1, s->secret_output);
			}
			ssize_t n = read(fds[i], buf[i] + len[i], cap[i] - len[i]);
			if (n > 0)
				len[i] += (size_t)n;
			else if (n == 0) {
				close(fds[i]);
				fds[i] = -1;
			} else if (errno != EINTR)
				return ctrk_error_errno(err, "cannot read the output of '%s'", name);
			if (len[i] > max)
				return ctrk_error_set(err, EFBIG, "%s of '%s' larger than %zu bytes",
						      i == 1 ? "output" : "error output", name, max);
		}
	}
	return 0;
}

/* Wait until PID has exited (without reaping it) or DEADLINE passed: 0
 * when it exited, -1 at the deadline.  It has closed its output already, so
 * it is normally exiting: look at once, then at growing intervals up to
 * 10 ms (a pidfd would poll, but valgrind does not know pidfd_open). */
static int
wait_until(pid_t pid, long long deadline)
{
	long nap_ns = 500000;
	for (;;) {
		siginfo_t si = {0};
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
			return 0;
		if (poll_timeout(deadline) == 0)
			return -1;
		struct timespec ts = {0, nap_ns};
		nanosleep(&ts, NULL);
		if (nap_ns < 10000000)
			nap_ns *= 2;
	}
}

int
ctrk_spawn_capture(const ctrk_spawn_t *s, const char *in, size_t inlen, size_t max, char **out,
		   size_t *outlen, char **err_out, int *status, ctrk_error_t *err)
{
	const char *name = s->argv[0];
	bool piped[3] = {in != NULL, out != NULL, err_out != NULL};
	/* Our ends of the pipes (stdin's write end, stdout's and stderr's read
	 * ends), and the child's. */
	int ours[3] = {-1, -1, -1}, theirs[3] = {-1, -1, -1};
	char *buf[3] = {NULL, NULL, NULL};
	size_t len[3] = {0, 0, 0};
	bool epipe_seen = false;
	int rc = -1;
	ctrk_spawn_t sp = *s;
	if (!in && s->stdio[0] < 0) {
		theirs[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (theirs[0] < 0) {
			ctrk_error_errno(err, "cannot open /dev/null");
			goto out;
		}
		sp.stdio[0] = theirs[0];
	}
	for (int i = 0; i < 3; i++) {
		int p[2];
		if (!piped[i])
			continue;
		if (pipe2(p, O_CLOEXEC) < 0) {
			ctrk_error_errno(err, "cannot make a pipe");
			goto out;
		}
		ours[i] = p[i == 0];
		theirs[i] = p[i != 0];
		sp.stdio[i] = theirs[i];
	}
	if (ours[0] >= 0 && fcntl(ours[0], F_SETFL, O_NONBLOCK) < 0) {
		ctrk_error_errno(err, "cannot make a pipe non-blocking");
		goto out;
	}
	pid_t pid = ctrk_spawn(&sp, err);
	close_fds(theirs);
	if (pid < 0)
		goto out;
	if (ours[0] >= 0 && inlen == 0) {
		close(ours[0]);
		ours[0] = -1;
	}

	/* A write to a pipe whose reader is gone raises SIGPIPE, which
	 * kills unless ignored (the tools ignore it, see ctrk_cli_init()):
	 * block it and take back the one we caused, so that any caller is
	 * safe. */
	sigset_t sigpipe, saved, pending;
	sigemptyset(&sigpipe);
	sigaddset(&sigpipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &sigpipe, &saved);
	bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	long long deadline = s->timeout_ms > 0 ? monotonic_ms() + s->timeout_ms : 0;
	rc = pump(s, ours, in, inlen, max, buf, len, &epipe_seen, deadline, err);
	if (epipe_seen && !was_pending) {
		const struct timespec now = {0, 0};
		while (sigtimedwait(&sigpipe, NULL, &now) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);

	/* Closed before the wait: a child still writing gets EPIPE, not a
	 * hang (after an error, or output over MAX). */
	close_fds(ours);
	if (deadline && (rc < 0 || wait_until(pid, deadline) < 0)) {
		if (rc == 0)
			rc = timed_out(name, s->timeout_ms, err);
		/* Past the deadline, or failed: the group goes, and nothing
		 * it started outlives the call. */
		kill(-pid, SIGKILL);
	}
	ctrk_error_t ignored;
	if (ctrk_wait(pid, status, rc < 0 ? &ignored : err) < 0)
		rc = -1;
	if (rc == 0) {
		for (int i = 1; i < 3; i++) {
			if (!piped[i])
				continue;
			if (!buf[i])
				buf[i] = ctrk_xmalloc(1);
			buf[i][len[i]] = '\0';
		}
		if (out)
			*out = steal_pointer(&buf[1]);
		if (outlen)
			*outlen = len[1];
		if (err_out)
			*err_out = steal_pointer(&buf[2]);
	}
out:
	close_fds(ours);
	close_fds(theirs);
	for (int i = 0; i < 3; i++) {
		if (buf[i] && s->secret_output)
			explicit_bzero(buf[i], len[i]);
		free(buf[i]);
	}
	return rc;
}
