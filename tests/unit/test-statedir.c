/* Private state directories: created 0700 whatever the umask, tightened
 * with one warning, symlinks and other users' directories refused. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "statedir.h"
#include "tap.h"

static char top[] = "/tmp/ctrk-test-statedir-XXXXXX";

static unsigned
mode_of(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 01000000;
}

/* ctrk_private_dir(ROOT, SUB) with stderr in a file; *WARNINGS the text
 * it printed (caller frees). */
static int
private_dir(const char *root, const char *sub, char **warnings, ctrk_error_t *err)
{
	cleanup_free char *log = ctrk_strdup_printf("%s/stderr", top);
	int saved = dup(2);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	int rc = ctrk_private_dir(root, sub, err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	size_t len;
	ctrk_error_t ignored;
	if (ctrk_read_file(log, 1 << 16, warnings, &len, &ignored) < 0)
		*warnings = ctrk_xstrdup("");
	return rc;
}

static void
test_create(void)
{
	ctrk_error_t err = {0};
	cleanup_free char *root = ctrk_strdup_printf("%s/a/b/root", top);
	cleanup_free char *warn = NULL;
	mode_t old = umask(0777);
	int rc = private_dir(root, "content/blobs/sha256", &warn, &err);
	umask(old);
	ok(rc == 0, "made under umask 0777 (%s)", err.msg);
	const char *subs[] = {"/a", "/a/b", "/a/b/root", "/a/b/root/content", "/a/b/root/content/blobs",
			      "/a/b/root/content/blobs/sha256"};
	for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
		cleanup_free char *p = ctrk_strdup_printf("%s%s", top, subs[i]);
		ok(mode_of(p) == 0700, "%s is 0700 (%04o)", subs[i], mode_of(p));
	}
	is_str(warn, "", "nothing said about what it made");
}

static void
test_tighten(void)
{
	ctrk_error_t err = {0};
	cleanup_free char *root = ctrk_strdup_printf("%s/loose", top);
	cleanup_free char *content = ctrk_strdup_printf("%s/content", root);
	cleanup_free char *tight = ctrk_strdup_printf("%s/tight", root);
	mkdir(root, 0);
	chmod(root, 0755);
	mkdir(content, 0);
	chmod(content, 02777);
	mkdir(tight, 0);
	chmod(tight, 0500);
	cleanup_free char *warn = NULL, *warn2 = NULL, *warn3 = NULL;
	ok(private_dir(root, "content", &warn, &err) == 0, "loose dirs tightened (%s)", err.msg);
	ok(mode_of(root) == 0700 && mode_of(content) == 0700, "both are 0700");
	cleanup_free char *want = ctrk_strdup_printf("ctrk: warning: '%s' was mode 0755: now 0700\n"
						     "ctrk: warning: '%s' was mode 2777: now 0700\n",
						     root, content);
	is_str(warn, want, "one warning each");
	ok(private_dir(root, "content", &warn2, &err) == 0, "opened again");
	is_str(warn2, "", "nothing said the second time");
	ok(private_dir(root, "tight", &warn3, &err) == 0 && mode_of(tight) == 0700,
	   "a tighter one is set to 0700");
	is_str(warn3, "", "silently");
}

static void
test_refuse(void)
{
	ctrk_error_t err = {0};
	cleanup_free char *target = ctrk_strdup_printf("%s/target", top);
	cleanup_free char *link = ctrk_strdup_printf("%s/link", top);
	cleanup_free char *root = ctrk_strdup_printf("%s/r", top);
	cleanup_free char *sublink = ctrk_strdup_printf("%s/r/content", top);
	cleanup_free char *other = ctrk_strdup_printf("%s/other", top);
	cleanup_free char *file = ctrk_strdup_printf("%s/file", top);
	cleanup_free char *w1 = NULL, *w2 = NULL, *w3 = NULL, *w4 = NULL, *w5 = NULL, *w6 = NULL;
	mkdir(target, 0);
	chmod(target, 0755);
	if (symlink(target, link) < 0)
		printf("# symlink failed\n");
	ok(private_dir(link, NULL, &w1, &err) < 0 && strstr(err.msg, "is a symbolic link"),
	   "a symlinked root is refused (%s)", err.msg);
	ok(mode_of(target) == 0755, "what it points to is left alone");

	mkdir(root, 0700);
	if (symlink(target, sublink) < 0)
		printf("# symlink failed\n");
	ok(private_dir(root, "content/blobs", &w2, &err) < 0 && strstr(err.msg, "is a symbolic link"),
	   "a symlink below the root is refused (%s)", err.msg);
	cleanup_free char *through = ctrk_strdup_printf("%s/blobs", target);
	ok(!ctrk_path_exists(through) && mode_of(target) == 0755, "nothing made through it");

	mkdir(other, 0755);
	ok(chown(other, 4321, 4321) == 0, "chown");
	ok(private_dir(other, NULL, &w3, &err) < 0 && strstr(err.msg, "is owned by uid 4321"),
	   "another user's is refused (%s)", err.msg);
	ok(mode_of(other) == 0755, "and left as it was");

	close(open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	ok(private_dir(file, NULL, &w4, &err) < 0 && err.errnum == ENOTDIR, "a file is refused (%s)", err.msg);
	ok(private_dir(root, "../x", &w5, &err) < 0 && strstr(err.msg, "not a path below"),
	   "'..' in SUB is refused (%s)", err.msg);
	ok(private_dir("/", NULL, &w6, &err) < 0 && mode_of("/") != 0700, "'/' is refused (%s)", err.msg);
}

int
main(void)
{
	if (!mkdtemp(top))
		return 1;
	test_create();
	test_tighten();
	test_refuse();
	rm_rf(top);
	return done_testing();
}
