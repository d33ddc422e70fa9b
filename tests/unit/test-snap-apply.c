/* ctrk-snap's layer applier: hostile layers stay inside the root, benign
 * ones keep every type and all their metadata, whiteouts in both modes,
 * diff_ids of plain, gzip and zstd layers.
 *
 * Everything happens in a sandbox SANDBOX/{root,outside,corpus}: the hostile
 * layers (tests/fixtures/hostile-layers.py) aim at SANDBOX/outside, which
 * must be untouched after each of them, in both whiteout modes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctrk-snap/apply.h"
#include "extract.h"
#include "fsutil.h"
#include "tap.h"

#define MTIME 1700000000

static char sandbox[] = "/tmp/ctrk-test-apply-XXXXXX";
static char *root, *outside, *corpus;

static const char *mode_name[] = {"overlay", "delete"};

static int
run(const char *cmd)
{
	int rc = system(cmd);
	if (rc != 0)
		printf("# '%s' exited %d\n", cmd, rc);
	return rc;
}

/* A fresh, empty root; its descriptor. */
static int
fresh_root(void)
{
	rm_rf(root);
	if (mkdir(root, 0755) < 0)
		printf("# mkdir %s: %s\n", root, strerror(errno));
	return open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int
apply_file(int rootfd, const char *file, apply_whiteouts_t mode, char diff_id[CTRK_DIGEST_LEN + 1],
	   apply_stats_t *stats, ctrk_error_t *err)
{
	char *path = file[0] == '/' ? ctrk_xstrdup(file) : ctrk_strdup_printf("%s/%s", corpus, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return ctrk_error_errno(err, "open '%s'", file);
	int rc = apply_layer(rootfd, fd, mode, diff_id, stats, NULL, err);
	close(fd);
	return rc;
}

/* ---- the outside, before and after ---- */

typedef struct outside_state {
	struct stat sandbox, dir, canary, victim;
	char canary_data[64], victim_data[64];
	int nsandbox, noutside;
} outside_state_t;

static int
count_entries(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void
read_small(const char *path, char *buf, size_t size)
{
	memset(buf, 0, size);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, buf, size - 1) < 0)
			buf[0] = '\0';
		close(fd);
	}
}

static void
outside_snap(outside_state_t *s)
{
	memset(s, 0, sizeof *s);
	char *canary = ctrk_strdup_printf("%s/canary", outside);
	char *victim = ctrk_strdup_printf("%s/victim", outside);
	lstat(sandbox, &s->sandbox);
	lstat(outside, &s->dir);
	lstat(canary, &s->canary);
	lstat(victim, &s->victim);
	read_small(canary, s->canary_data, sizeof s->canary_data);
	read_small(victim, s->victim_data, sizeof s->victim_data);
	s->nsandbox = count_entries(sandbox);
	s->noutside = count_entries(outside);
	free(canary);
	free(victim);
}

static int
same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_mode == b->st_mode && a->st_nlink == b->st_nlink &&
	       a->st_uid == b->st_uid && a->st_gid == b->st_gid && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int
outside_same(const outside_state_t *a, const outside_state_t *b)
{
	return same_stat(&a->sandbox, &b->sandbox) && same_stat(&a->dir, &b->dir) &&
	       same_stat(&a->canary, &b->canary) && same_stat(&a->victim, &b->victim) &&
	       strcmp(a->canary_data, b->canary_data) == 0 && strcmp(a->victim_data, b->victim_data) == 0 &&
	       a->nsandbox == b->nsandbox && a->noutside == b->noutside && a->noutside == 4 &&
	       a->canary.st_nlink == 1 && S_ISDIR(a->dir.st_mode);
}

/* ---- hostile layers ---- */

typedef struct expect {
	const char *name;
	int fails;	 /* 1: must fail, 0: must succeed, -1: either */
	int fails_delete; /* the same in DELETE mode, when it differs (else -2) */
	const char *msg; /* a part of the error message */
	const char *made; /* a path that must exist below the root on success */
} expect_t;

