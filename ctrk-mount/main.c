/* ctrk-mount: mount a descriptor's root file system, or unmount it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "descriptor.h"
#include "json.h"
#include "mount.h"
#include "verb.h"

static const char usage_text[] =
	"Usage: ctrk-mount [--target DIR] [--force] < DESCRIPTOR\n"
	"  or:  ctrk-mount --unmount [--lazy] [TARGET]\n"
	"Mount the descriptor's rootfs mounts (target \"/\") on DIR and print the\n"
	"descriptor with \"rootfs\" added; or unmount a rootfs.\n"
	"\n"
	"  -t, --target DIR          where to mount (default $CTRK_RUN/KEY/rootfs, KEY the\n"
	"                            descriptor's snapshot.key; $CTRK_RUN is /run/ctrk)\n"
	"  -f, --force               mount a writable snapshot that is mounted already\n"
	"                            (two overlays on one upperdir: undefined behaviour)\n"
	"  -u, --unmount [TARGET]    unmount TARGET and everything below it; without\n"
	"                            TARGET, the descriptor's rootfs (and print the\n"
	"                            descriptor without it; already unmounted is fine)\n"
	"      --lazy                with --unmount: detach a busy mount (MNT_DETACH)\n"
	"  -h, --help                show this help\n"
	"      --version             show the version\n"
	"\n"
	"Exit status: 0 done, 1 failed, 2 usage error.  See ctrk-mount(1).\n";

enum { OPT_LAZY = 256, OPT_VERSION };

static const struct option long_options[] = {
	{"target", required_argument, NULL, 't'},
	{"force", no_argument, NULL, 'f'},
	{"unmount", optional_argument, NULL, 'u'},
	{"lazy", no_argument, NULL, OPT_LAZY},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

static int
cmd_mount(const char *target, bool force, ctrk_error_t *err)
{
	cleanup_json cJSON *d = ctrk_descriptor_read(STDIN_FILENO, false, err);
	cleanup_free char *default_target = NULL, *rootfs = NULL;
	if (!d)
		return -1;
	if (!target && !(target = default_target = mount_default_target(d, err)))
		return ctrk_error_wrap(err, "no --target given");
	if (mount_rootfs(d, target, force, &rootfs, err) < 0)
		return -1;
	ctrk_json_set(d, "rootfs", cJSON_CreateString(rootfs));
	if (ctrk_descriptor_write(STDOUT_FILENO, d, err) < 0) {
		/* Nobody would learn where the rootfs is: take it down again. */
		cleanup_free char *warning = NULL;
		ctrk_error_t ignored = {0};
		unmount_rootfs(rootfs, true, &warning, &ignored);
		return -1;
	}
	return 0;
}

static int
unmount_path(const char *target, bool lazy, ctrk_error_t *err)
{
	cleanup_free char *warning = NULL;
	if (unmount_rootfs(target, lazy, &warning, err) < 0)
		return -1;
	if (warning)
		ctrk_warn("%s", warning);
	return 0;
}

/* Teardown (ctrk-descriptor(5)): take the descriptor's rootfs down and
 * pass the descriptor on without it.  What is already gone is a note, not
 * an error, so that teardown can run twice. */
static int
unmount_descriptor(bool lazy, ctrk_error_t *err)
{
	cleanup_json cJSON *d = ctrk_descriptor_read(STDIN_FILENO, false, err);
	if (!d)
		return -1;
	const char *rootfs = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "rootfs"));
	if (!rootfs) {
		ctrk_note("the descriptor has no 'rootfs': nothing to unmount");
		return ctrk_descriptor_write(STDOUT_FILENO, d, err);
	}
	if (rootfs[0] != '/')
		return ctrk_error_set(err, 0, "descriptor: 'rootfs' must be an absolute path, not '%s'", rootfs);
	switch (mount_is_mounted(rootfs, err)) {
	case -1: return -1;
	case 0:
		ctrk_note("'%s' was already unmounted", rootfs);
		mount_remove_run_dirs(rootfs);
		break;
	default:
		if (unmount_path(rootfs, lazy, err) < 0)
			return -1;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(d, "rootfs");
	return ctrk_descriptor_write(STDOUT_FILENO, d, err);
}

int
main(int argc, char **argv)
{
	ctrk_cli_init("ctrk-mount");
	ctrk_error_t err = {0};
	const char *target = NULL, *unmount_target = NULL;
	bool unmount = false, lazy = false, force = false;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:fu::h", long_options, NULL)) != -1) {
		switch (c) {
		case 't': target = optarg; break;
		case 'f': force = true; break;
		case 'u':
			unmount = true;
			unmount_target = optarg;
			break;
		case OPT_LAZY: lazy = true; break;
		case 'h': fputs(usage_text, stdout); return CTRK_EXIT_OK;
		case OPT_VERSION: ctrk_print_version(); return CTRK_EXIT_OK;
		default: return ctrk_getopt_error(c, argv);
		}
	}
	/* "--unmount TARGET" as well as "--unmount=TARGET". */
	if (unmount && !unmount_target && optind < argc)
		unmount_target = argv[optind++];
	if (optind < argc)
		return ctrk_usage_error("unexpected argument '%s'", argv[optind]);
	if (target && !*target)
		return ctrk_usage_error("--target is empty");
	if (unmount_target && !*unmount_target)
		return ctrk_usage_error("the TARGET of --unmount is empty");
	if (unmount && target)
		return ctrk_usage_error("--target is for mounting: give the mount point to --unmount");
	if (lazy && !unmount)
		return ctrk_usage_error("--lazy goes with --unmount");
	if (force && unmount)
		return ctrk_usage_error("--force is for mounting (--lazy detaches a busy mount)");
	if (unmount && !unmount_target && isatty(STDIN_FILENO))
		return ctrk_usage_error("--unmount without TARGET reads a descriptor on stdin");
	if (ctrk_require_root() != 0)
		return CTRK_EXIT_FAILURE;

	if (!unmount)
		ret = cmd_mount(target, force, &err);
	else if (unmount_target)
		ret = unmount_path(unmount_target, lazy, &err);
	else
		ret = unmount_descriptor(lazy, &err);
	return ret < 0 ? ctrk_fail(&err) : CTRK_EXIT_OK;
}
