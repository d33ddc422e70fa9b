/* lib/common/mountinfo: parsing mountinfo lines (escapes, overlay's
 * directories in both forms), which mounts use a directory, mount objects,
 * and the directory locks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "mountinfo.h"
#include "tap.h"

static const char table_text[] =
	"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	/* an overlay the classic way: a colon list, an escaped colon, a comma */
	"40 22 0:50 / /run/ctrk/c1/rootfs rw,relatime - overlay overlay "
	"rw,lowerdir=/s/overlay/1/fs:/s/a\\:b/fs,upperdir=/s/overlay/3/fs\\054x,workdir=/s/overlay/3/work\n"
	/* an overlay from fsconfig: one lowerdir+ per layer, read-only */
	"41 22 0:51 / /mnt/view rw - overlay overlay rw,lowerdir+=/s/overlay/1/fs,lowerdir+=/s/overlay/2/fs\n"
	/* a bind mount of a snapshot's fs: same device, root below */
	"42 22 8:1 /var/lib/ctrk/snapshots/native/7/fs /run/ctrk/n1/rootfs rw shared:1 master:2 - ext4 /dev/sda1 rw\n"
	/* a path with a space */
	"43 22 0:52 / /mnt/with\\040space rw - tmpfs tmpfs rw\n"
	/* the relative form containerd uses for long options */
	"44 22 0:53 / /mnt/rel rw - overlay overlay rw,lowerdir=1/fs:2/fs,upperdir=5/fs,workdir=5/work\n"
	"garbage line\n";

static void
test_parse(void)
{
	ctrk_mount_table_t t;
	ctrk_mount_table_parse(&t, table_text);
	ok(t.n == 6, "6 mounts, the garbage line skipped (%zu)", t.n);
	if (t.n != 6) {
		ctrk_mount_table_free(&t);
		return;
	}
	ok(t.v[0].id == 22 && t.v[0].parent == 1 && t.v[0].dev == makedev(8, 1), "id, parent, device");
	is_str(t.v[0].fstype, "ext4", "type");
	is_str(t.v[0].source, "/dev/sda1", "source");
	ok(t.v[0].ndirs == 0 && !t.v[0].upperdir, "ext4: no overlay directories");

	const ctrk_mount_entry_t *o = &t.v[1];
	ok(o->nlowers == 2, "two lowers (%zu)", o->nlowers);
	if (o->nlowers == 2) {
		is_str(o->lowers[0], "/s/overlay/1/fs", "first lower");
		is_str(o->lowers[1], "/s/a:b/fs", "an escaped colon is part of the path");
	}
	is_str(o->upperdir, "/s/overlay/3/fs,x", "\\054 is a comma");
	ok(o->ndirs == 4, "lowers, upper and work are its directories (%zu)", o->ndirs);

	const ctrk_mount_entry_t *v = &t.v[2];
	ok(v->nlowers == 2 && !v->upperdir, "lowerdir+ one by one, no upper");
	if (v->nlowers == 2)
		is_str(v->lowers[1], "/s/overlay/2/fs", "second lowerdir+");
	is_str(t.v[3].root, "/var/lib/ctrk/snapshots/native/7/fs", "a bind mount's root");
	is_str(t.v[4].target, "/mnt/with space", "\\040 is a space");
	ctrk_mount_table_free(&t);
}

static void
test_path_under(void)
{
	ok(ctrk_path_under("/a/b", "/a"), "/a/b under /a");
	ok(ctrk_path_under("/a", "/a"), "/a under /a");
	ok(ctrk_path_under("/a", "/a/"), "/a under /a/");
	ok(!ctrk_path_under("/ab", "/a"), "/ab not under /a");
	ok(!ctrk_path_under("/", "/a"), "/ not under /a");
	ok(ctrk_path_under("/x", "/"), "everything under /");
}

