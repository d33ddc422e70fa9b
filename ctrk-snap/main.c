/* ctrk-snap: snapshots of root file systems, as containerd's snapshotters. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "diff.h"
#include "verb.h"

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
	"  check [--fix] [--json]   report what crashes left (orphaned directories,\n"
	"                           probe leftovers, dangling parents); --fix removes\n"
	"                           what no running process holds\n"
	"\n"
	"  -r, --root DIR      state directory (default $CTRK_ROOT or /var/lib/ctrk)\n"
	"  -d, --driver NAME   overlay (default), native, or ctrk-snap-NAME on PATH\n"
	"  -i, --image REF     (prepare, view) unpack image REF and use its top layer\n"
	"      --volatile      (prepare, view) no fsync to create or remove it; a crash\n"
	"                      may forget it (for throwaway containers)\n"
	"      --tree, --json  (list) as a tree of parents, or as JSON; (check) --json\n"
	"      --fix           (check) remove the leftovers of crashed commands\n"
	"      --compression C (diff) gzip (default), zstd or none\n"
	"      --force         (remove) detach this mount namespace's mounts of the\n"
	"                      snapshot first; its files are deleted under their users\n"
	"  -h, --help          show this help\n"
	"      --version       show the version\n"
	"\n"
	"Exit status: 0 done, 1 failed (check: problems found; check --fix: some\n"
	"not fixed), 2 usage error.  Every verb must be run as root.\n"
	"See ctrk-snap(1).\n";

enum { OPT_TREE = 256, OPT_JSON, OPT_FIX, OPT_COMPRESSION, OPT_VOLATILE, OPT_FORCE, OPT_VERSION };

static const struct option long_options[] = {
	{"root", required_argument, NULL, 'r'},
	{"driver", required_argument, NULL, 'd'},
	{"image", required_argument, NULL, 'i'},
	{"tree", no_argument, NULL, OPT_TREE},
	{"json", no_argument, NULL, OPT_JSON},
	{"fix", no_argument, NULL, OPT_FIX},
	{"compression", required_argument, NULL, OPT_COMPRESSION},
	{"volatile", no_argument, NULL, OPT_VOLATILE},
	{"force", no_argument, NULL, OPT_FORCE},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* The verbs: thin wrappers from the table's shape to cmd.c's. */
static int
v_prepare(void *o, int argc, char **a)
{
	return cmd_prepare(o, false, a[0], argc > 1 ? a[1] : NULL);
}

static int
v_view(void *o, int argc, char **a)
{
	return cmd_prepare(o, true, a[0], argc > 1 ? a[1] : NULL);
}

static int
v_commit(void *o, int argc, char **a)
{
	return cmd_commit(o, a[0], a[1]);
}

static int
v_remove(void *o, int argc, char **a)
{
	/* No KEY: the snapshot of the descriptor on stdin. */
	return cmd_remove(o, argc ? a[0] : NULL);
}

static int
v_stat(void *o, int argc, char **a)
{
	return cmd_stat(o, a[0]);
}

static int
v_list(void *o, int argc, char **a)
{
	return cmd_list(o);
}

static int
v_usage(void *o, int argc, char **a)
{
	return cmd_usage(o, a[0]);
}

static int
v_mounts(void *o, int argc, char **a)
{
	return cmd_mounts(o, a[0]);
}

static int
v_unpack(void *o, int argc, char **a)
{
	return cmd_unpack(o, argc ? a[0] : NULL);
}

static int
v_check(void *o, int argc, char **a)
{
	return cmd_check(o);
}

static int
v_diff(void *o, int argc, char **a)
{
	return cmd_diff(o, a[0]);
}

/* Every verb needs root: the state directory is root's alone (0700), and
 * most verbs write to it or hand out mounts. */
static const ctrk_verb_t verbs[] = {
	{"prepare", 1, 2, true, 0, v_prepare}, {"view", 1, 2, true, 0, v_view},
	{"commit", 2, 2, true, 0, v_commit},   {"remove", 0, 1, true, 0, v_remove},
	{"stat", 1, 1, true, 0, v_stat},       {"list", 0, 0, true, 0, v_list},
	{"usage", 1, 1, true, 0, v_usage},     {"mounts", 1, 1, true, 0, v_mounts},
	{"unpack", 0, 1, true, 0, v_unpack},   {"check", 0, 0, true, 0, v_check},
	{"diff", 1, 1, true, 0, v_diff},
};
#define NVERBS (sizeof verbs / sizeof *verbs)

static bool
is(const char *verb, const char *a, const char *b)
{
	return strcmp(verb, a) == 0 || (b && strcmp(verb, b) == 0);
}

/* The options that belong to some verbs only. */
static int
check_options(const snap_opts_t *o, const char *verb)
{
	diff_compression_t comp;
	if (o->image && !is(verb, "prepare", "view"))
		return ctrk_usage_error("--image is for prepare and view");
	if (o->is_volatile && !is(verb, "prepare", "view"))
		return ctrk_usage_error("--volatile is for prepare and view");
	if (o->tree && !is(verb, "list", NULL))
		return ctrk_usage_error("--tree is for list");
	if (o->json && !is(verb, "list", "check"))
		return ctrk_usage_error("--json is for list and check");
	if (o->fix && !is(verb, "check", NULL))
		return ctrk_usage_error("--fix is for check");
	if (o->force && !is(verb, "remove", NULL))
		return ctrk_usage_error("--force is for remove");
	if (o->compression && !is(verb, "diff", NULL))
		return ctrk_usage_error("--compression is for diff");
	if (o->compression && diff_compression_parse(o->compression, &comp) < 0)
		return ctrk_usage_error("--compression must be gzip, zstd or none, not '%s'", o->compression);
	if (o->tree && o->json)
		return ctrk_usage_error("--tree and --json exclude each other");
	return 0;
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
		case OPT_FIX: o.fix = true; break;
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
	int rc;
	if (ctrk_verb_find(verbs, NVERBS, verb) && (rc = check_options(&o, verb)) != 0)
		return rc;
	return ctrk_verb_dispatch(verbs, NVERBS, verb, argc - optind, argv + optind, &o);
}
