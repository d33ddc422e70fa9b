/* ctrk-run's user resolution: names, numbers and groups as runc resolves
 * them, and hostile roots whose /etc/passwd or /etc/group lead outside
 * (absolute and ../ symlinks, a symlinked /etc), would block (a fifo), are
 * no file (/dev/zero, a directory), loop, or are too large.
 *
 * Everything lives in SANDBOX: the roots SANDBOX/NAME, and a decoy
 * SANDBOX/decoy/etc/{passwd,group} which every escape aims at, where alice
 * is uid 666 and root has gid 666: seeing 666 means the decoy was read.
 * Each escape is first checked to reach the decoy when followed on the
 * host, so that passing means something.
 *
 * Every case runs twice: with openat2, then with openat2 refused by a
 * seccomp filter, which makes the resolution by hand run. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <dirent.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "ctrk-run/user.h"
#include "fsutil.h"
#include "openat2-off.h"
#include "tap.h"

#define NONE NULL, 0
#define EXTRA(...) (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)

static char sandbox[] = "/tmp/ctrk-test-run-user-XXXXXX";
static char cur_root[PATH_MAX]; /* the root being tested */
static const char *pass = "openat2";

static const char passwd[] = "# the image's users\n"
			     "root:x:0:0:root:/root:/bin/sh\n"
			     "\n"
			     "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
			     "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
			     "bob:x:1001:100::/home/bob:/bin/sh\n"
			     "+nisuser:x:2000:2000::/:/bin/sh\n"
			     "-daemon\n"
			     "+\n"
			     "short:x:3000:3000\n"
			     "long:x:3001:3001::/:/bin/sh:extra\n"
			     "badnum:x:12a:0::/:/bin/sh\n"
			     "neg:x:-1:0::/:/bin/sh\n"
			     "max:x:4294967295:0::/:/bin/sh\n"
			     ":x:3002:3002::/:/bin/sh\n"
			     "alice:x:9999:9999:second alice:/nowhere:/bin/sh\n"
			     "nohome:x:1002:1002:::/bin/sh\n"
			     "carol:x:1003:1003::/home/carol:/bin/sh\n"
			     "zed\0:x:1004:1004::/:/bin/sh\n"
			     "biguid:x:2147483648:0::/:/bin/sh\n"
			     "biguid:x:1006:1006::/:/bin/sh\n"
			     "biggid:x:1007:2147483648::/:/bin/sh\n"
			     "erin:x:1008:1008::/:/bin/sh\n"
			     "dave:x:1005:1005::/home/dave:/bin/sh"; /* no newline at the end */

static const char group[] = "root:x:0:\n"
			    "wheel:x:10:alice,bob\n"
			    "users:x:100:\n"
			    "audio:x:29:bob\n"
			    "video:x:44:,,alice,\n"
			    "alice:x:1000:alice\n"
			    "dev:x:2000:carol,alice,alice\n"
			    "dev2:x:2000:alice\n"
			    "staff:x:50:alicea,xalice,ALICE\n"
			    "+nis:x:3000:alice\n"
			    "-wheel\n"
			    "short:x:4000\n"
			    "badgid:x:4x:alice\n"
			    "long:x:4001:alice:extra\n"
			    ":x:4002:alice\n"
			    "# docker:x:998:alice\n"
			    "docker:x:999:dave\n"
			    "bigg:x:2147483648:erin\n"
			    "bigname:x:99999999999999999999:\n";

static const char decoy_passwd[] = "root:x:0:666:DECOY:/decoy:/bin/sh\nalice:x:666:666:DECOY:/decoy:/bin/sh\n";
static const char decoy_group[] = "decoy:x:667:alice,root\n";

#define PUT(rootfd, rel, s) put(rootfd, rel, s, sizeof(s) - 1)

/* --- sandbox -------------------------------------------------------------- */

/* A fresh, empty SANDBOX/NAME, as an O_PATH descriptor like ctrk-run's. */
static int
fresh_root(const char *name)
{
	snprintf(cur_root, sizeof cur_root, "%s/%s", sandbox, name);
	rm_rf(cur_root);
	if (mkdir(cur_root, 0755) < 0)
		printf("# mkdir '%s': %s\n", cur_root, strerror(errno));
	return open(cur_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* The directories leading to REL, below ROOTFD. */
static void
mkparents(int rootfd, const char *rel)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", rel);
	for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdirat(rootfd, buf, 0755);
		*s = '/';
	}
}