static void
test_uses_dir(void)
{
	ctrk_mount_table_t t;
	ctrk_mount_table_parse(&t, table_text);
	if (t.n != 6) {
		ok(0, "table parsed");
		ctrk_mount_table_free(&t);
		return;
	}
	ctrk_dir_ref_t snap3 = {.path = "/s/overlay/3", .dev = makedev(8, 1), .fspath = "/s/overlay/3"};
	ctrk_dir_ref_t snap1 = {.path = "/s/overlay/1", .dev = makedev(8, 1), .fspath = "/s/overlay/1"};
	ctrk_dir_ref_t snap9 = {.path = "/s/overlay/9", .dev = makedev(8, 1), .fspath = "/s/overlay/9"};
	ctrk_dir_ref_t native7 = {.path = "/data/native/7",
				  .dev = makedev(8, 1),
				  .fspath = "/var/lib/ctrk/snapshots/native/7"};
	ctrk_dir_ref_t native7_other_dev = {.path = "/data/native/7",
					    .dev = makedev(8, 2),
					    .fspath = "/var/lib/ctrk/snapshots/native/7"};
	ctrk_dir_ref_t rel5 = {.path = "/elsewhere/overlay/5", .dev = makedev(9, 9), .fspath = NULL};
	ctrk_dir_ref_t rel6 = {.path = "/elsewhere/overlay/6", .dev = makedev(9, 9), .fspath = NULL};

	ok(ctrk_mount_uses_dir(&t.v[1], &snap3), "the overlay uses its upper's snapshot");
	ok(ctrk_mount_uses_dir(&t.v[1], &snap1), "and its lower's");
	ok(ctrk_mount_uses_dir(&t.v[2], &snap1), "a lowerdir+ overlay uses its lower's");
	ok(!ctrk_mount_uses_dir(&t.v[1], &snap9), "not another snapshot");
	ok(!ctrk_mount_uses_dir(&t.v[0], &snap3), "the root mount (root /) is no bind of it");
	ok(ctrk_mount_uses_dir(&t.v[3], &native7), "a bind mount of DIR/fs uses DIR (device and root)");
	ok(!ctrk_mount_uses_dir(&t.v[3], &native7_other_dev), "not on another device");
	ok(ctrk_mount_uses_dir(&t.v[5], &rel5), "relative 5/fs may be below .../overlay/5");
	ok(!ctrk_mount_uses_dir(&t.v[5], &rel6), "but not below .../overlay/6");
	ctrk_mount_table_free(&t);
}

static void
test_objects(void)
{
	cJSON *upper = cJSON_Parse("{\"type\":\"overlay\",\"source\":\"overlay\",\"target\":\"/\",\"options\":"
				   "[\"lowerdir=/s/overlay/1/fs\",\"upperdir=/s/overlay/3/fs\",\"workdir=/s/w\"]}");
	cJSON *view = cJSON_Parse("{\"type\":\"overlay\",\"source\":\"overlay\",\"target\":\"/\",\"options\":"
				  "[\"lowerdir=/s/overlay/1/fs:/s/overlay/2/fs\"]}");
	cJSON *view1 = cJSON_Parse("{\"type\":\"overlay\",\"source\":\"overlay\",\"target\":\"/\",\"options\":"
				   "[\"lowerdir=/s/overlay/2/fs\"]}");
	cJSON *bind_rw = cJSON_Parse("{\"type\":\"bind\",\"source\":\"/n/7/fs\",\"target\":\"/\",\"options\":"
				     "[\"rbind\",\"rw\"]}");
	cJSON *bind_ro = cJSON_Parse("{\"type\":\"bind\",\"source\":\"/n/7/fs\",\"target\":\"/\",\"options\":"
				     "[\"rbind\",\"ro\"]}");
	cJSON *tmpfs = cJSON_Parse("{\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"target\":\"/\"}");
	char *d;

	ok(ctrk_mount_object_writable(upper), "an overlay with an upper is writable");
	ok(!ctrk_mount_object_writable(view), "one without is not");
	ok(ctrk_mount_object_writable(bind_rw) && !ctrk_mount_object_writable(bind_ro), "rw and ro binds");
	is_str(d = ctrk_mount_object_dir(upper), "/s/overlay/3/fs", "an overlay's dir is its upper");
	free(d);
	is_str(d = ctrk_mount_object_dir(view), "/s/overlay/1/fs", "a view's its first lower");
	free(d);
	is_str(d = ctrk_mount_object_dir(bind_ro), "/n/7/fs", "a bind mount's its source");
	free(d);
	ok(ctrk_mount_object_dir(tmpfs) == NULL, "a tmpfs has none");

	/* A read-only overlay is found by its exact lowers. */
	ctrk_mount_table_t t;
	size_t *found = NULL, n = 0;
	ctrk_mount_table_parse(&t, table_text);
	ctrk_mounts_of(&t, view, &found, &n);
	ok(n == 1 && found[0] == 2, "the view's overlay is found by its lowers (%zu)", n);
	free(found);
	found = NULL, n = 0;
	ctrk_mounts_of(&t, view1, &found, &n);
	ok(n == 0, "a view with other lowers is not");
	free(found);
	if (n == 0 && t.n == 6) {
		size_t two[] = {1, 4};
		char *s = ctrk_mount_targets(&t, two, 2);
		is_str(s, "'/run/ctrk/c1/rootfs', '/mnt/with space'", "targets for a message");
		free(s);
		t.v[4].ns_pid = 42;
		s = ctrk_mount_targets(&t, two, 2);
		is_str(s, "'/run/ctrk/c1/rootfs', '/mnt/with space' (in the mount namespace of process 42)",
		       "another namespace's mount says whose");
		free(s);
	}
	ctrk_mount_table_free(&t);
	cJSON_Delete(upper);
	cJSON_Delete(view);
	cJSON_Delete(view1);
	cJSON_Delete(bind_rw);
	cJSON_Delete(bind_ro);
	cJSON_Delete(tmpfs);
}

