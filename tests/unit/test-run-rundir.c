/* ctrk-run's state directory seams: the cgroup parent named after
 * $CTRK_RUN (stable, "ctrk" for the default, a symlink resolves to its
 * target), and the rootfs lock (a second lock of the same directory is
 * refused and names the holder's pid; descriptors stay above a floor). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctrk-run/inuse.h"
#include "ctrk-run/rundir.h"
#include "error.h"
#include "fsutil.h"
#include "tap.h"

static void
test_cgroup_parent(const char *tmp)
{
	setenv("CTRK_RUN", "/run/ctrk", 1);
	char *p = rundir_cgroup_parent();
	is_str(p, "ctrk", "the default state directory keeps the plain 'ctrk' parent");
	free(p);

	/* FNV-1a of the path, worked out independently (python). */
	setenv("CTRK_RUN", "/tmp/ctrk-unit-nonexistent/run", 1);
	p = rundir_cgroup_parent();
	is_str(p, "ctrk-bb65c32d", "another state directory: ctrk- and the FNV-1a hash of its path");
	free(p);

	char *real = ctrk_strdup_printf("%s/real", tmp), *link = ctrk_strdup_printf("%s/link", tmp);
	mkdir(real, 0700);
	ok(symlink(real, link) == 0, "symlink made");
	setenv("CTRK_RUN", real, 1);
	char *a = rundir_cgroup_parent();
	setenv("CTRK_RUN", link, 1);
	char *b = rundir_cgroup_parent();
	is_str(b, a, "a symlink to a state directory names the same parent");
	ok(strlen(a) == 13 && strncmp(a, "ctrk-", 5) == 0, "the parent is short: '%s'", a);
	char *path = rundir_path();
	is_str(path, real, "the state directory's canonical path");
	free(path);
	free(a);
	free(b);
	unlink(link);
	rmdir(real);
	free(real);
	free(link);
}

static void
test_rootfs_lock(const char *tmp)
{
	char *run = ctrk_strdup_printf("%s/run", tmp), *rootfs = ctrk_strdup_printf("%s/rootfs", tmp);
	mkdir(run, 0700);
	mkdir(rootfs, 0700);
	setenv("CTRK_RUN", run, 1);
	int before = count_fds();
	ctrk_error_t err = {0};
	int fd = inuse_lock_rootfs(rootfs, 20, &err);
	ok(fd >= 20, "the lock is taken, on a descriptor at or above the floor (%d)", fd);
	ok((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "and close-on-exec");
	int again = inuse_lock_rootfs(rootfs, 20, &err);
	ok(again < 0, "a second lock of the same rootfs is refused");
	char want[64];
	snprintf(want, sizeof want, "(owner pid %d)", (int)getpid());
	ok(strstr(err.msg, "is in use by another container") && strstr(err.msg, want) &&
		   strstr(err.msg, "use --force"),
	   "the refusal names the owner's pid and --force: %s", err.msg);
	close(fd);
	fd = inuse_lock_rootfs(rootfs, 0, &err);
	ok(fd >= 0, "once let go, the rootfs can be locked again");
	close(fd);
	ok(count_fds() == before, "no descriptor is left open");
	char *file = ctrk_strdup_printf("%s/file", tmp);
	close(open(file, O_CREAT | O_WRONLY, 0600));
	ok(inuse_lock_rootfs(file, 0, &err) < 0 && strstr(err.msg, "cannot open root file system"),
	   "a file is no rootfs: %s", err.msg);
	unlink(file);
	free(file);
	rmdir(rootfs);
	rmdir(run);
	free(run);
	free(rootfs);
}

int
main(void)
{
	char tmpl[] = "/tmp/test-run-rundir.XXXXXX";
	const char *tmp = mkdtemp(tmpl);
	if (!tmp)
		return 2;
	test_cgroup_parent(tmp);
	test_rootfs_lock(tmp);
	rmdir(tmp);
	return done_testing();
}