static const expect_t expects[] = {
	{"dotdot", 1, -2, "layer entry '../escape' leads out of the root", NULL},
	{"abs-path", 0, -2, NULL, "abs/path"},
	{"dotdot-middle", 1, -2, "leads out of the root", NULL},
	{"dotdot-middle-outside", 1, -2, "leads out of the root", NULL},
	{"symlink-root", 0, -2, NULL, "@/evil"},
	{"symlink-chain", 0, -2, NULL, "@/evil"},
	/* A dangling symlink's target is made, inside the root (as containerd
	 * does): the overlay driver cannot tell whether it dangles below. */
	{"symlink-chain-rel", 0, -2, NULL, "outside/evil"},
	{"symlink-dotdot-dir", 0, -2, NULL, "evil"},
	{"symlink-outside-abs", 0, -2, NULL, "@/evil"},
	{"symlink-outside-rel", 0, -2, NULL, "outside/evil"},
	{"symlink-parent-replaced", 0, -2, NULL, "@/evil"},
	{"symlink-parent-replaced-root", 0, -2, NULL, "@/evil"},
	{"symlink-then-file", 0, -2, NULL, "canary"},
	{"symlink-then-dir", 0, -2, NULL, "s"},
	{"symlink-then-fifo", 0, -2, NULL, "s"},
	{"symlink-then-symlink", 0, -2, NULL, NULL},
	{"symlink-then-hardlink-over", 0, -2, NULL, "s"},
	{"hardlink-etc-passwd", 1, -2, "layer entry 'h': hardlink target 'etc/passwd' does not exist", NULL},
	{"hardlink-abs-outside", 1, -2, "does not exist", NULL},
	{"hardlink-dotdot", 1, -2, "layer entry 'h': hardlink target '../outside/canary' leads out of the root", NULL},
	{"hardlink-via-symlink-dir", 1, -2, "does not exist", NULL},
	{"hardlink-via-symlink-rel", 1, -2, "does not exist", NULL},
	/* link(2) links a symlink itself: so does a layer. */
	{"hardlink-to-symlink", 0, -2, NULL, "h"},
	{"hardlink-to-dir", 1, -2, "layer entry 'h': hardlink target 'dd' is a directory", NULL},
	{"hardlink-to-root", 1, -2, "is a directory", NULL},
	/* OVERLAY makes the whiteout where the symlink points, inside the
	 * root (apply_overlay_fixup() removes it: nothing below); DELETE has
	 * nothing to delete there. */
	{"whiteout-via-symlink", 0, -2, NULL, NULL},
	{"whiteout-via-symlink-rel", 0, -2, NULL, NULL},
	{"whiteout-via-symlink-root", 0, -2, NULL, NULL},
	{"opaque-via-symlink", 0, -2, NULL, NULL},
	{"opaque-via-symlink-rel", 0, -2, NULL, NULL},
	{"whiteout-dotdot-path", 1, -2, "leads out of the root", NULL},
	{"whiteout-dotdot-name", 1, -2, "invalid whiteout", NULL},
	{"whiteout-dot-name", 1, -2, "invalid whiteout", NULL},
	{"whiteout-empty-name", 1, -2, "invalid whiteout", NULL},
	{"opaque-dotdot", 1, -2, "leads out of the root", NULL},
	{"long-path", 1, -2, "File name too long", NULL},
	{"long-name", 1, -2, "File name too long", NULL},
	/* libarchive reads a file named "./" as a directory: the root. */
	{"root-as-file", -1, -2, NULL, NULL},
	{"overlay-xattr", 0, -2, NULL, "o"},
	{"chardev-0-0", 1, -2, "layer entry 'wh': a character device 0:0 is an overlay whiteout", NULL},
	{"dev-major-huge", 1, -2, "layer entry 'big': device number 4096:0 is out of range", NULL},
	{"dev-minor-huge", 1, -2, "layer entry 'big': device number 0:1048576 is out of range", NULL},
	{"dev-both-huge", 1, -2, "device number 4097:1048577 is out of range", NULL},
};

