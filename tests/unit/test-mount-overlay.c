/* ctrk-mount's option parsing and long overlay mounts: lowerdir splitting,
 * the common directory, the relative form, and (as root) both ways of
 * mounting 120 layers whose options do not fit in a page. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctrk-mount/mount.h"
#include "ctrk-mount/overlay.h"
#include "fsutil.h"
#include "tap.h"

static void
test_options(void)
{
	ctrk_error_t err = {0};
	mount_opts_t o;
	cJSON *opts = cJSON_Parse("[\"ro\",\"nosuid\",\"nodev\",\"rbind\",\"rprivate\",\"size=1m\",\"noatime\","
				  "\"relatime\",\"rw\",\"ro\",\"mode=0755\",\"shared\"]");
	ok(mount_opts_parse(opts, &o, &err) == 0, "options parsed");
	ok(o.flags == (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_BIND | MS_REC | MS_RELATIME), "flags: %#lx", o.flags);
	ok(o.propagation == MS_SHARED, "the last propagation wins");
	char *data = mount_opts_data(&o);
	is_str(data, "size=1m,mode=0755", "the rest is the data");
	free(data);
	mount_opts_free(&o);
	cJSON_Delete(opts);

	ok(mount_opts_parse(NULL, &o, &err) == 0 && o.flags == 0 && o.ndata == 0, "no options");
	ok(mount_opts_data(&o) == NULL, "no data");
	mount_opts_free(&o);
}

static void
test_split(void)
{
	size_t n;
	char **v = overlay_split_lowerdir("/a:/b\\:c::/d", &n);
	ok(n == 4, "four elements (%zu)", n);
	is_str(v[0], "/a", "first");
	is_str(v[1], "/b\\:c", "an escaped colon stays in its element");
	is_str(v[2], "", "'::' is an empty element");
	is_str(v[3], "/d", "data-only layer");
	ok(v[4] == NULL, "NULL-terminated");
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
expect_common(const char *want, size_t n, const char *const *paths)
{
	char *got = overlay_common_dir(paths, n);
	is_str(got, want, "common dir of %s%s... is %s", paths[0], n > 1 ? ", " : "", want ? want : "none");
	free(got);
}

static void
test_common_dir(void)
{
	expect_common("/a/b", 2, (const char *const[]){"/a/b/c", "/a/b/d"});
	expect_common("/a", 2, (const char *const[]){"/a/b", "/a/b/c"});
	expect_common("/a", 2, (const char *const[]){"/a/bc", "/a/bd"});
	expect_common("/a/b", 2, (const char *const[]){"/a/b/c/", "/a/b/d"});
	expect_common("/a/b", 1, (const char *const[]){"/a/b/c"});
	expect_common("/s", 3, (const char *const[]){"/s/12/fs", "/s/3/fs", "/s/123/fs"});
	expect_common(NULL, 2, (const char *const[]){"/x/1", "/y/2"});
	expect_common(NULL, 1, (const char *const[]){"/a"});
	expect_common(NULL, 1, (const char *const[]){"rel/a"});
}

static void
test_compact(void)
{
	ctrk_error_t err = {0};
	mount_opts_t o;
	char *dir = NULL, *data = NULL;
	cJSON *opts = cJSON_Parse("[\"lowerdir=/t/l/a:/t/l/b::/t/l/d\",\"upperdir=/t/l/u\",\"workdir=/t/l/w\","
				  "\"index=off\"]");
	mount_opts_parse(opts, &o, &err);
	ok(overlay_compact(&o, &dir, &data) == 0, "compacted");
	is_str(dir, "/t/l", "from the common dir");
	is_str(data, "lowerdir=a:b::d,upperdir=u,workdir=w,index=off", "layers named relative to it");
	free(dir);
	free(data);
	mount_opts_free(&o);
	cJSON_Delete(opts);

	opts = cJSON_Parse("[\"lowerdir=/x/a:rel/b\"]");
	mount_opts_parse(opts, &o, &err);
	ok(overlay_compact(&o, &dir, &data) < 0, "a relative layer cannot be compacted");
	mount_opts_free(&o);
	cJSON_Delete(opts);
}

/* 120 layers layer-NNN-... under DIR/layers, one file each; the options of
 * an overlay of them (the first the top), longer than a page. */