static void
put(int rootfd, const char *rel, const char *data, size_t len)
{
	mkparents(rootfd, rel);
	int fd = openat(rootfd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		printf("# cannot write '%s': %s\n", rel, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void
link_at(int rootfd, const char *rel, const char *target)
{
	mkparents(rootfd, rel);
	if (symlinkat(target, rootfd, rel) < 0)
		printf("# cannot link '%s': %s\n", rel, strerror(errno));
}

/* Whether REL in the current root, followed on the host as any program
 * would, reaches DECOY (a path below SANDBOX/decoy). */
static bool
reaches_decoy(const char *rel, const char *decoy)
{
	char *p = ctrk_strdup_printf("%s/%s", cur_root, rel);
	char *d = ctrk_strdup_printf("%s/decoy/%s", sandbox, decoy);
	char *rp = realpath(p, NULL), *rd = realpath(d, NULL);
	bool same = rp && rd && strcmp(rp, rd) == 0;
	free(p);
	free(d);
	free(rp);
	free(rd);
	return same;
}

/* --- checks ------------------------------------------------------------------ */

static char *
gid_list(const run_user_t *u)
{
	char buf[1024] = "";
	size_t n = 0;
	for (size_t i = 0; i < u->n_additional && n < sizeof buf; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%u", i ? "," : "", (unsigned)u->additional_gids[i]);
	return ctrk_xstrdup(buf);
}

/* SPEC (and --group-add EXTRA) must resolve to UID:GID, the supplementary
 * groups GIDS ("10,44") and HOME (NULL: no entry). */
static void
good(int rootfd, const char *spec, const char *const *extra, size_t nextra, uid_t uid, gid_t gid, const char *gids,
     const char *home)
{
	run_user_t u;
	ctrk_error_t err = {0};
	int rc = run_user_resolve(rootfd, spec, extra, nextra, &u, &err);
	if (!spec)
		spec = "(null)"; /* for the messages */
	ok(rc == 0, "[%s] '%s' (%zu extra) resolves", pass, spec, nextra);
	if (rc < 0) {
		printf("#   error: %s\n", err.msg);
		return;
	}
	ok(u.uid == uid && u.gid == gid, "[%s] '%s' is %u:%u", pass, spec, (unsigned)uid, (unsigned)gid);
	if (u.uid != uid || u.gid != gid)
		printf("#   got %u:%u\n", (unsigned)u.uid, (unsigned)u.gid);
	char *list = gid_list(&u);
	is_str(list, gids, "[%s] '%s' supplementary groups", pass, spec);
	is_str(u.home, home, "[%s] '%s' home", pass, spec);
	ok((u.n_additional == 0) == (u.additional_gids == NULL), "[%s] '%s' array matches its count", pass, spec);
	free(list);
	run_user_free(&u);
}

/* SPEC must fail with a message containing WHY, leaving *U empty. */
static void
bad(int rootfd, const char *spec, const char *const *extra, size_t nextra, const char *why)
{
	run_user_t u;
	ctrk_error_t err = {0};
	int rc = run_user_resolve(rootfd, spec, extra, nextra, &u, &err);
	ok(rc == -1 && strstr(err.msg, why), "[%s] '%s' (%zu extra) refused: %s", pass, spec, nextra, err.msg);
	if (rc == 0)
		printf("#   got %u:%u home '%s'\n", (unsigned)u.uid, (unsigned)u.gid, u.home ? u.home : "(null)");
	else if (!strstr(err.msg, why))
		printf("#   want a message containing '%s'\n", why);
	ok(!u.home && !u.additional_gids && !u.n_additional && !u.uid && !u.gid, "[%s] '%s' left empty", pass, spec);
	run_user_free(&u);
}

/* --- cases ------------------------------------------------------------------- */

static void
test_specs(void)
{
	int r = fresh_root("specs");
	PUT(r, "etc/passwd", passwd);
	PUT(r, "etc/group", group);

	good(r, "", NONE, 0, 0, "", "/root");
	good(r, NULL, NONE, 0, 0, "", "/root");
	good(r, "root", NONE, 0, 0, "", "/root");
	good(r, "0", NONE, 0, 0, "", "/root");
	/* wheel, video (empty members around), dev and dev2 (one gid, alice
	 * twice), not alice (her primary group), not staff (near misses) */
	good(r, "alice", NONE, 1000, 1000, "10,44,2000", "/home/alice");
	good(r, "1000", NONE, 1000, 1000, "10,44,2000", "/home/alice");
	good(r, "0001000", NONE, 1000, 1000, "10,44,2000", "/home/alice");
	good(r, "bob", NONE, 1001, 100, "10,29", "/home/bob");
	good(r, "carol", NONE, 1003, 1003, "2000", "/home/carol");
	good(r, "dave", NONE, 1005, 1005, "999", "/home/dave"); /* last lines, no newline; a comment */
	good(r, "nohome", NONE, 1002, 1002, "", "");

	/* An explicit group replaces the membership groups, as in runc. */
	good(r, "alice:users", NONE, 1000, 100, "", "/home/alice");
	good(r, "alice:100", NONE, 1000, 100, "", "/home/alice");
	good(r, "alice:4242", NONE, 1000, 4242, "", "/home/alice");
	good(r, "1000:wheel", NONE, 1000, 10, "", "/home/alice");
	good(r, "1000:1000", NONE, 1000, 1000, "", "/home/alice");
	good(r, "alice:short", NONE, 1000, 4000, "", "/home/alice"); /* no members field */

	/* Numbers need no entry. */
	good(r, "5000", NONE, 5000, 0, "", NULL);
	good(r, "5000:5001", NONE, 5000, 5001, "", NULL);
	good(r, "5000:wheel", NONE, 5000, 10, "", NULL);
	good(r, "2147483647:2147483647", NONE, 2147483647u, 2147483647u, "", NULL);
	/* An explicit group: erin's membership of bigg is not looked at. */
	good(r, "erin:1008", NONE, 1008, 1008, "", "/");

	bad(r, "nobody", NONE, "no user 'nobody' in the container's /etc/passwd");
	bad(r, "Alice", NONE, "no user 'Alice' in the container's /etc/passwd");
	/* malformed or NIS lines are no entries */
	bad(r, "short", NONE, "no user 'short'");
	bad(r, "long", NONE, "no user 'long'");
	bad(r, "badnum", NONE, "no user 'badnum'");
	bad(r, "neg", NONE, "no user 'neg'");
	/* Ids are 0 to 2^31-1 (runc, containerd); an entry found with one out
	 * of range is refused, never skipped for a later one. */
	bad(r, "max", NONE, "user 'max' has uid 4294967295 in the container's /etc/passwd, out of range");
	bad(r, "biguid", NONE, "user 'biguid' has uid 2147483648");
	bad(r, "biggid", NONE, "user 'biggid' has gid 2147483648");
	bad(r, "1007", NONE, "user 'biggid' has gid 2147483648");
	bad(r, "erin", NONE, "group 'bigg' has gid 2147483648 in the container's /etc/group");
	bad(r, "alice:bigname", NONE, "group 'bigname' has gid 99999999999999999999");
	bad(r, "2147483648", NONE, "user id '2147483648' is out of range (0 to 2147483647)");
	bad(r, "4294967294:4294967294", NONE, "user id '4294967294' is out of range");
	bad(r, "1000:2147483648", NONE, "group id '2147483648' is out of range");
	bad(r, "nisuser", NONE, "no user 'nisuser'");
	bad(r, "+nisuser", NONE, "no user '+nisuser'");
	bad(r, "zed", NONE, "no user 'zed'");
	bad(r, "-1", NONE, "no user '-1'");
	bad(r, "4294967295", NONE, "user id '4294967295' is out of range");
	bad(r, "99999999999999999999999", NONE, "user id '99999999999999999999999' is out of range");

	bad(r, "alice:nogroup", NONE, "no group 'nogroup' in the container's /etc/group");
	bad(r, "alice:long", NONE, "no group 'long'");
	bad(r, "alice:badgid", NONE, "no group 'badgid'");
	bad(r, "alice:nis", NONE, "no group 'nis'");
	bad(r, "alice:docker ", NONE, "no group 'docker '");
	bad(r, "alice:4294967295", NONE, "group id '4294967295' is out of range");
	bad(r, "nobody:wheel", NONE, "no user 'nobody'");

	bad(r, "alice:", NONE, "invalid user 'alice:'");
	bad(r, ":wheel", NONE, "invalid user ':wheel'");
	bad(r, ":", NONE, "invalid user ':'");
	bad(r, "alice:wheel:x", NONE, "invalid user 'alice:wheel:x'");
	close(r);
}

static void
test_group_add(void)
{
	int r = fresh_root("group-add");
	PUT(r, "etc/passwd", passwd);
	PUT(r, "etc/group", group);

	/* 29 twice, wheel already hers, 1000 her primary group */
	good(r, "alice", EXTRA("audio", "4242", "wheel", "1000", "29"), 1000, 1000, "10,29,44,2000,4242",
	     "/home/alice");
	good(r, "alice:users", EXTRA("wheel"), 1000, 100, "10", "/home/alice");
	good(r, "alice:users", EXTRA("users"), 1000, 100, "", "/home/alice");
	good(r, "bob", EXTRA("100"), 1001, 100, "10,29", "/home/bob");
	good(r, "5000", EXTRA("audio", "7"), 5000, 0, "7,29", NULL);
	good(r, "5000", EXTRA("0"), 5000, 0, "", NULL);

	bad(r, "alice", EXTRA("nosuch"), "no group 'nosuch' in the container's /etc/group");
	bad(r, "alice", EXTRA("audio", "Wheel"), "no group 'Wheel'");
	bad(r, "alice", EXTRA("4294967295"), "group id '4294967295' is out of range");
	bad(r, "alice", EXTRA("2147483648"), "group id '2147483648' is out of range");
	bad(r, "alice", EXTRA("bigg"), "group 'bigg' has gid 2147483648");
	good(r, "alice", EXTRA("2147483647"), 1000, 1000, "10,44,2000,2147483647", "/home/alice");
	bad(r, "alice", EXTRA(""), "invalid group ''");
	close(r);
}

static void
test_missing(void)
{
	/* No /etc at all, then empty files: both as if nobody were there. */
	for (int empty = 0; empty <= 1; empty++) {
		int r = fresh_root(empty ? "empty" : "bare");
		if (empty) {
			PUT(r, "etc/passwd", "");
			PUT(r, "etc/group", "");
		}
		good(r, "", NONE, 0, 0, "", NULL);
		good(r, "1000", NONE, 1000, 0, "", NULL);
		good(r, "1000:1000", NONE, 1000, 1000, "", NULL);
		good(r, "1000", EXTRA("5"), 1000, 0, "5", NULL);
		bad(r, "alice", NONE,
		    empty ? "no user 'alice' in the container's /etc/passwd"
			  : "no user 'alice': the container has no /etc/passwd");
		bad(r, "1000:wheel", NONE,
		    empty ? "no group 'wheel' in the container's /etc/group"
			  : "no group 'wheel': the container has no /etc/group");
		bad(r, "1000", EXTRA("wheel"), "no group 'wheel'");
		close(r);
	}

	/* A passwd but no group: membership is simply empty. */
	int r = fresh_root("no-group");
	PUT(r, "etc/passwd", passwd);
	good(r, "alice", NONE, 1000, 1000, "", "/home/alice");
	close(r);
}

/* Absolute symlinks: /etc/passwd names a host path; inside the root that
 * path must be read, and only it. */
static void
test_absolute(void)
{
	int r = fresh_root("absolute");
	char *decoy = ctrk_strdup_printf("%s/decoy/etc/passwd", sandbox);
	link_at(r, "etc/passwd", decoy);
	ok(reaches_decoy("etc/passwd", "etc/passwd"), "[%s] absolute: followed on the host, it is the decoy", pass);
	bad(r, "alice", NONE, "no user 'alice': the container has no /etc/passwd");
	good(r, "", NONE, 0, 0, "", NULL);

	/* The same path, inside the root. */
	char *inside = ctrk_strdup_printf("%s/decoy/etc/passwd", sandbox + 1);
	PUT(r, inside, passwd);
	good(r, "alice", NONE, 1000, 1000, "", "/home/alice");
	good(r, "", NONE, 0, 0, "", "/root");
	free(inside);
	free(decoy);
	close(r);

	/* A name like the host's shadow file: the root's own is read. */
	r = fresh_root("shadow");
	link_at(r, "etc/passwd", "/etc/shadow-like");
	PUT(r, "etc/shadow-like", "alice:x:1234:1234::/in/root:/bin/sh\n");
	good(r, "alice", NONE, 1234, 1234, "", "/in/root");
	close(r);

	/* /etc/group leads out while /etc/passwd is fine. */
	r = fresh_root("group-out");
	PUT(r, "etc/passwd", passwd);
	decoy = ctrk_strdup_printf("%s/decoy/etc/group", sandbox);
	link_at(r, "etc/group", decoy);
	ok(reaches_decoy("etc/group", "etc/group"), "[%s] group-out: followed on the host, it is the decoy", pass);
	good(r, "alice", NONE, 1000, 1000, "", "/home/alice");
	good(r, "", NONE, 0, 0, "", "/root");
	bad(r, "alice", EXTRA("decoy"), "no group 'decoy'");
	free(decoy);
	close(r);
}

/* Relative symlinks climbing out with "..": clamped at the root. */
static void
test_relative(void)
{
	/* etc/passwd -> ../lib/p1 -> ../../decoy/etc/passwd: on the host,
	 * ROOT/lib/../../decoy is SANDBOX/decoy. */
	int r = fresh_root("relative");
	link_at(r, "etc/passwd", "../lib/p1");
	link_at(r, "lib/p1", "../../decoy/etc/passwd");
	ok(reaches_decoy("etc/passwd", "etc/passwd"), "[%s] relative: followed on the host, it is the decoy", pass);
	bad(r, "alice", NONE, "no user 'alice': the container has no /etc/passwd");
	PUT(r, "decoy/etc/passwd", passwd); /* ROOT/lib/../.. is ROOT */
	good(r, "alice", NONE, 1000, 1000, "", "/home/alice");
	close(r);

	/* Far more ".." than there are levels, then the decoy's full path. */
	r = fresh_root("deep");
	char *t = ctrk_strdup_printf("../../../../../../../../../../../../..%s/decoy/etc/passwd", sandbox);
	link_at(r, "etc/passwd", t);
	ok(reaches_decoy("etc/passwd", "etc/passwd"), "[%s] deep: followed on the host, it is the decoy", pass);
	bad(r, "alice", NONE, "no user 'alice'");
	char *inside = ctrk_strdup_printf("%s/decoy/etc/passwd", sandbox + 1);
	PUT(r, inside, passwd);
	good(r, "alice", NONE, 1000, 1000, "", "/home/alice");
	free(inside);
	free(t);
	close(r);

	/* ".." from a directory reached through symlinks is its real parent:
	 * etc -> /x/y/etc, x/y/etc/passwd -> ../../../z/passwd is z/passwd. */
	r = fresh_root("dotdot");
	link_at(r, "etc", "/x/y/etc");
	link_at(r, "x/y/etc/passwd", "../../../z/passwd");
	PUT(r, "z/passwd", passwd);
	good(r, "bob", NONE, 1001, 100, "", "/home/bob");
	close(r);
}

/* /etc itself leads out. */
static void
test_etc_out(void)
{
	int r = fresh_root("etc-absolute");
	char *decoy = ctrk_strdup_printf("%s/decoy/etc", sandbox);
	link_at(r, "etc", decoy);
	ok(reaches_decoy("etc/passwd", "etc/passwd"), "[%s] etc-absolute: followed on the host, it is the decoy",
	   pass);
	bad(r, "alice", NONE, "no user 'alice': the container has no /etc/passwd");
	bad(r, "0", EXTRA("decoy"), "no group 'decoy': the container has no /etc/group");
	good(r, "", NONE, 0, 0, "", NULL);
	free(decoy);
	close(r);

	r = fresh_root("etc-relative");
	link_at(r, "etc", "../decoy/etc");
	ok(reaches_decoy("etc/passwd", "etc/passwd"), "[%s] etc-relative: followed on the host, it is the decoy",
	   pass);
	bad(r, "alice", NONE, "no user 'alice': the container has no /etc/passwd");
	good(r, "", NONE, 0, 0, "", NULL);
	close(r);
}

static double
since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Files that are no files: refused, at once, without reading. */
static void
test_not_files(void)
{
	struct timespec t0;
	int r = fresh_root("fifo");
	mkparents(r, "etc/passwd");
	if (mkfifoat(r, "etc/passwd", 0644) < 0)
		printf("# mkfifo: %s\n", strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bad(r, "alice", NONE, "the container's /etc/passwd is not a regular file");
	bad(r, "1000", NONE, "the container's /etc/passwd is not a regular file");
	ok(since(&t0) < 2.0, "[%s] fifo: refused without waiting (%.3fs)", pass, since(&t0));
	close(r);

	r = fresh_root("group-fifo");
	PUT(r, "etc/passwd", passwd);
	mkparents(r, "etc/group");
	mkfifoat(r, "etc/group", 0644);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bad(r, "alice", NONE, "the container's /etc/group is not a regular file");
	ok(since(&t0) < 2.0, "[%s] group fifo: refused without waiting (%.3fs)", pass, since(&t0));
	close(r);

	/* /dev/zero is the root's own: missing, then a device node. */
	r = fresh_root("zero");
	link_at(r, "etc/passwd", "/dev/zero");
	bad(r, "alice", NONE, "no user 'alice': the container has no /etc/passwd");
	good(r, "1000", NONE, 1000, 0, "", NULL);
	mkparents(r, "dev/zero");
	if (mknodat(r, "dev/zero", S_IFCHR | 0666, makedev(1, 5)) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		bad(r, "alice", NONE, "the container's /etc/passwd is not a regular file");
		ok(since(&t0) < 2.0, "[%s] device: refused without reading (%.3fs)", pass, since(&t0));
	} else {
		ok(1, "[%s] device # SKIP mknod: %s", pass, strerror(errno));
	}
	close(r);

	r = fresh_root("directory");
	mkparents(r, "etc/passwd/x");
	bad(r, "alice", NONE, "the container's /etc/passwd is not a regular file");
	close(r);

	/* Pointing at the root itself, by ".." and by "/". */
	r = fresh_root("to-root");
	link_at(r, "etc/passwd", "../../..");
	link_at(r, "etc/group", "/");
	bad(r, "alice", NONE, "the container's /etc/passwd is not a regular file");
	close(r);

	/* "passwd/": a file where a directory must be. */
	r = fresh_root("trailing-slash");
	PUT(r, "etc/real", passwd);
	link_at(r, "etc/passwd", "real/");
	bad(r, "alice", NONE, "cannot open the container's /etc/passwd: Not a directory");
	close(r);
}

static void
test_loops(void)
{
	int r = fresh_root("loop");
	link_at(r, "etc/passwd", "passwd");
	bad(r, "alice", NONE, "cannot open the container's /etc/passwd: Too many levels of symbolic links");
	close(r);

	/* 40 symlinks are followed, as by the kernel; 41 are not. */
	for (int n = 40; n <= 41; n++) {
		r = fresh_root(n == 40 ? "chain-40" : "chain-41");
		PUT(r, "etc/real", passwd);
		link_at(r, "etc/passwd", "/l/1");
		for (int i = 1; i < n; i++) {
			char name[32], target[32];
			snprintf(name, sizeof name, "l/%d", i);
			if (i + 1 < n)
				snprintf(target, sizeof target, "../l/%d", i + 1);
			else
				snprintf(target, sizeof target, "/etc/real");
			link_at(r, name, target);
		}
		if (n == 40)
			good(r, "alice", NONE, 1000, 1000, "", "/home/alice");
		else
			bad(r, "alice", NONE, "Too many levels of symbolic links");
		close(r);
	}
}

static void
test_sizes(void)
{
	const size_t max = 1 << 20;
	/* Exactly the limit: read; the NUL bytes after the line are skipped. */
	int r = fresh_root("exact");
	PUT(r, "etc/passwd", "alice:x:1000:1000::/home/alice:/bin/sh\n");
	int fd = openat(r, "etc/passwd", O_WRONLY | O_CLOEXEC);
	ok(fd >= 0 && ftruncate(fd, (off_t)max) == 0, "[%s] exact: %zu bytes", pass, max);
	if (fd >= 0)
		close(fd);
	good(r, "alice", NONE, 1000, 1000, "", "/home/alice");
	close(r);

	r = fresh_root("oversized");
	PUT(r, "etc/group", "big:x:1:alice\n");
	fd = openat(r, "etc/group", O_WRONLY | O_CLOEXEC);
	ok(fd >= 0 && ftruncate(fd, (off_t)max + 1) == 0, "[%s] oversized: %zu bytes", pass, max + 1);
	if (fd >= 0)
		close(fd);
	bad(r, "1000", NONE, "the container's /etc/group is larger than 1048576 bytes");
	close(r);
}

static void
run_all(void)
{
	test_specs();
	test_group_add();
	test_missing();
	test_absolute();
	test_relative();
	test_etc_out();
	test_not_files();
	test_loops();
	test_sizes();
}

/* --- openat2 on and off ------------------------------------------------------ */

/* run_user_resolve_text: the files' text as given, in buffers of their
 * exact size (no NUL after them), as the fuzz harness passes them. */
static void
test_text(void)
{
	static const char pw[] = {'a', 'p', 'p', ':', 'x', ':', '7', ':', '8', ':', ':', '/', 'h', ':', '/', 's'};
	static const char gr[] = {'g', ':', 'x', ':', '9', ':', 'a', 'p', 'p'};
	char *pwbuf = ctrk_xmalloc(sizeof pw), *grbuf = ctrk_xmalloc(sizeof gr);
	memcpy(pwbuf, pw, sizeof pw);
	memcpy(grbuf, gr, sizeof gr);
	run_user_t u;
	ctrk_error_t err = {0};
	ok(run_user_resolve_text(pwbuf, sizeof pw, grbuf, sizeof gr, "app", NULL, 0, &u, &err) == 0 && u.uid == 7 &&
		   u.gid == 8 && u.n_additional == 1 && u.additional_gids[0] == 9 && strcmp(u.home, "/h") == 0,
	   "text: an entry at the very end of an unterminated buffer: %s", err.msg);
	run_user_free(&u);
	/* The last field cut at the buffer's end: "ap" is no member "app". */
	ok(run_user_resolve_text(pwbuf, sizeof pw, grbuf, sizeof gr - 1, "app", NULL, 0, &u, &err) == 0 &&
		   u.n_additional == 0,
	   "text: a member name cut short is not the member");
	run_user_free(&u);
	ok(run_user_resolve_text(NULL, 0, NULL, 0, "app", NULL, 0, &u, &err) < 0 &&
		   strstr(err.msg, "the container has no /etc/passwd"),
	   "text: no files: %s", err.msg);
	ok(run_user_resolve_text(NULL, 0, NULL, 0, "5:6", (const char *[]){"7"}, 1, &u, &err) == 0 && u.uid == 5 &&
		   u.gid == 6 && u.n_additional == 1,
	   "text: numbers need no files");
	run_user_free(&u);
	free(pwbuf);
	free(grbuf);
}

int
main(void)
{
	test_text();
	/* A read that blocks (a fifo) must fail the test, not hang it. */
	alarm(120);
	if (!mkdtemp(sandbox)) {
		perror("mkdtemp");
		return 1;
	}
	int fds = count_fds();
	char *d = ctrk_strdup_printf("%s/decoy", sandbox);
	mkdir(d, 0755);
	int decoy = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
	PUT(decoy, "etc/passwd", decoy_passwd);
	PUT(decoy, "etc/group", decoy_group);
	close(decoy);
	free(d);

	run_with_and_without_openat2(run_all, &pass, ENOSYS);
	ok(count_fds() == fds, "no descriptor leaked (%d before, %d after)", fds, count_fds());

	rm_rf(sandbox);
	return done_testing();
}