static const expect_t *
find_expect(const char *name)
{
	for (size_t i = 0; i < sizeof expects / sizeof *expects; i++)
		if (strcmp(expects[i].name, name) == 0)
			return &expects[i];
	return NULL;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_hostile_one(const char *file, apply_whiteouts_t mode)
{
	char name[256];
	snprintf(name, sizeof name, "%.*s", (int)(strlen(file) - strlen("hostile-") - strlen(".tar")),
		 file + strlen("hostile-"));
	const expect_t *x = find_expect(name);
	int rootfd = fresh_root();
	if (mode == APPLY_WHITEOUTS_DELETE) {
		/* Something for whiteouts to find inside. */
		char *v = ctrk_strdup_printf("%s/victim", root);
		ctrk_write_file_atomic(v, "inside\n", 7, 0644, NULL);
		free(v);
	}
	outside_state_t before, after;
	outside_snap(&before);

	char diff_id[CTRK_DIGEST_LEN + 1];
	apply_stats_t stats;
	ctrk_error_t err = {0};
	int rc = apply_file(rootfd, file, mode, diff_id, &stats, &err);
	close(rootfd);
	outside_snap(&after);

	ok(outside_same(&before, &after), "%s (%s): nothing outside the root changed", name, mode_name[mode]);
	ok(!ctrk_path_exists("/evil") && !ctrk_path_exists("/escape") && !ctrk_path_exists("/abs/path"),
	   "%s (%s): nothing in the host's /", name, mode_name[mode]);
	if (rc < 0)
		printf("#   %s\n", err.msg);
	if (!x) {
		ok(0, "%s: no expectation in the test", name);
		return;
	}
	int fails = mode == APPLY_WHITEOUTS_DELETE && x->fails_delete != -2 ? x->fails_delete : x->fails;
	if (fails == 1)
		ok(rc < 0 && (!x->msg || strstr(err.msg, x->msg)), "%s (%s): refused ('%s')", name, mode_name[mode],
		   x->msg ? x->msg : "");
	else if (fails == 0)
		ok(rc == 0, "%s (%s): applied inside the root", name, mode_name[mode]);
	if (rc == 0 && x->made) {
		/* "@" stands for the outside directory's path, below the root. */
		char *p = x->made[0] == '@' ? ctrk_strdup_printf("%s%s%s", root, outside, x->made + 1)
					    : ctrk_strdup_printf("%s/%s", root, x->made);
		ok(ctrk_path_exists(p), "%s (%s): '%s' made inside the root", name, mode_name[mode], p + strlen(root));
		free(p);
	}
}

static void
test_hostile(void)
{
	DIR *d = opendir(corpus);
	char *names[256];
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)) && n < 256)
		if (strncmp(de->d_name, "hostile-", 8) == 0)
			names[n++] = ctrk_xstrdup(de->d_name);
	if (d)
		closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	ok(n == sizeof expects / sizeof *expects, "%zu hostile layers, %zu expectations", n,
	   sizeof expects / sizeof *expects);
	for (size_t i = 0; i < n; i++) {
		test_hostile_one(names[i], APPLY_WHITEOUTS_OVERLAY);
		test_hostile_one(names[i], APPLY_WHITEOUTS_DELETE);
		free(names[i]);
	}

	/* The details of a few. */
	int rootfd = fresh_root();
	char diff_id[CTRK_DIGEST_LEN + 1];
	apply_stats_t stats;
	ctrk_error_t err = {0};
	struct stat st;
	ok(apply_file(rootfd, "hostile-symlink-then-file.tar", APPLY_WHITEOUTS_OVERLAY, diff_id, &stats, &err) == 0,
	   "a file over a symlink");
	ok(fstatat(rootfd, "canary", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_size == 5 &&
		   (st.st_mode & 07777) == 0777,
	   "replaced the symlink, not written through it");
	ok(apply_file(rootfd, "hostile-symlink-then-dir.tar", APPLY_WHITEOUTS_OVERLAY, diff_id, &stats, &err) == 0 &&
		   fstatat(rootfd, "s", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
		   (st.st_mode & 07777) == 0777,
	   "a directory over a symlink replaces it");
	char target[PATH_MAX] = {0};
	struct stat sym;
	ok(apply_file(rootfd, "hostile-hardlink-to-symlink.tar", APPLY_WHITEOUTS_DELETE, diff_id, &stats, &err) == 0 &&
		   fstatat(rootfd, "h", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
		   fstatat(rootfd, "s", &sym, AT_SYMLINK_NOFOLLOW) == 0 && sym.st_ino == st.st_ino &&
		   st.st_nlink == 2 && readlinkat(rootfd, "h", target, sizeof target - 1) > 0 &&
		   strncmp(target, outside, strlen(outside)) == 0 && strcmp(target + strlen(outside), "/canary") == 0,
	   "a hardlink to a symlink is a second name of the symlink (%s)", err.msg);
	char *o = ctrk_strdup_printf("%s/o", root);
	ok(apply_file(rootfd, "hostile-overlay-xattr.tar", APPLY_WHITEOUTS_OVERLAY, diff_id, &stats, &err) == 0 &&
		   getxattr(o, "trusted.overlay.redirect", NULL, 0) < 0 && errno == ENODATA,
	   "overlayfs xattrs from a layer are dropped");
	free(o);
	close(rootfd);
}

/* ---- the benign layer ---- */

static int
stat_at(int rootfd, const char *path, struct stat *st)
{
	memset(st, 0, sizeof *st);
	return fstatat(rootfd, path, st, AT_SYMLINK_NOFOLLOW);
}

static void
file_digest(const char *file, char out[CTRK_DIGEST_LEN + 1])
{
	char *path = ctrk_strdup_printf("%s/%s", corpus, file);
	char *buf = NULL;
	size_t len = 0;
	ctrk_error_t err = {0};
	if (ctrk_read_file(path, 1 << 26, &buf, &len, &err) < 0)
		printf("# %s\n", err.msg);
	ctrk_digest_bytes(buf, len, out);
	free(buf);
	free(path);
}

static void
check_benign(int rootfd, const char *how)
{
	struct stat st;
	char buf[128];
	ssize_t n;

	ok(stat_at(rootfd, "etc/hostname", &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678 &&
		   (st.st_mode & 07777) == 0644 && st.st_mtim.tv_sec == MTIME && st.st_size == 5,
	   "%s: file owner, mode, mtime, size", how);
	ok(stat_at(rootfd, "bin/su", &st) == 0 && (st.st_mode & 07777) == 04755 && st.st_nlink == 2,
	   "%s: setuid kept after chown", how);
	struct stat link;
	ok(stat_at(rootfd, "bin/su-link", &link) == 0 && link.st_ino == st.st_ino && link.st_dev == st.st_dev,
	   "%s: hardlink is the same inode", how);
	ok(stat_at(rootfd, "bin/sgid", &st) == 0 && (st.st_mode & 07777) == 02755 && st.st_gid == 42,
	   "%s: setgid kept", how);
	ok(stat_at(rootfd, "bin/sh", &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid == 7 && st.st_gid == 8 &&
		   st.st_mtim.tv_sec == MTIME - 100,
	   "%s: symlink owner and mtime (not its target's)", how);
	n = readlinkat(rootfd, "bin/sh", buf, sizeof buf - 1);
	ok(n == 12 && memcmp(buf, "/bin/busybox", 12) == 0, "%s: symlink target kept as is", how);
	ok(stat_at(rootfd, "dev/null", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
		   minor(st.st_rdev) == 3 && (st.st_mode & 07777) == 0666,
	   "%s: character device 1,3 0666", how);
	ok(stat_at(rootfd, "dev/sda", &st) == 0 && S_ISBLK(st.st_mode) && major(st.st_rdev) == 8 &&
		   minor(st.st_rdev) == 0 && st.st_gid == 6 && (st.st_mode & 07777) == 0660,
	   "%s: block device 8,0", how);
	ok(stat_at(rootfd, "dev/fifo", &st) == 0 && S_ISFIFO(st.st_mode) && st.st_uid == 3 &&
		   (st.st_mode & 07777) == 0620 && st.st_mtim.tv_sec == MTIME,
	   "%s: fifo", how);
	ok(stat_at(rootfd, "tmp", &st) == 0 && (st.st_mode & 07777) == 01777, "%s: sticky directory", how);

	char *caps = ctrk_strdup_printf("%s/caps", root);
	n = getxattr(caps, "user.test", buf, sizeof buf);
	ok(n == 5 && memcmp(buf, "hello", 5) == 0, "%s: xattr user.test", how);
	static const unsigned char cap[20] = {0x01, 0, 0, 0x02, 0, 0x04};
	n = getxattr(caps, "security.capability", buf, sizeof buf);
	ok(n == 20 && memcmp(buf, cap, 20) == 0, "%s: security.capability survives chown", how);
	free(caps);

	ok(stat_at(rootfd, "deep/er/still", &st) == 0 && (st.st_mode & 07777) == 0700 &&
		   st.st_mtim.tv_sec == MTIME - 1000,
	   "%s: directory mtime set after its children", how);
	ok(stat_at(rootfd, "deep/er", &st) == 0 && (st.st_mode & 07777) == 0750 && st.st_mtim.tv_sec == MTIME - 2000,
	   "%s: an implicit parent updated by its own entry later", how);
	ok(stat_at(rootfd, "implicit/parents", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755,
	   "%s: missing parents made 0755", how);
	ok(stat_at(rootfd, "caf\xc3\xa9", &st) == 0, "%s: a UTF-8 name", how);

	ok(stat_at(rootfd, "sparse", &st) == 0 && st.st_size == 100 << 20 && st.st_blocks * 512 < (1 << 20),
	   "%s: sparse file of 100 MiB in %lld blocks", how, (long long)st.st_blocks);
	int fd = openat(rootfd, "sparse", O_RDONLY | O_CLOEXEC);
	char a = 0, b = 0, z = 1;
	if (fd >= 0) {
		(void)!pread(fd, &a, 1, 4095);
		(void)!pread(fd, &z, 1, 4096);
		(void)!pread(fd, &b, 1, (50 << 20) + 4095);
		close(fd);
	}
	ok(a == 'A' && b == 'B' && z == 0, "%s: sparse data at its offsets", how);
}

static void
test_benign(void)
{
	char want[CTRK_DIGEST_LEN + 1], diff_id[CTRK_DIGEST_LEN + 1];
	file_digest("benign.tar", want);
	struct stat tar;
	char *tarpath = ctrk_strdup_printf("%s/benign.tar", corpus);
	stat(tarpath, &tar);

	/* The same tar, three ways. */
	char *cmd = ctrk_strdup_printf("gzip -c '%s' > '%s.gz' && zstd -q -c '%s' > '%s.zst'", tarpath, tarpath,
				       tarpath, tarpath);
	ok(run(cmd) == 0, "compressed copies made");
	free(cmd);
	free(tarpath);
	static const char *files[] = {"benign.tar", "benign.tar.gz", "benign.tar.zst"};
	for (size_t i = 0; i < 3; i++) {
		for (int mode = 0; mode < 2; mode++) {
			int rootfd = fresh_root();
			apply_stats_t stats;
			ctrk_error_t err = {0};
			memset(diff_id, 0, sizeof diff_id);
			int rc = apply_file(rootfd, files[i], mode, diff_id, &stats, &err);
			ok(rc == 0, "%s (%s) applied", files[i], mode_name[mode]);
			if (rc < 0)
				printf("#   %s\n", err.msg);
			is_str(diff_id, want, "%s: diff_id is the sha256 of the tar", files[i]);
			ok(stats.entries == 21 && stats.bytes == tar.st_size, "%s: %lld entries, %lld bytes", files[i],
			   stats.entries, stats.bytes);
			char *how = ctrk_strdup_printf("%s %s", files[i], mode_name[mode]);
			if (i == 0 || mode == 0)
				check_benign(rootfd, how);
			free(how);
			close(rootfd);
		}
	}
}

/* ---- whiteouts ---- */

static int
is_whiteout(int rootfd, const char *path)
{
	struct stat st;
	return stat_at(rootfd, path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

static void
test_whiteouts(void)
{
	char diff_id[CTRK_DIGEST_LEN + 1];
	apply_stats_t stats;
	ctrk_error_t err = {0};
	struct stat st;
	char buf[8];

	/* OVERLAY: markers for overlayfs. */
	int rootfd = fresh_root();
	ok(apply_file(rootfd, "wh-upper.tar", APPLY_WHITEOUTS_OVERLAY, diff_id, &stats, &err) == 0,
	   "overlay: upper layer applied");
	ok(is_whiteout(rootfd, "x") && is_whiteout(rootfd, "gone-dir") && is_whiteout(rootfd, "keep/absent") &&
		   is_whiteout(rootfd, "missing/thing") && is_whiteout(rootfd, "fresh/fresh-child"),
	   "overlay: .wh.NAME became 0/0 character devices");
	char *d = ctrk_strdup_printf("%s/d", root);
	ssize_t n = getxattr(d, "trusted.overlay.opaque", buf, sizeof buf);
	ok(n == 1 && buf[0] == 'y', "overlay: .wh..wh..opq became trusted.overlay.opaque=y");
	free(d);
	ok(stat_at(rootfd, "d/new", &st) == 0 && stat_at(rootfd, "d/.wh..wh..opq", &st) < 0,
	   "overlay: the opaque directory's own file kept, no marker file");
	ok(stat_at(rootfd, "own", &st) == 0 && S_ISREG(st.st_mode), "overlay: a whiteout spares its own layer's file");
	ok(stat_at(rootfd, ".wh..wh.plnk", &st) < 0 && stat_at(rootfd, "plnk", &st) < 0, "overlay: aufs metadata ignored");
	close(rootfd);

	/* DELETE: base, then upper. */
	rootfd = fresh_root();
	ok(apply_file(rootfd, "wh-base.tar", APPLY_WHITEOUTS_DELETE, diff_id, &stats, &err) == 0 &&
		   apply_file(rootfd, "wh-upper.tar", APPLY_WHITEOUTS_DELETE, diff_id, &stats, &err) == 0,
	   "delete: base and upper applied (%s)", err.msg);
	ok(stat_at(rootfd, "x", &st) < 0 && errno == ENOENT && stat_at(rootfd, "gone-dir", &st) < 0,
	   "delete: .wh.x and .wh.gone-dir removed them");
	ok(stat_at(rootfd, "d/old1", &st) < 0 && stat_at(rootfd, "d/old2", &st) < 0, "delete: opaque d emptied");
	ok(stat_at(rootfd, "d/new", &st) == 0 && st.st_size == 4, "delete: the layer's own d/new kept");
	ok(stat_at(rootfd, "keep/k", &st) == 0, "delete: other directories untouched");
	ok(stat_at(rootfd, "missing", &st) < 0, "delete: a whiteout does not make its directory");
	ok(stat_at(rootfd, "own", &st) == 0 && S_ISREG(st.st_mode), "delete: a whiteout spares its own layer's file");
	ok(stat_at(rootfd, "fresh", &st) == 0 && stat_at(rootfd, "fresh/fresh-child", &st) < 0,
	   "delete: nothing made for whiteouts");
	d = ctrk_strdup_printf("%s/d", root);
	ok(getxattr(d, "trusted.overlay.opaque", buf, sizeof buf) < 0, "delete: no overlay xattr");
	free(d);
	close(rootfd);

	rootfd = fresh_root();
	ok(apply_file(rootfd, "wh-base.tar", APPLY_WHITEOUTS_DELETE, diff_id, &stats, &err) == 0 &&
		   apply_file(rootfd, "wh-upper-opaque-first.tar", APPLY_WHITEOUTS_DELETE, diff_id, &stats, &err) ==
			   0 &&
		   stat_at(rootfd, "d/old1", &st) < 0 && stat_at(rootfd, "d/new", &st) == 0,
	   "delete: opaque marker before the new file");
	close(rootfd);
}

static void
test_replace(void)
{
	char diff_id[CTRK_DIGEST_LEN + 1];
	apply_stats_t stats;
	ctrk_error_t err = {0};
	struct stat st;
	char buf[32] = {0};
	int rootfd = fresh_root();
	ok(apply_file(rootfd, "replace.tar", APPLY_WHITEOUTS_OVERLAY, diff_id, &stats, &err) == 0, "replace.tar (%s)",
	   err.msg);
	ok(stat_at(rootfd, "f", &st) == 0 && S_ISDIR(st.st_mode) && stat_at(rootfd, "f/in", &st) == 0,
	   "a directory replaces a file");
	ok(stat_at(rootfd, "g", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 11, "a file replaces a directory tree");
	ok(stat_at(rootfd, "s", &st) == 0 && S_ISDIR(st.st_mode), "a directory replaces a symlink");
	int fd = openat(rootfd, "h", O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && read(fd, buf, sizeof buf) == 4 && strcmp(buf, "two\n") == 0, "a file replaces a file");
	if (fd >= 0)
		close(fd);
	ok(stat_at(rootfd, "k", &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_uid == 9,
	   "a directory entry again updates its metadata");
	close(rootfd);
}

static void
test_bad_input(void)
{
	char diff_id[CTRK_DIGEST_LEN + 1];
	apply_stats_t stats;
	ctrk_error_t err = {0};
	char *junk = ctrk_strdup_printf("%s/junk", corpus);
	char *trunc = ctrk_strdup_printf("%s/trunc.tar.gz", corpus);
	ctrk_write_file_atomic(junk, "this is not a tar archive, not at all, no no no\n", 48, 0644, NULL);
	char *cmd = ctrk_strdup_printf("head -c 600 '%s/benign.tar.gz' > '%s'", corpus, trunc);
	run(cmd);
	free(cmd);
	int rootfd = fresh_root();
	ok(apply_file(rootfd, junk, APPLY_WHITEOUTS_OVERLAY, diff_id, &stats, &err) < 0 &&
		   strstr(err.msg, "not a tar archive"),
	   "junk refused (%s)", err.msg);
	ok(apply_file(rootfd, trunc, APPLY_WHITEOUTS_OVERLAY, diff_id, &stats, &err) < 0, "truncated gzip refused (%s)",
	   err.msg);
	ok(apply_layer(rootfd, -1, APPLY_WHITEOUTS_OVERLAY, diff_id, &stats, NULL, &err) < 0,
	   "bad descriptor refused (%s)", err.msg);
	close(rootfd);
	free(junk);
	free(trunc);
}

/* gzip's trailer (CRC-32 and length of each member) is checked, as gzip(1)
 * and Go's compress/gzip (containerd) check it; libarchive does not. */
static void
test_gzip_trailer(void)
{
	char *cmd = ctrk_strdup_printf(
		"cd '%s' && python3 -c 'import gzip, sys\n"
		"t = open(\"benign.tar\", \"rb\").read()\n"
		"z = bytearray(gzip.compress(t, mtime=0))\n"
		"def w(n, b): open(n, \"wb\").write(bytes(b))\n"
		"c = bytearray(z); c[-8] ^= 1; w(\"crc.tar.gz\", c)\n"
		"l = bytearray(z); l[-4] ^= 1; w(\"len.tar.gz\", l)\n"
		"w(\"garbage.tar.gz\", z + b\"garbage\")\n"
		"h = len(t) // 2\n"
		"w(\"members.tar.gz\", gzip.compress(t[:h], mtime=0) + gzip.compress(t[h:], mtime=0))\n"
		"w(\"empty-member.tar.gz\", gzip.compress(t, mtime=0) + gzip.compress(b\"\", mtime=0))\n'",
		corpus);
	ok(run(cmd) == 0, "gzip variants made");
	free(cmd);
	/* zstd checks its frames' checksums itself (zstd(1) writes one). */
	cmd = ctrk_strdup_printf("cd '%s' && zstd -q -c benign.tar > sum.tar.zst && python3 -c 'import sys\n"
				 "b = bytearray(open(\"sum.tar.zst\", \"rb\").read()); b[-1] ^= 1\n"
				 "open(\"sum.tar.zst\", \"wb\").write(b)'",
				 corpus);
	ok(run(cmd) == 0, "zstd variant made");
	free(cmd);
	static const struct {
		const char *file, *msg;
	} bad[] = {
		{"sum.tar.zst", "checksum"},
		{"crc.tar.gz", "incorrect data check"},
		{"len.tar.gz", "incorrect length check"},
		{"garbage.tar.gz", "data after the end of the gzip stream"},
	};
	char want[CTRK_DIGEST_LEN + 1], diff_id[CTRK_DIGEST_LEN + 1];
	file_digest("benign.tar", want);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		for (int mode = 0; mode < 2; mode++) {
			apply_stats_t stats;
			ctrk_error_t err = {0};
			int rootfd = fresh_root();
			int rc = apply_file(rootfd, bad[i].file, mode, diff_id, &stats, &err);
			ok(rc < 0 && strstr(err.msg, bad[i].msg), "%s (%s) refused (%s)", bad[i].file, mode_name[mode],
			   err.msg);
			close(rootfd);
		}
	}
	static const char *good[] = {"members.tar.gz", "empty-member.tar.gz"};
	for (size_t i = 0; i < 2; i++) {
		apply_stats_t stats;
		ctrk_error_t err = {0};
		int rootfd = fresh_root();
		memset(diff_id, 0, sizeof diff_id);
		ok(apply_file(rootfd, good[i], APPLY_WHITEOUTS_OVERLAY, diff_id, &stats, &err) == 0,
		   "%s: several gzip members are one stream (%s)", good[i], err.msg);
		is_str(diff_id, want, "%s: diff_id of the whole tar", good[i]);
		close(rootfd);
	}
}

/* Found by fuzz-layer: a layer path of almost PATH_MAX bytes made a tree
 * deeper than PATH_MAX below the snapshot's own path, which nftw(3) could
 * not remove (ENAMETOOLONG) nor cp -a copy (the native driver's prepare).
 * Such a path is refused now, and ctrk_remove_tree() removes any depth. */
static void
test_remove_deep(void)
{
	for (int mode = 0; mode < 2; mode++) {
		char diff_id[CTRK_DIGEST_LEN + 1];
		apply_stats_t stats;
		ctrk_error_t err = {0};
		int rootfd = fresh_root();
		ok(apply_file(rootfd, "deep.tar", mode, diff_id, &stats, &err) < 0 &&
			   strstr(err.msg, "is longer than 3072 bytes"),
		   "deep.tar (%s) refused (%s)", mode_name[mode], err.msg);
		ok(apply_file(rootfd, "long-name.tar", mode, diff_id, &stats, &err) < 0 &&
			   strstr(err.msg, "has a name longer than 255 bytes"),
		   "long-name.tar (%s) refused (%s)", mode_name[mode], err.msg);
		ok(apply_file(rootfd, "deep-symlink.tar", mode, diff_id, &stats, &err) < 0 &&
			   strstr(err.msg, "leads to a path longer than 3072 bytes"),
		   "deep-symlink.tar (%s) refused (%s)", mode_name[mode], err.msg);
		close(rootfd);
	}
	/* A tree deeper than PATH_MAX, made by hand. */
	ctrk_error_t err = {0};
	int fd = fresh_root();
	for (int i = 0; i < 40 && fd >= 0; i++) {
		char name[201];
		memset(name, 'd', 200);
		name[200] = '\0';
		mkdirat(fd, name, 0700);
		int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	int file = fd >= 0 ? openat(fd, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0600) : -1;
	ok(file >= 0, "a tree of 8 KiB of path made");
	if (file >= 0)
		close(file);
	if (fd >= 0)
		close(fd);
	ok(ctrk_remove_tree(root, &err) == 0 && !ctrk_path_exists(root), "and removed (%s)", err.msg);
	/* Still: a missing path is fine, a symlink is not followed. */
	ok(ctrk_remove_tree(root, &err) == 0, "a missing tree is no error");
	char *link = ctrk_strdup_printf("%s/link", sandbox);
	ok(symlink(outside, link) == 0 && ctrk_remove_tree(link, &err) == 0 && !ctrk_path_exists(link) &&
		   count_entries(outside) == 4,
	   "a symlink is removed, not followed");
	free(link);
}

/* A layer that names only "a/b/file": a and a/b are made 0755, whatever the
 * umask (077 would give 0700, and a non-root container user could not
 * reach the file). */
static void
test_implicit_dirs(void)
{
	char diff_id[CTRK_DIGEST_LEN + 1];
	apply_stats_t stats;
	ctrk_error_t err = {0};
	struct stat st;
	char *cmd = ctrk_strdup_printf("mkdir -p '%s/src/a/b' && echo x > '%s/src/a/b/file' && "
				       "tar -C '%s/src' -cf '%s/implicit.tar' a/b/file",
				       sandbox, sandbox, sandbox, corpus);
	int made = run(cmd);
	free(cmd);
	mode_t old = umask(077);
	int rootfd = fresh_root();
	ok(made == 0 && apply_file(rootfd, "implicit.tar", APPLY_WHITEOUTS_OVERLAY, diff_id, &stats, &err) == 0,
	   "a layer with implicit parent directories applied under umask 077 (%s)", err.msg);
	ok(stat_at(rootfd, "a", &st) == 0 && (st.st_mode & 07777) == 0755, "implicit 'a' is 0755 (%o)",
	   st.st_mode & 07777);
	ok(stat_at(rootfd, "a/b", &st) == 0 && (st.st_mode & 07777) == 0755, "implicit 'a/b' is 0755 (%o)",
	   st.st_mode & 07777);
	umask(old);
	close(rootfd);
}

/* ---- the drivers agree (see 025-snap-hostile-layers.bats for the trees) ---- */

/* Apply the layers TAG.0.tar ... TAG.(N-1).tar of an image of several
 * layers: DELETE, each onto the root; OVERLAY, each into root/lN (fixed up
 * over the ones below, as unpack.c does).  The last one's error in ERR. */
static int
apply_image(const char *tag, int n, apply_whiteouts_t mode, ctrk_error_t *err)
{
	int rootfd = fresh_root();
	int lower[8], rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		char *file = ctrk_strdup_printf("%s.%d.tar", tag, i);
		char diff_id[CTRK_DIGEST_LEN + 1];
		apply_stats_t stats;
		apply_fixups_t fix = {0};
		if (mode == APPLY_WHITEOUTS_DELETE) {
			rc = apply_file(rootfd, file, mode, diff_id, &stats, err);
		} else {
			char name[16];
			snprintf(name, sizeof name, "l%d", i);
			mkdirat(rootfd, name, 0755);
			lower[i] = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			char *path = ctrk_strdup_printf("%s/%s", corpus, file);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			rc = apply_layer(lower[i], fd, mode, diff_id, &stats, &fix, err);
			close(fd);
			free(path);
			int below[8];
			for (int j = 0; j < i; j++)
				below[j] = lower[i - 1 - j];
			if (rc == 0)
				rc = apply_overlay_fixup(lower[i], below, (size_t)i, &fix, err);
			apply_fixups_free(&fix);
		}
		free(file);
	}
	if (mode == APPLY_WHITEOUTS_OVERLAY)
		for (int i = 0; i < n; i++)
			close(lower[i]);
	close(rootfd);
	return rc;
}

static int
exists(const char *rel)
{
	char *p = ctrk_strdup_printf("%s/%s", root, rel);
	struct stat st;
	int r = lstat(p, &st) == 0;
	free(p);
	return r;
}

static mode_t
mode_of(const char *rel)
{
	char *p = ctrk_strdup_printf("%s/%s", root, rel);
	struct stat st = {0};
	lstat(p, &st);
	free(p);
	return st.st_mode;
}

static void
test_drivers_agree(void)
{
	ctrk_error_t err = {0};
	char buf[8];

	/* A directory after its whiteout hides what was below. */
	ok(apply_image("multi-wh-then-implicit-dir", 2, APPLY_WHITEOUTS_OVERLAY, &err) == 0 &&
		   S_ISDIR(mode_of("l1/d")) && exists("l1/d/new"),
	   "overlay: a whiteout then d/new (%s)", err.msg);
	char *d = ctrk_strdup_printf("%s/l1/d", root);
	ok(getxattr(d, "trusted.overlay.opaque", buf, sizeof buf) == 1 && buf[0] == 'y',
	   "overlay: the directory after its whiteout is opaque");
	free(d);
	ok(apply_image("multi-wh-then-dir", 2, APPLY_WHITEOUTS_DELETE, &err) == 0 && exists("d/new") &&
		   !exists("d/old") && !exists("d/sub") && (mode_of("d") & 07777) == 0700,
	   "delete: a whiteout then d/: only the new directory (%s)", err.msg);

	/* A directory replacing a fifo of its own layer hides what was below
	 * (found by fuzz-layer). */
	ok(apply_image("multi-fifo-then-dir", 2, APPLY_WHITEOUTS_OVERLAY, &err) == 0, "overlay: a fifo then d/ (%s)",
	   err.msg);
	d = ctrk_strdup_printf("%s/l1/d", root);
	ok(getxattr(d, "trusted.overlay.opaque", buf, sizeof buf) == 1 && buf[0] == 'y',
	   "overlay: the directory that replaced the fifo is opaque");
	free(d);

	/* An opaque marker keeps the layer's own entries in lower directories
	 * (found by fuzz-layer). */
	ok(apply_image("multi-opaque-root-own-in-lower-dir", 2, APPLY_WHITEOUTS_DELETE, &err) == 0 &&
		   exists("d/e/new") && !exists("d/old") && !exists("d/e/old") && (mode_of("d") & 07777) == 0755,
	   "delete: an opaque root keeps d/e/new, not the rest of d (%s)", err.msg);
	d = ctrk_strdup_printf("%s/d", root);
	ok(getxattr(d, "user.a", buf, sizeof buf) < 0, "delete: d is the layer's now, without the lower xattr");
	free(d);
	ok(apply_image("multi-wh-own-content", 2, APPLY_WHITEOUTS_DELETE, &err) == 0 && exists("d/new") &&
		   exists("d/old"),
	   "delete: a whiteout spares a directory its layer put something in (%s)", err.msg);

	/* Whiteouts of absent names leave nothing. */
	ok(apply_image("multi-wh-absent-new-dir", 2, APPLY_WHITEOUTS_OVERLAY, &err) == 0 && exists("l1/fresh/file") &&
		   !exists("l1/fresh/nothing"),
	   "overlay: a whiteout of an absent name in a new directory is removed (%s)", err.msg);
	ok(apply_image("multi-wh-absent-missing-dir", 2, APPLY_WHITEOUTS_OVERLAY, &err) == 0 &&
		   !exists("l1/missing") && !exists("l1/m1"),
	   "overlay: directories made only for such whiteouts go (%s)", err.msg);
	ok(apply_image("multi-wh-hidden-by-middle", 3, APPLY_WHITEOUTS_OVERLAY, &err) == 0 && exists("l2/d/keep") &&
		   !exists("l2/d/old"),
	   "overlay: a whiteout of a name a middle layer deleted is removed (%s)", err.msg);

	/* Implicit parents keep the metadata below them. */
	ok(apply_image("multi-implicit-parent-meta", 2, APPLY_WHITEOUTS_OVERLAY, &err) == 0 &&
		   (mode_of("l1/tmp") & 07777) == 01777 && (mode_of("l1/opt") & 07777) == 0700 &&
		   (mode_of("l1/opt/deep") & 07777) == 0711,
	   "overlay: implicit parents take the lower directory's mode (%s)", err.msg);

	/* What was below is never followed or linked to. */
	ok(apply_image("multi-symlink-parent-lower", 2, APPLY_WHITEOUTS_DELETE, &err) == 0 && S_ISDIR(mode_of("bin")) &&
		   exists("bin/foo") && !exists("usr/bin/foo"),
	   "delete: a lower layer's symlink on the way becomes a directory (%s)", err.msg);
	ok(apply_image("multi-file-parent-lower", 2, APPLY_WHITEOUTS_DELETE, &err) == 0 && S_ISDIR(mode_of("x")),
	   "delete: so does a lower layer's file (%s)", err.msg);
	ok(apply_image("multi-hardlink-to-lower", 2, APPLY_WHITEOUTS_DELETE, &err) < 0 &&
		   strstr(err.msg, "hardlink target 'x' does not exist in this layer"),
	   "delete: a hardlink to a lower layer's file is refused (%s)", err.msg);
	ok(apply_image("multi-wh-under-lower-symlink", 2, APPLY_WHITEOUTS_DELETE, &err) == 0 && exists("t/x"),
	   "delete: a whiteout through a lower symlink deletes nothing (%s)", err.msg);
}

int
main(void)
{
	if (!mkdtemp(sandbox)) {
		perror("mkdtemp");
		return 1;
	}
	root = ctrk_strdup_printf("%s/root", sandbox);
	outside = ctrk_strdup_printf("%s/outside", sandbox);
	corpus = ctrk_strdup_printf("%s/corpus", sandbox);
	mkdir(outside, 0755);
	char *p = ctrk_strdup_printf("%s/canary", outside);
	ctrk_write_file_atomic(p, "canary\n", 7, 0644, NULL);
	free(p);
	p = ctrk_strdup_printf("%s/victim", outside);
	ctrk_write_file_atomic(p, "victim\n", 7, 0644, NULL);
	free(p);
	p = ctrk_strdup_printf("/usr/bin/python3 tests/fixtures/hostile-layers.py '%s' '%s'", corpus, outside);
	int gen = run(p);
	free(p);
	ok(gen == 0, "corpus generated");

	int fds = count_fds();
	if (gen == 0) {
		test_hostile();
		test_benign();
		test_whiteouts();
		test_replace();
		test_bad_input();
		test_gzip_trailer();
		test_drivers_agree();
		test_remove_deep();
		test_implicit_dirs();
	}
	ok(count_fds() == fds, "no descriptor leaked (%d before, %d after)", fds, count_fds());

	rm_rf(sandbox);
	free(root);
	free(outside);
	free(corpus);
	return done_testing();
}
