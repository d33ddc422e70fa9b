/* lib/common/inroot: paths resolved inside a root, by the kernel (openat2)
 * and by hand.
 *
 * SANDBOX/root is the root; SANDBOX/outside/secret is what every escape
 * aims at, and the root has its own outside/secret: landing on the root's
 * one is the right answer, the sandbox's a breakout.  Each escape is first
 * checked to reach SANDBOX/outside/secret when followed on the host, so
 * that passing means something.  Every result is checked by identity (the
 * descriptor's device and inode against the file expected), every failure
 * by its errno.
 *
 * Everything runs twice: with openat2, then with openat2 refused by a
 * seccomp filter (EPERM, as Docker's profiles answer for unknown calls;
 * test-run-user does the same with ENOSYS), which makes the walk by hand
 * run.  Under valgrind 3.19, which answers ENOSYS itself, only the walk.
 *
 * The mounts (a procfs, a tmpfs, a bind mount) are made in a private mount
 * namespace: they vanish with the process, whatever happens to it. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fsutil.h"
#include "openat2-off.h"
#include "inroot.h"
#include "tap.h"

#define DEEP 100    /* deep/n0/.../n99: more levels than the walk keeps open */
#define DEEPER 1000 /* deeper/d/d/...: a path near PATH_MAX */
#define THREADS 4

static char sandbox[] = "/tmp/ctrk-test-inroot-XXXXXX";
static int rootfd = -1;
static const char *pass = "openat2";
static bool may_mount; /* in a private mount namespace */
static bool mounted_proc, mounted_tmpfs, mounted_bind, immutable;
static char deep_bottom[PATH_MAX]; /* deep/n0/.../n99 */
static char deep_mid[PATH_MAX];    /* deep/n0/.../n39 */
static char *deeper_path;          /* deeper/d/.../d */

/* --- the sandbox -------------------------------------------------------------- */

static char *
in_sandbox(const char *rel)
{
	return ctrk_strdup_printf("%s/%s", sandbox, rel);
}

