#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

/* Mark every descriptor from FIRST up close-on-exec, keeping them open
 * until exec (the exec-error pipe is among them). */
static void
cloexec_from(int first)
{
	if (syscall(SYS_close_range, (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	long max = sysconf(_SC_OPEN_MAX);
	for (int fd = first; fd < (max > 0 && max < INT_MAX ? max : 65536); fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
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
	cloexec_from(3 + s->keep_fds);

	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);

	if (s->setup && s->setup(s->setup_arg) < 0)
		child_fail(pipefd, 0);
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