static cJSON *
make_layers(const char *dir)
{
	char *lower = ctrk_xstrdup("");
	char *p = ctrk_strdup_printf("%s/layers", dir);
	mkdir(p, 0755);
	free(p);
	for (int i = 0; i < 120; i++) {
		char *layer = ctrk_strdup_printf("%s/layers/layer-%03d-abcdefghijklmnopqrstuv", dir, i);
		char *file = ctrk_strdup_printf("%s/file-%d", layer, i);
		mkdir(layer, 0755);
		close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
		char *l = ctrk_strdup_printf("%s%s%s", layer, *lower ? ":" : "", lower);
		free(lower);
		lower = l;
		free(layer);
		free(file);
	}
	char *u = ctrk_strdup_printf("%s/layers/upper", dir), *w = ctrk_strdup_printf("%s/layers/work", dir);
	mkdir(u, 0755);
	mkdir(w, 0755);
	cJSON *opts = cJSON_CreateArray();
	p = ctrk_strdup_printf("lowerdir=%s", lower);
	cJSON_AddItemToArray(opts, cJSON_CreateString(p));
	free(p);
	free(lower);
	p = ctrk_strdup_printf("upperdir=%s", u);
	cJSON_AddItemToArray(opts, cJSON_CreateString(p));
	free(p);
	p = ctrk_strdup_printf("workdir=%s", w);
	cJSON_AddItemToArray(opts, cJSON_CreateString(p));
	free(p);
	free(u);
	free(w);
	return opts;
}

static void
check_mounted(const char *target, const char *how)
{
	int seen = 0;
	for (int i = 0; i < 120; i++) {
		char *f = ctrk_strdup_printf("%s/file-%d", target, i);
		seen += access(f, F_OK) == 0;
		free(f);
	}
	ok(seen == 120, "%s: all 120 layers visible (%d)", how, seen);
	char *f = ctrk_strdup_printf("%s/written", target);
	int fd = open(f, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	ok(fd >= 0, "%s: the upper is writable", how);
	if (fd >= 0)
		close(fd);
	free(f);
	ok(umount2(target, 0) == 0, "%s: unmounted", how);
}

static void
test_long_overlay(void)
{
	if (geteuid() != 0) {
		printf("ok %d - # SKIP mounting needs root\n", ++tap_n);
		return;
	}
	char tmpl[] = "/tmp/ctrk-test-mount-XXXXXX";
	char *dir = mkdtemp(tmpl);
	ok(dir != NULL, "temp dir");
	cJSON *opts = make_layers(dir);
	char *target = ctrk_strdup_printf("%s/r", dir);
	mkdir(target, 0755);
	ctrk_error_t err = {0};
	mount_opts_t o;
	mount_opts_parse(opts, &o, &err);
	ok(strlen(o.data[0]) > 4096, "lowerdir is %zu bytes", strlen(o.data[0]));

	int r = overlay_mount_relative("overlay", target, &o, &err);
	ok(r == 0, "relative to the common dir: mounted (%s)", r ? err.msg : "");
	if (r == 0)
		check_mounted(target, "relative");
	char cwd[4096];
	ok(getcwd(cwd, sizeof cwd) && strcmp(cwd, dir) != 0, "our working directory did not move");

	if (overlay_has_lowerdir_plus()) {
		/* The relative way wrote into the upper: start from a clean one. */
		char *cmd = ctrk_strdup_printf("rm -rf '%s/layers/upper' '%s/layers/work' && mkdir '%s/layers/upper' "
					       "'%s/layers/work'",
					       dir, dir, dir, dir);
		ok(system(cmd) == 0, "fresh upper");
		free(cmd);
		r = overlay_mount_fsconfig("overlay", target, &o, &err);
		ok(r == 0, "lowerdir+: mounted (%s)", r ? err.msg : "");
		if (r == 0)
			check_mounted(target, "lowerdir+");
	} else {
		printf("ok %d - # SKIP the kernel has no lowerdir+\n", ++tap_n);
	}

	mount_opts_free(&o);
	cJSON_Delete(opts);
	umount2(target, MNT_DETACH); /* in case a check above failed */
	char *cmd = ctrk_strdup_printf("rm -rf '%s'", dir);
	ok(system(cmd) == 0, "temp dir removed");
	free(cmd);
	free(target);
}

int
main(void)
{
	test_options();
	test_split();
	test_common_dir();
	test_compact();
	test_long_overlay();
	return done_testing();
}