static void
put(const char *rel, const char *data)
{
	int fd = openat(rootfd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		printf("# cannot write '%s': %s\n", rel, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void
dir(const char *rel)
{
	if (mkdirat(rootfd, rel, 0755) < 0)
		printf("# cannot mkdir '%s': %s\n", rel, strerror(errno));
}

static void
link_at(const char *rel, const char *target)
{
	if (symlinkat(target, rootfd, rel) < 0)
		printf("# cannot link '%s': %s\n", rel, strerror(errno));
}

/* Whether REL in the root, followed on the host as any program would,
 * reaches SANDBOX/outside/secret. */
static bool
escapes(const char *rel)
{
	char *p = ctrk_strdup_printf("%s/root/%s", sandbox, rel);
	char *d = in_sandbox("outside/secret");
	char *rp = realpath(p, NULL), *rd = realpath(d, NULL);
	bool out = rp && rd && strcmp(rp, rd) == 0;
	free(p);
	free(d);
	free(rp);
	free(rd);
	return out;
}

static bool
mount_at(const char *src, const char *rel, const char *type, unsigned long flags)
{
	if (!may_mount)
		return false;
	char *target = ctrk_strdup_printf("%s/root/%s", sandbox, rel);
	int rc = mount(src, target, type, flags, NULL);
	if (rc < 0)
		printf("# mount %s on '%s': %s\n", type, target, strerror(errno));
	free(target);
	return rc == 0;
}

static void
build_root(void)
{
	char *p = in_sandbox("root");
	mkdir(p, 0755);
	rootfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC); /* O_PATH, as ctrk-run has it */
	free(p);
	p = in_sandbox("outside");
	mkdir(p, 0755);
	free(p);
	p = in_sandbox("outside/secret");
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	free(p);

	dir("etc");
	put("etc/passwd", "the root's\n");
	dir("outside");
	put("outside/secret", "the root's own secret\n");
	dir("a");
	dir("a/b");
	dir("x");
	dir("x/y");

	/* Escapes: absolute to the host's path, relative climbing out. */
	char *host = in_sandbox("outside/secret");
	link_at("abs", host);
	free(host);
	link_at("abs-etc", "/etc/passwd");
	link_at("rel", "../outside/secret");
	link_at("a/b/up", "../../../outside/secret");
	link_at("etcdir", "/etc");
	link_at("outdir", "../outside");
	/* ".." after a symlink is the target's parent: x/y/l/.. is a. */
	link_at("x/y/l", "/a/b");

	/* Loops. */
	link_at("loop", "loop");
	link_at("ping", "pong");
	link_at("pong", "ping");
	dir("c40");
	dir("c41");
	for (int n = 40; n <= 41; n++) {
		for (int i = 1; i <= n; i++) {
			char name[32], target[32];
			snprintf(name, sizeof name, "c%d/%d", n, i);
			if (i < n)
				snprintf(target, sizeof target, "../c%d/%d", n, i + 1);
			else
				snprintf(target, sizeof target, "/etc/passwd");
			link_at(name, target);
		}
	}

	/* Last names. */
	link_at("lnk", "etc/passwd");
	link_at("lnkdir", "etc");
	link_at("dangling", "nowhere");

	/* deep/n0/.../n99, and in it: back (to the top), mid (60 up). */
	char path[PATH_MAX] = "deep";
	dir(path);
	for (int i = 0; i < DEEP; i++) {
		size_t n = strlen(path);
		snprintf(path + n, sizeof path - n, "/n%d", i);
		dir(path);
		if (i == 39) {
			snprintf(deep_mid, sizeof deep_mid, "%s", path);
			char *here = ctrk_strdup_printf("%s/here", path);
			put(here, "middle\n");
			free(here);
		}
	}
	snprintf(deep_bottom, sizeof deep_bottom, "%s", path);
	char up[4 * (DEEP + 1) + 32] = "";
	for (int i = 0; i < DEEP + 1; i++)
		strcat(up, "../");
	char *l = ctrk_strdup_printf("%s/back", deep_bottom);
	strcat(up, "etc/passwd");
	link_at(l, up);
	free(l);
	up[0] = '\0';
	for (int i = 0; i < 60; i++)
		strcat(up, "../");
	strcat(up, "here");
	l = ctrk_strdup_printf("%s/mid", deep_bottom);
	link_at(l, up);
	free(l);

	/* deeper/d/d/...: 1000 levels, made one at a time. */
	size_t cap = 8 + 2 * DEEPER + 1;
	deeper_path = ctrk_xmalloc(cap);
	strcpy(deeper_path, "deeper");
	dir("deeper");
	int cur = openat(rootfd, "deeper", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < DEEPER && cur >= 0; i++) {
		strcat(deeper_path, "/d");
		mkdirat(cur, "d", 0755);
		int next = openat(cur, "d", O_PATH | O_DIRECTORY | O_CLOEXEC);
		close(cur);
		cur = next;
	}
	if (cur >= 0) {
		/* Up 1001 times: to the root, then etc/passwd. */
		size_t n = 3 * (DEEPER + 1) + sizeof "etc/passwd";
		char *t = ctrk_xmalloc(n);
		t[0] = '\0';
		for (int i = 0; i < DEEPER + 1; i++)
			strcat(t, "../");
		strcat(t, "etc/passwd");
		if (symlinkat(t, cur, "top") < 0)
			printf("# cannot link deeper/.../top: %s\n", strerror(errno));
		free(t);
		close(cur);
	}

	/* Mounts: a procfs (magic links), a tmpfs and a bind mount of the
	 * same file system (NO_XDEV). */
	dir("proc");
	dir("mnt");
	dir("bind");
	p = in_sandbox("bindsrc");
	mkdir(p, 0755);
	char *f = in_sandbox("bindsrc/f");
	fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
	free(f);
	mounted_proc = mount_at("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
	mounted_tmpfs = mount_at("tmpfs", "mnt", "tmpfs", 0);
	mounted_bind = mount_at(p, "bind", "none", MS_BIND); /* type: ignored, but valgrind reads it */
	free(p);
	if (mounted_tmpfs) {
		put("mnt/f", "on the tmpfs\n");
		/* Immutable: opening it for writing is EPERM, the file's own
		 * answer.  On the tmpfs, so that it goes with the namespace. */
		put("mnt/immutable", "");
		int fd = openat(rootfd, "mnt/immutable", O_RDONLY | O_CLOEXEC);
		int attr = FS_IMMUTABLE_FL;
		immutable = fd >= 0 && ioctl(fd, FS_IOC_SETFLAGS, &attr) == 0;
		if (!immutable)
			printf("# cannot make mnt/immutable immutable: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	link_at("magic", "/proc/self/root/etc/passwd");
	link_at("magic-fd", "/proc/self/fd/0");
	link_at("tomnt", "/mnt/f");
}

/* --- checks ------------------------------------------------------------------- */

/* PATH opened with FLAGS and HOW must be WANT in the root (a plain path,
 * no symlink in it; the last name itself when it is a symlink). */
static void
lands(const char *path, int flags, unsigned how, const char *want)
{
	ctrk_error_t err = {0};
	int fd = ctrk_inroot_open(rootfd, path, flags, how, &err);
	struct stat got, exp;
	bool same = fd >= 0 && fstat(fd, &got) == 0 && fstatat(rootfd, want, &exp, AT_SYMLINK_NOFOLLOW) == 0 &&
		    got.st_dev == exp.st_dev && got.st_ino == exp.st_ino;
	ok(same, "[%s] '%.60s%s' (flags 0%o, how %u) is '%.60s'", pass, path, strlen(path) > 60 ? "..." : "",
	   (unsigned)flags, how, want);
	if (fd < 0)
		printf("#   error: %s\n", err.msg);
	else if (!same)
		printf("#   got inode %lu, want %lu\n", (unsigned long)got.st_ino, (unsigned long)exp.st_ino);
	if (fd >= 0) {
		int fl = fcntl(fd, F_GETFD);
		ok(fl >= 0 && (fl & FD_CLOEXEC), "[%s] '%.60s' is close-on-exec", pass, path);
		close(fd);
	}
}

/* PATH must fail with WANT (an errno), ERR saying so. */
static void
fails(const char *path, int flags, unsigned how, int want)
{
	ctrk_error_t err = {0};
	errno = 0;
	int fd = ctrk_inroot_open(rootfd, path, flags, how, &err);
	int e = errno;
	ok(fd < 0 && e == want && err.errnum == want && strstr(err.msg, "inside the root"),
	   "[%s] '%.60s%s' (flags 0%o, how %u): %s", pass, path, strlen(path) > 60 ? "..." : "", (unsigned)flags, how,
	   strerror(want));
	if (fd >= 0) {
		printf("#   opened\n");
		close(fd);
	} else if (e != want || err.errnum != want) {
		printf("#   got errno %d (%s), err.errnum %d: %s\n", e, strerror(e), err.errnum, err.msg);
	}
}

static void
test_plain(void)
{
	lands("etc/passwd", O_RDONLY, 0, "etc/passwd");
	lands("/etc/passwd", O_PATH, 0, "etc/passwd");
	lands("//etc//./passwd", O_RDONLY, 0, "etc/passwd");
	lands("", O_PATH | O_DIRECTORY, 0, ".");
	lands("/", O_RDONLY | O_DIRECTORY, 0, ".");
	lands(".", O_PATH, 0, ".");
	lands("etc/", O_PATH | O_DIRECTORY, 0, "etc");
	lands("etc/.", O_RDONLY | O_DIRECTORY, 0, "etc");
	lands("a/b/../../etc/passwd", O_RDONLY, 0, "etc/passwd");
	fails("missing", O_PATH, 0, ENOENT);
	fails("etc/missing/x", O_PATH, 0, ENOENT);
	fails("etc/passwd/", O_PATH, 0, ENOTDIR);
	fails("etc/passwd/x", O_PATH, 0, ENOTDIR);
	fails("etc/passwd", O_PATH | O_DIRECTORY, 0, ENOTDIR);
	fails("etc/passwd", O_RDONLY | O_DIRECTORY, 0, ENOTDIR);
	fails("etc/new", O_WRONLY | O_CREAT, 0, EINVAL);
}

static void
test_dotdot(void)
{
	lands("..", O_PATH, 0, ".");
	lands("../../../../etc/passwd", O_RDONLY, 0, "etc/passwd");
	lands("a/../../../a/b", O_PATH | O_DIRECTORY, 0, "a/b");
	lands("etc/../..", O_PATH, CTRK_INROOT_NO_XDEV, ".");
	lands("x/y/l/..", O_PATH | O_DIRECTORY, 0, "a");
	lands("x/y/l/../../etc", O_PATH | O_DIRECTORY, 0, "etc");
}

static void
test_escapes(void)
{
	ok(escapes("abs"), "[%s] abs: followed on the host, it is SANDBOX/outside/secret", pass);
	ok(escapes("rel"), "[%s] rel: followed on the host, it is SANDBOX/outside/secret", pass);
	ok(escapes("a/b/up"), "[%s] a/b/up: followed on the host, it is SANDBOX/outside/secret", pass);
	ok(escapes("outdir/secret"), "[%s] outdir: followed on the host, it is SANDBOX/outside", pass);

	/* The host's path does not exist in the root. */
	fails("abs", O_RDONLY, 0, ENOENT);
	fails("abs", O_PATH, CTRK_INROOT_NO_XDEV, ENOENT);
	lands("abs-etc", O_RDONLY, 0, "etc/passwd");
	lands("rel", O_RDONLY, 0, "outside/secret");
	lands("a/b/up", O_PATH, 0, "outside/secret");
	lands("a/b/up", O_RDONLY, CTRK_INROOT_NO_XDEV, "outside/secret");
	lands("outdir/secret", O_RDONLY, 0, "outside/secret");
	lands("outdir", O_PATH | O_DIRECTORY, 0, "outside");
	lands("etcdir/passwd", O_RDONLY, 0, "etc/passwd");
	lands("etcdir/../outside/secret", O_RDONLY, 0, "outside/secret");
	lands("outdir/..", O_PATH | O_DIRECTORY, 0, ".");
	fails("a/b/up/..", O_PATH | O_DIRECTORY, 0, ENOTDIR);

	/* The same host path, made inside the root: that one is found. */
	char *inside = ctrk_strdup_printf("%s/outside/secret", sandbox + 1);
	char *cmd = ctrk_strdup_printf("mkdir -p '%s/root/%s/outside' && touch '%s/root/%s'", sandbox, sandbox + 1,
				       sandbox, inside);
	ok(system(cmd) == 0, "[%s] the host's path made inside the root", pass);
	lands("abs", O_RDONLY, 0, inside);
	/* SANDBOX is /tmp/...: ROOT/tmp goes. */
	char *rm = ctrk_strdup_printf("rm -rf '%s/root/%.*s'", sandbox, (int)strcspn(sandbox + 1, "/"), sandbox + 1);
	ok(system(rm) == 0, "[%s] and removed", pass);
	free(rm);
	free(cmd);
	free(inside);
}

static void
test_loops(void)
{
	fails("loop", O_RDONLY, 0, ELOOP);
	fails("loop", O_PATH, 0, ELOOP);
	fails("ping", O_PATH, 0, ELOOP);
	fails("ping/x", O_PATH, 0, ELOOP);
	/* 40 symlinks are followed, as by the kernel; 41 are not. */
	lands("c40/1", O_RDONLY, 0, "etc/passwd");
	fails("c41/1", O_RDONLY, 0, ELOOP);
	/* A loop not followed is a symlink like any other. */
	lands("loop", O_PATH | O_NOFOLLOW, 0, "loop");
}

static void
test_last(void)
{
	/* A last symlink followed, or not. */
	lands("lnk", O_RDONLY, 0, "etc/passwd");
	lands("lnk", O_PATH, 0, "etc/passwd");
	lands("lnk", O_PATH | O_NOFOLLOW, 0, "lnk");
	fails("lnk", O_RDONLY | O_NOFOLLOW, 0, ELOOP);
	fails("lnk", O_PATH | O_NOFOLLOW | O_DIRECTORY, 0, ENOTDIR);
	lands("lnkdir", O_PATH | O_DIRECTORY, 0, "etc");
	/* A "/" after it follows it whatever O_NOFOLLOW says. */
	lands("lnkdir/", O_PATH | O_NOFOLLOW, 0, "etc");
	lands("lnkdir/.", O_RDONLY | O_NOFOLLOW, 0, "etc");
	fails("lnk/", O_PATH, 0, ENOTDIR);
	fails("lnk/x", O_PATH, 0, ENOTDIR);
	fails("dangling", O_PATH, 0, ENOENT);
	lands("dangling", O_PATH | O_NOFOLLOW, 0, "dangling");

	/* No symlink at all. */
	unsigned ns = CTRK_INROOT_NO_SYMLINKS;
	lands("etc/passwd", O_RDONLY | O_NOFOLLOW, ns, "etc/passwd");
	lands("a/b", O_RDONLY | O_DIRECTORY, ns, "a/b");
	fails("etcdir/passwd", O_RDONLY, ns, ELOOP);
	fails("lnk", O_RDONLY, ns, ELOOP);
	fails("lnk", O_RDONLY | O_NOFOLLOW, ns, ELOOP);
	fails("lnk", O_PATH, ns, ELOOP);
	lands("lnk", O_PATH | O_NOFOLLOW, ns, "lnk");
	fails("x/y/l/..", O_PATH, ns, ELOOP);
}

static void
test_magic(void)
{
	if (!mounted_proc) {
		ok(1, "[%s] magic links # SKIP no procfs could be mounted", pass);
		return;
	}
	/* On the host these lead to the host's /etc/passwd and stdin. */
	fails("proc/self/root/etc/passwd", O_RDONLY, 0, ELOOP);
	fails("proc/self/root", O_PATH, 0, ELOOP);
	fails("proc/self/cwd", O_PATH | O_DIRECTORY, 0, ELOOP);
	fails("proc/self/fd/0", O_PATH, 0, ELOOP);
	fails("magic", O_RDONLY, 0, ELOOP);
	fails("magic-fd", O_PATH, 0, ELOOP);
	/* Not crossing into the procfs at all. */
	fails("magic", O_RDONLY, CTRK_INROOT_NO_XDEV, EXDEV);
	/* Not followed, a magic link is a symlink like any other. */
	char *self = ctrk_strdup_printf("proc/%d/root", (int)getpid());
	lands(self, O_PATH | O_NOFOLLOW, 0, self);
	free(self);
}

/* EPERM from openat2 is also a file's own answer: it must come back as
 * it is, and not make the process give up on openat2. */
static void
test_eperm(void)
{
	if (!immutable || !mounted_proc) {
		ok(1, "[%s] EPERM of a file # SKIP no immutable file or no procfs", pass);
		return;
	}
	fails("mnt/immutable", O_WRONLY, 0, EPERM);
	lands("mnt/immutable", O_RDONLY, 0, "mnt/immutable");
	/* /proc/self is a plain symlink, which the kernel follows and the
	 * walk (every procfs symlink a magic link to it) does not: so this
	 * tells which of them resolved. */
	if (strcmp(pass, "openat2") == 0)
		lands("proc/self/status", O_PATH, 0, "proc/self/status");
	else
		fails("proc/self/status", O_PATH, 0, ELOOP);
}

static void
test_mounts(void)
{
	unsigned nx = CTRK_INROOT_NO_XDEV;
	if (!mounted_tmpfs || !mounted_bind) {
		ok(1, "[%s] mount points # SKIP no tmpfs or bind mount could be made", pass);
		return;
	}
	lands("mnt/f", O_RDONLY, 0, "mnt/f");
	lands("tomnt", O_RDONLY, 0, "mnt/f");
	lands("mnt/../etc/passwd", O_RDONLY, 0, "etc/passwd");
	lands("bind/f", O_RDONLY, 0, "bind/f");
	fails("mnt", O_PATH | O_DIRECTORY, nx, EXDEV);
	fails("mnt/f", O_RDONLY, nx, EXDEV);
	fails("tomnt", O_RDONLY, nx, EXDEV);
	/* The same file system, another mount: the device alone does not tell. */
	fails("bind", O_PATH, nx, EXDEV);
	fails("bind/f", O_PATH, nx, EXDEV);
	lands("mnt", O_PATH | O_NOFOLLOW, 0, "mnt");
}

static void
test_long(void)
{
	/* More levels than the walk keeps open, then back up by "..". */
	char *p = ctrk_strdup_printf("%s/back", deep_bottom);
	lands(p, O_RDONLY, 0, "etc/passwd");
	lands(p, O_RDONLY, CTRK_INROOT_NO_XDEV, "etc/passwd");
	free(p);
	p = ctrk_strdup_printf("%s/mid", deep_bottom);
	char *want = ctrk_strdup_printf("%s/here", deep_mid);
	lands(p, O_RDONLY, 0, want);
	free(want);
	free(p);
	/* Three levels up from the bottom: n96. */
	p = ctrk_strdup_printf("%s/../../..", deep_bottom);
	want = ctrk_xstrdup(deep_bottom);
	for (int i = 0; i < 3; i++)
		*strrchr(want, '/') = '\0';
	lands(p, O_PATH | O_DIRECTORY, 0, want);
	ok(strcmp(strrchr(want, '/'), "/n96") == 0, "[%s] (that is '...%s')", pass, strrchr(want, '/'));
	free(want);
	free(p);

	/* 1000 levels down, 1001 up by a symlink. */
	p = ctrk_strdup_printf("%s/top", deeper_path);
	lands(p, O_RDONLY, 0, "etc/passwd");
	free(p);
	lands(deeper_path, O_PATH | O_DIRECTORY, 0, deeper_path);

	/* PATH_MAX counts the final NUL. */
	char buf[PATH_MAX + 1];
	size_t n = PATH_MAX - 1 - strlen("etc/passwd");
	for (size_t i = 0; i < n; i++)
		buf[i] = i % 2 ? '/' : '.';
	if (n % 2)
		buf[n - 1] = '/';
	strcpy(buf + n, "etc/passwd");
	lands(buf, O_RDONLY, 0, "etc/passwd");
	memmove(buf + 1, buf, strlen(buf) + 1);
	buf[0] = '/';
	fails(buf, O_RDONLY, 0, ENAMETOOLONG);

	/* A name longer than NAME_MAX. */
	char name[NAME_MAX + 2];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	fails(name, O_PATH, 0, ENAMETOOLONG);
	name[sizeof name - 2] = '\0';
	fails(name, O_PATH, 0, ENOENT);
}

/* Many threads at once, each resolving escapes and the deep tree. */
static void *
worker(void *arg)
{
	struct stat want[2];
	char *deep = ctrk_strdup_printf("%s/back", deep_bottom);
	const char *paths[2] = {"a/b/up", deep};
	int *bad = arg;
	fstatat(rootfd, "outside/secret", &want[0], 0);
	fstatat(rootfd, "etc/passwd", &want[1], 0);
	for (int i = 0; i < 200; i++) {
		ctrk_error_t err;
		struct stat st;
		int fd = ctrk_inroot_open(rootfd, paths[i % 2], O_PATH, 0, &err);
		if (fd < 0 || fstat(fd, &st) < 0 || st.st_ino != want[i % 2].st_ino)
			(*bad)++;
		if (fd >= 0)
			close(fd);
	}
	free(deep);
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t[THREADS];
	int bad[THREADS] = {0}, total = 0;
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, &bad[i]);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		total += bad[i];
	}
	ok(total == 0, "[%s] %d threads x 200 resolutions: %d wrong", pass, THREADS, total);
}

static void
run_all(void)
{
	test_plain();
	test_dotdot();
	test_escapes();
	test_loops();
	test_last();
	test_magic();
	test_mounts();
	test_eperm();
	test_long();
	test_threads();
}

/* --- openat2 on and off ------------------------------------------------------- */

int
main(void)
{
	alarm(300);
	/* The mounts live and die with a private mount namespace. */
	may_mount = unshare(CLONE_NEWNS) == 0 && mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0;
	if (!may_mount)
		printf("# no private mount namespace (%s): no mounts\n", strerror(errno));
	if (!mkdtemp(sandbox)) {
		perror("mkdtemp");
		return 1;
	}
	int fds = count_fds();
	build_root();

	run_with_and_without_openat2(run_all, &pass, EPERM);

	free(deeper_path);
	close(rootfd);
	ok(count_fds() == fds, "no descriptor leaked (%d before, %d after)", fds, count_fds());
	const char *mounts[] = {"proc", "mnt", "bind"};
	for (int i = 0; i < 3; i++) {
		char *p = ctrk_strdup_printf("%s/root/%s", sandbox, mounts[i]);
		umount2(p, MNT_DETACH);
		free(p);
	}
	rm_rf(sandbox);
	struct stat st;
	ok(stat(sandbox, &st) < 0 && errno == ENOENT, "the sandbox is gone");
	return done_testing();
}
