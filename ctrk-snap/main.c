/* ctrk-snap: snapshots of root file systems, as containerd's snapshotters. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "diff.h"

static const char usage_text[] =
	"Usage: ctrk-snap [OPTION]... VERB [ARG]...\n"
	"Manage snapshots: the layers of images and the root file systems of containers.\n"
	"\n"
	"  prepare [--image REF] KEY [PARENT]  a writable snapshot; prints the descriptor\n"
	"  view [--image REF] KEY [PARENT]     a read-only snapshot; prints the descriptor\n"
	"  commit NAME KEY          active KEY becomes the committed snapshot NAME\n"
	"  remove [--force] [KEY]   remove a snapshot that has no children and is not\n"
	"                           mounted; without KEY, the descriptor's (teardown)\n"
	"  stat KEY                 a snapshot as JSON\n"
	"  list [--tree|--json]     every snapshot (KEY KIND PARENT)\n"
	"  usage KEY                {\"size\", \"inodes\"} of the snapshot's own files\n"
	"  mounts KEY               the descriptor with KEY's mounts\n"
	"  diff [--compression C] KEY  KEY's changes as a layer in the store; prints\n"
	"                           the descriptor with the layer\n"
	"  unpack [REF]             unpack an image (REF, or the descriptor on stdin)\n"
	"  check                    report orphaned directories and dangling parents\n"
	"\n"
	"  -r, --root DIR      state directory (default $CTRK_ROOT or /var/lib/ctrk)\n"
	"  -d, --driver NAME   overlay (default), native, or ctrk-snap-NAME on PATH\n"
	"  -i, --image REF     (prepare, view) unpack image REF and use its top layer\n"
	"      --volatile      (prepare, view) no fsync to create or remove it; a crash\n"
	"                      may forget it (for throwaway containers)\n"
	"      --tree, --json  (list) as a tree of parents, or as JSON\n"
	"      --compression C (diff) gzip (default), zstd or none\n"
	"      --force         (remove) detach this mount namespace's mounts of the\n"
	"                      snapshot first; its files are deleted under their users\n"
	"  -h, --help          show this help\n"
	"      --version       show the version\n"
	"\n"
	"Exit status: 0 done, 1 failed (check: problems found), 2 usage error.\n"
	"See ctrk-snap(1).\n";

enum { OPT_TREE = 256, OPT_JSON, OPT_COMPRESSION, OPT_VOLATILE, OPT_FORCE, OPT_VERSION };

static const struct option long_options[] = {
	{"root", required_argument, NULL, 'r'},
	{"driver", required_argument, NULL, 'd'},
	{"image", required_argument, NULL, 'i'},
	{"tree", no_argument, NULL, OPT_TREE},
	{"json", no_argument, NULL, OPT_JSON},
	{"compression", required_argument, NULL, OPT_COMPRESSION},
	{"volatile", no_argument, NULL, OPT_VOLATILE},
	{"force", no_argument, NULL, OPT_FORCE},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* The verbs and the number of arguments each takes. */
static const struct verb {
	const char *name;
	int min, max;
} verbs[] = {
	{"prepare", 1, 2}, {"view", 1, 2}, {"commit", 2, 2}, {"remove", 0, 1}, {"stat", 1, 1},
	{"list", 0, 0},    {"usage", 1, 1}, {"mounts", 1, 1}, {"unpack", 0, 1}, {"check", 0, 0},
	{"diff", 1, 1},
};

static int
run(const snap_opts_t *o, const char *verb, char **a)
{
	if (!strcmp(verb, "prepare") || !strcmp(verb, "view"))
		return cmd_prepare(o, verb[0] == 'v', a[0], a[0] ? a[1] : NULL);
	if (!strcmp(verb, "commit"))
		return cmd_commit(o, a[0], a[1]);
	if (!strcmp(verb, "remove"))
		return cmd_remove(o, a[0]);
	if (!strcmp(verb, "stat"))
		return cmd_stat(o, a[0]);
	if (!strcmp(verb, "list"))
		return cmd_list(o);
	if (!strcmp(verb, "usage"))
		return cmd_usage(o, a[0]);
	if (!strcmp(verb, "mounts"))
		return cmd_mounts(o, a[0]);
	if (!strcmp(verb, "unpack"))
		return cmd_unpack(o, a[0]);
	if (!strcmp(verb, "diff"))
		return cmd_diff(o, a[0]);
	return cmd_check(o);
}

int
main(int argc, char **argv)
{
	ctrk_cli_init("ctrk-snap");
	snap_opts_t o = {.driver = getenv("CTRK_SNAP_DRIVER")};
	int c;

	if (!o.driver || !*o.driver)
		o.driver = "overlay";
	opterr = 0;
	/* Options may come before or after the verb (GNU getopt permutes). */
	while ((c = getopt_long(argc, argv, ":r:d:i:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'r': o.root = optarg; break;
		case 'd': o.driver = optarg; o.driver_given = true; break;
		case 'i': o.image = optarg; break;
		case OPT_TREE: o.tree = true; break;
		case OPT_JSON: o.json = true; break;
		case OPT_COMPRESSION: o.compression = optarg; break;
		case OPT_VOLATILE: o.is_volatile = true; break;
		case OPT_FORCE: o.force = true; break;
		case 'h': fputs(usage_text, stdout); return CTRK_EXIT_OK;
		case OPT_VERSION: ctrk_print_version(); return CTRK_EXIT_OK;
		default: return ctrk_getopt_error(c, argv);
		}
	}
	if (optind == argc)
		return ctrk_usage_error("missing VERB");
	const char *verb = argv[optind++];
	int nargs = argc - optind;
	const struct verb *v = NULL;
	for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
		if (strcmp(verbs[i].name, verb) == 0)
			v = &verbs[i];
	if (!v)
		return ctrk_usage_error("unknown verb '%s'", verb);
	if (nargs < v->min || nargs > v->max)
		return ctrk_usage_error("'%s' takes %d to %d arguments, not %d", verb, v->min, v->max, nargs);
	if (o.image && strcmp(verb, "prepare") && strcmp(verb, "view"))
		return ctrk_usage_error("--image is for prepare and view");
	if (o.is_volatile && strcmp(verb, "prepare") && strcmp(verb, "view"))
		return ctrk_usage_error("--volatile is for prepare and view");
	if (o.force && strcmp(verb, "remove"))
		return ctrk_usage_error("--force is for remove");
	if ((o.tree || o.json) && strcmp(verb, "list"))
		return ctrk_usage_error("--tree and --json are for list");
	diff_compression_t comp;
	if (o.compression && strcmp(verb, "diff"))
		return ctrk_usage_error("--compression is for diff");
	if (o.compression && diff_compression_parse(o.compression, &comp) < 0)
		return ctrk_usage_error("--compression must be gzip, zstd or none, not '%s'", o.compression);
	if (o.tree && o.json)
		return ctrk_usage_error("--tree and --json exclude each other");
	return run(&o, verb, argv + optind);
}
