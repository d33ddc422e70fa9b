/* ctrk_spawn_capture(): stdin fed and stdout and stderr collected together
 * without deadlock, the MAX limit, children that exit early or cannot be
 * started, signals, and no descriptor left behind.  SIGPIPE keeps its
 * default action here: the function must protect its caller itself. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.h"
#include "tap.h"

#define MIB (1u << 20)

struct result {
	int rc, status;
	char *out, *errs;
	size_t outlen;
	ctrk_error_t err;
};

static struct result
capture(char *const argv[], const char *in, size_t inlen, size_t max, bool want_err)
{
	struct result r = {0};
	ctrk_spawn_t s = {.argv = argv, .stdio = {-1, -1, -1}};
	r.rc = ctrk_spawn_capture(&s, in, inlen, max, &r.out, &r.outlen, want_err ? &r.errs : NULL, &r.status,
				  &r.err);
	if (r.rc < 0)
		printf("# %s\n", r.err.msg);
	return r;
}

static void
result_free(struct result *r)
{
	free(r->out);
	free(r->errs);
}

static bool
exited(int status, int code)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

static void
on_alarm(int sig)
{
	(void)sig;
}

/* A descriptor of /dev/null, close-on-exec. */
static int
open_null(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int
main(void)
{
	int fds = count_fds();
	sigset_t mask_before;
	sigprocmask(SIG_BLOCK, NULL, &mask_before);

	{
		char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
		struct result r = capture(argv, NULL, 0, MIB, true);
		ok(r.rc == 0, "sh -c runs");
		is_str(r.out, "out\n", "its stdout");
		is_str(r.errs, "err\n", "its stderr");
		ok(r.outlen == 4, "the length of its stdout");
		ok(exited(r.status, 3), "its exit status");
		result_free(&r);
	}
	{
		char *argv[] = {"cat", NULL};
		struct result r = capture(argv, NULL, 0, MIB, true);
		ok(r.rc == 0 && r.outlen == 0 && r.out && !*r.out && r.errs && !*r.errs,
		   "no input: stdin is /dev/null, empty output is an empty string");
		result_free(&r);
		r = capture(argv, "", 0, MIB, false);
		ok(r.rc == 0 && r.outlen == 0 && exited(r.status, 0), "empty input: stdin at its end at once");
		result_free(&r);
	}
	{
		char *big = malloc(MIB);
		for (size_t i = 0; i < MIB; i++)
			big[i] = (char)(i * 7 + i / 4096);
		char *argv[] = {"cat", NULL};
		struct result r = capture(argv, big, MIB, MIB, true);
		ok(r.rc == 0 && exited(r.status, 0), "1 MiB through cat");
		ok(r.outlen == MIB && r.out && memcmp(r.out, big, MIB) == 0 && r.out[MIB] == '\0',
		   "comes back whole and NUL-terminated");
		result_free(&r);

		/* Writes more than a pipe holds to stderr before it reads
		 * anything: writing all input first would deadlock. */
		char *argv2[] = {"sh", "-c", "head -c 300000 /dev/zero >&2; cat", NULL};
		r = capture(argv2, big, 300000, MIB, true);
		ok(r.rc == 0 && r.outlen == 300000 && memcmp(r.out, big, 300000) == 0,
		   "a child that writes before it reads does not deadlock");
		result_free(&r);

		char *argv3[] = {"true", NULL};
		r = capture(argv3, big, MIB, MIB, true);
		ok(r.rc == 0 && exited(r.status, 0), "a child that exits without reading 1 MiB: no error");
		result_free(&r);
		char *argv4[] = {"head", "-c", "10", NULL};
		r = capture(argv4, big, MIB, MIB, true);
		ok(r.rc == 0 && r.outlen == 10 && memcmp(r.out, big, 10) == 0,
		   "a child that reads part of its input: its output");
		result_free(&r);
		free(big);

		sigset_t pending, mask;
		sigpending(&pending);
		sigprocmask(SIG_BLOCK, NULL, &mask);
		ok(!sigismember(&pending, SIGPIPE) && !sigismember(&mask, SIGPIPE),
		   "no SIGPIPE left pending, SIGPIPE not left blocked");
	}
	{
		/* The child sees its three pipes as 0, 1, 2 and nothing else. */
		char *argv[] = {"sh", "-c", "exec ls /proc/self/fd", NULL};
		struct result r = capture(argv, "x", 1, MIB, true);
		is_str(r.out, "0\n1\n2\n3\n", "the child has only 0, 1, 2 (3: ls's own)");
		result_free(&r);
	}
	{
		char *argv[] = {"printf", "a\\000b", NULL};
		struct result r = capture(argv, NULL, 0, MIB, false);
		ok(r.rc == 0 && r.outlen == 3 && memcmp(r.out, "a\0b", 4) == 0, "a NUL byte in the output");
		result_free(&r);
	}
	{
		char *argv[] = {"head", "-c", "1000", "/dev/zero", NULL};
		struct result r = capture(argv, NULL, 0, 1000, true);
		ok(r.rc == 0 && r.outlen == 1000, "exactly MAX bytes is fine");
		result_free(&r);
		r = capture(argv, NULL, 0, 999, true);
		ok(r.rc == -1 && r.err.errnum == EFBIG && !r.out, "one byte more than MAX is an error");
		is_str(r.err.msg, "output of 'head' larger than 999 bytes: File too large", "that names the program");
		result_free(&r);

		char *argv2[] = {"sh", "-c", "head -c 5000 /dev/zero >&2", NULL};
		r = capture(argv2, NULL, 0, 4096, true);
		is_str(r.err.msg, "error output of 'sh' larger than 4096 bytes: File too large", "stderr over MAX");
		result_free(&r);

		/* Endless output: the pipe is closed and the child ends. */
		char *argv3[] = {"yes", NULL};
		r = capture(argv3, NULL, 0, 100000, true);
		ok(r.rc == -1 && r.err.errnum == EFBIG, "endless output stops at MAX");
		result_free(&r);
	}
	{
		char *argv[] = {"ctrk-no-such-program", NULL};
		struct result r = capture(argv, "x", 1, MIB, true);
		ok(r.rc == -1 && r.err.errnum == ENOENT && !r.out && !r.errs, "a program that does not exist");
		is_str(r.err.msg, "cannot run 'ctrk-no-such-program': No such file or directory", "its message");
		result_free(&r);
		/* A directory passes access(X_OK): execv() itself fails. */
		char *argv2[] = {"/tmp", NULL};
		r = capture(argv2, "x", 1, MIB, true);
		ok(r.rc == -1 && r.err.errnum == EACCES && !r.out, "a program that cannot be executed");
		is_str(r.err.msg, "cannot run '/tmp': Permission denied", "its message");
		result_free(&r);
	}
	{
		char *argv[] = {"sh", "-c", "kill -TERM $$", NULL};
		struct result r = capture(argv, NULL, 0, MIB, true);
		ok(r.rc == 0 && WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGTERM, "a child killed by a signal");
		result_free(&r);
	}
	{
		/* Streams not captured stay as S has them. */
		char path[] = "/tmp/test-process.XXXXXX";
		int fd = mkstemp(path);
		unlink(path);
		char *argv[] = {"sh", "-c", "cat; echo to-err >&2", NULL};
		ctrk_spawn_t s = {.argv = argv, .stdio = {-1, -1, fd}};
		char *out = NULL;
		int status;
		ctrk_error_t err;
		int rc = ctrk_spawn_capture(&s, "in", 2, MIB, &out, NULL, NULL, &status, &err);
		char got[32] = "";
		ssize_t n = pread(fd, got, sizeof got - 1, 0);
		ok(rc == 0 && n == 7 && strcmp(got, "to-err\n") == 0, "stderr not captured goes to stdio[2]");
		is_str(out, "in", "while stdout is captured");
		free(out);
		close(fd);
	}
	{
		/* Signals that interrupt poll() and read() (no SA_RESTART). */
		struct sigaction sa = {.sa_handler = on_alarm};
		sigaction(SIGALRM, &sa, NULL);
		struct itimerval it = {{0, 1000}, {0, 1000}};
		setitimer(ITIMER_REAL, &it, NULL);
		char *argv[] = {"sh", "-c", "sleep 0.2; echo done", NULL};
		struct result r = capture(argv, NULL, 0, MIB, true);
		struct itimerval off = {{0, 0}, {0, 0}};
		setitimer(ITIMER_REAL, &off, NULL);
		ok(r.rc == 0 && r.out && strcmp(r.out, "done\n") == 0 && exited(r.status, 0), "EINTR is retried");
		result_free(&r);
	}

	{
		/* ctrk_close_fds_except, in a child: kept what is asked, closed
		 * every other descriptor from 3 up, whatever the order. */
		int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY);
		int c = open("/dev/null", O_RDONLY), high = fcntl(a, F_DUPFD, 200);
		int e = open_null();
		pid_t pid = fork();
		if (pid == 0) {
			int keep[] = {high, 1, a, -1, c};
			ctrk_close_fds_except(keep, 5);
			int want_open = fcntl(0, F_GETFD) >= 0 && fcntl(1, F_GETFD) >= 0 && fcntl(2, F_GETFD) >= 0 &&
					fcntl(a, F_GETFD) >= 0 && fcntl(c, F_GETFD) >= 0 && fcntl(high, F_GETFD) >= 0;
			int want_closed = fcntl(b, F_GETFD) < 0 && fcntl(e, F_GETFD) < 0 && fcntl(high + 1, F_GETFD) < 0;
			_exit(want_open && want_closed ? 0 : 1);
		}
		int status;
		waitpid(pid, &status, 0);
		ok(exited(status, 0), "close_fds_except keeps 0-2 and the kept, closes the rest");
		close(a), close(b), close(c), close(high), close(e);
	}
	{
		/* envp: the child gets exactly it. */
		char *argv[] = {"/usr/bin/env", NULL};
		char *env[] = {"ONLY=this", NULL};
		setenv("CTRK_TEST_NOT_PASSED", "x", 1);
		ctrk_spawn_t s = {.argv = argv, .stdio = {-1, -1, -1}, .envp = env};
		char *out = NULL;
		int status;
		ctrk_error_t err;
		int rc = ctrk_spawn_capture(&s, NULL, 0, MIB, &out, NULL, NULL, &status, &err);
		ok(rc == 0 && exited(status, 0), "a child with its own environment");
		is_str(out, "ONLY=this\n", "its environment is envp, nothing of ours");
		free(out);
		unsetenv("CTRK_TEST_NOT_PASSED");
	}

	{
		/* timeout_ms: a child that outlives its deadline is killed
		 * with what it started (its background sleep), whether it
		 * still holds its stdout or has closed it. */
		char tmpl[] = "/tmp/ctrk-test-process.XXXXXX";
		int tfd = mkstemp(tmpl);
		close(tfd);
		char script[256], script2[256];
		snprintf(script, sizeof script, "sleep 30 & echo $! > %s; wait", tmpl);
		snprintf(script2, sizeof script2, "exec >&- 2>&-; sleep 30");
		const char *scripts[] = {script, script2};
		for (int i = 0; i < 2; i++) {
			char *argv[] = {"sh", "-c", (char *)scripts[i], NULL};
			ctrk_spawn_t s = {.argv = argv, .stdio = {-1, -1, -1}, .timeout_ms = 300};
			char *out = NULL;
			int status;
			ctrk_error_t err = {0};
			struct timeval t0, t1;
			gettimeofday(&t0, NULL);
			int rc = ctrk_spawn_capture(&s, "x", 1, MIB, &out, NULL, NULL, &status, &err);
			gettimeofday(&t1, NULL);
			double took = (t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) / 1e6;
			ok(rc < 0 && err.errnum == ETIMEDOUT && strstr(err.msg, "'sh' did not finish in 0.3 s and was killed"),
			   "a child past its deadline fails the call (%s)", err.msg);
			ok(took >= 0.29 && took < 3, "... at the deadline (%.2f s)", took);
			ok(out == NULL, "... with no output");
			free(out);
		}
		FILE *f = fopen(tmpl, "r");
		int bg = 0;
		if (f && fscanf(f, "%d", &bg) != 1)
			bg = 0;
		if (f)
			fclose(f);
		unlink(tmpl);
		/* Killed: gone, or a zombie until init reaps it. */
		char stat_path[64], state = 'Z';
		snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", bg);
		f = fopen(stat_path, "r");
		if (f && fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
			state = '?';
		if (f)
			fclose(f);
		ok(bg > 0 && state == 'Z', "what it started went with it (pid %d, state %c)", bg, state);

		char *argv[] = {"sh", "-c", "cat; echo done", NULL};
		ctrk_spawn_t s = {.argv = argv, .stdio = {-1, -1, -1}, .timeout_ms = 5000};
		char *out = NULL;
		int status;
		ctrk_error_t err = {0};
		int rc = ctrk_spawn_capture(&s, "in\n", 3, MIB, &out, NULL, NULL, &status, &err);
		ok(rc == 0 && exited(status, 0), "a child within its deadline (%s)", err.msg);
		is_str(out, "in\ndone\n", "... gives its output");
		free(out);
	}

	sigset_t mask_after;
	sigprocmask(SIG_BLOCK, NULL, &mask_after);
	ok(sigismember(&mask_after, SIGPIPE) == sigismember(&mask_before, SIGPIPE), "the signal mask is back");
	ok(count_fds() == fds, "no descriptor left open (%d, %d before)", count_fds(), fds);
	return done_testing();
}