/* This process's own table, and a directory resolved against it. */
static void
test_real_table(void)
{
	ctrk_mount_table_t t;
	ctrk_error_t err = {0};
	ctrk_dir_ref_t r;
	ok(ctrk_mount_table_read(&t, &err) == 0 && t.n > 0, "the kernel's table read (%zu mounts)", t.n);
	ctrk_mount_table_t all;
	size_t own = 0;
	ok(ctrk_mount_table_read_all(&all, &err) == 0 && all.n >= t.n, "every namespace's (%zu mounts)", all.n);
	for (size_t i = 0; i < all.n; i++)
		own += all.v[i].ns_pid == 0;
	ok(own == t.n, "this namespace's first, as many as alone (%zu)", own);
	ctrk_mount_table_free(&all);
	char tmpl[] = "/tmp/ctrk-test-mountinfo.XXXXXX";
	char *dir = mkdtemp(tmpl);
	ok(dir && ctrk_dir_ref_get(&t, dir, &r, &err) == 0, "a temporary directory resolved");
	if (dir && r.path) {
		struct stat st;
		stat(dir, &st);
		ok(r.dev == st.st_dev && r.fspath && r.fspath[0] == '/', "its device and path on it (%s)",
		   r.fspath ? r.fspath : "(null)");
		size_t *found = NULL, n = 0;
		ctrk_mounts_using(&t, dir, &found, &n);
		ok(n == 0, "nothing uses a fresh directory");
		free(found);
		ctrk_dir_ref_free(&r);
	}
	ok(ctrk_dir_ref_get(&t, "/nonexistent/ctrk", &r, &err) < 0 && err.errnum == ENOENT, "a missing one is an error");

	/* A lock held here is held for another process too. */
	ctrk_dir_locks_t l;
	char *dirs[] = {dir, NULL, dir, "/nonexistent/ctrk"};
	ok(ctrk_dir_locks_take(&l, dirs, 4, &err) == 0 && l.n == 1, "duplicates, NULL and missing skipped (%zu)", l.n);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY);
		_exit(flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK ? 0 : 1);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "another process cannot take it");
	ctrk_dir_locks_release(&l);
	if (dir)
		rmdir(dir);
	ctrk_mount_table_free(&t);
}

int
main(void)
{
	test_parse();
	test_path_under();
	test_uses_dir();
	test_objects();
	test_real_table();
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
