/* ctrk-vol: volumes, named storage that outlives containers, and the
 * container mounts that attach it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "verb.h"
#include "vol.h"

static const char usage_text[] =
	"Usage: ctrk-vol [OPTION]... VERB [ARG]...\n"
	"Volumes: named storage that outlives containers, and the container mounts\n"
	"that attach it.\n"
	"\n"
	"  create NAME              a new volume (--type, --opt, --label, --uid,\n"
	"                           --gid, --mode)\n"
	"  rm [--force] NAME...     remove volumes no container uses\n"
	"  ls [--json] [--filter label=K[=V]]  the volumes\n"
	"  inspect NAME...          volumes as JSON\n"
	"  exists NAME              exit 0 when NAME exists, 1 when not\n"
	"  path NAME                the host path of NAME's content\n"
	"  prune [--all]            remove unused anonymous volumes (--all: every\n"
	"                           unused volume without a label)\n"
	"  export NAME              NAME's content as a tar on stdout\n"
	"  import NAME              a new volume NAME (dir or loop) from a tar on\n"
	"                           stdin; takes create's options\n"
	"  attach [NAME:/dst[:ro][,OPTS]]...  container mounts into the descriptor\n"
	"                           (also --tmpfs, --bind, --anonymous)\n"
	"  detach                   (teardown) drop the descriptor's volume mounts\n"
	"  check [--fix] [--json]   what crashes left; --fix repairs it\n"
	"\n"
	"  -t, --type TYPE         (create, import) dir (default), tmpfs, bind, loop, or\n"
	"                          NAME for the external driver ctrk-vol-NAME\n"
	"  -o, --opt K=V           (create, import) a type option: size=,\n"
	"                          nr_inodes=, mode= (tmpfs); size= (loop);\n"
	"                          path= (bind)\n"
	"  -l, --label K=V         (create, import) a label\n"
	"      --uid N, --gid N    (create, import, attach) the owner of the\n"
	"                          volume's root\n"
	"      --mode M            (create, import) the mode of the volume's\n"
	"                          root (octal)\n"
	"      --tmpfs /dst[:OPTS] (attach) a tmpfs at /dst\n"
	"      --bind SRC:/dst[:ro]  (attach) a host path at /dst\n"
	"      --anonymous /dst    (attach) a new unnamed volume at /dst\n"
	"      --populate never|if-empty  (attach) copy the image's /dst into an\n"
	"                          empty volume (default if-empty)\n"
	"  -f, --force             (rm) also a volume that stopped containers use,\n"
	"                          or that a pipeline not yet started holds\n"
	"      --json              (ls, inspect, check) JSON output\n"
	"      --filter label=K[=V]  (ls) only volumes with that label\n"
	"  -a, --all               (prune) every unused unlabelled volume\n"
	"      --fix               (check) repair what is found\n"
	"  -q, --quiet             (ls) names only; no notes\n"
	"  -h, --help              show this help\n"
	"      --version           show the version\n"
	"\n"
	"Exit status: 0 done, 1 failed (exists: no such volume; check: problems\n"
	"found), 2 usage error.  Every verb must be run as root.  See ctrk-vol(1).\n";

enum {
	OPT_UID = 256, OPT_GID, OPT_MODE, OPT_TMPFS, OPT_BIND, OPT_ANONYMOUS, OPT_POPULATE,
	OPT_JSON, OPT_FILTER, OPT_FIX, OPT_VERSION,
};

static const struct option long_options[] = {
	{"type", required_argument, NULL, 't'},
	{"opt", required_argument, NULL, 'o'},
	{"label", required_argument, NULL, 'l'},
	{"uid", required_argument, NULL, OPT_UID},
	{"gid", required_argument, NULL, OPT_GID},
	{"mode", required_argument, NULL, OPT_MODE},
	{"tmpfs", required_argument, NULL, OPT_TMPFS},
	{"bind", required_argument, NULL, OPT_BIND},
	{"anonymous", required_argument, NULL, OPT_ANONYMOUS},
	{"populate", required_argument, NULL, OPT_POPULATE},
	{"force", no_argument, NULL, 'f'},
	{"json", no_argument, NULL, OPT_JSON},
	{"filter", required_argument, NULL, OPT_FILTER},
	{"all", no_argument, NULL, 'a'},
	{"fix", no_argument, NULL, OPT_FIX},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* The verbs: thin wrappers from the table's shape to the parts'. */
static int v_create(void *o, int argc, char **a) { return cmd_create(o, a[0]); }
static int v_rm(void *o, int argc, char **a) { return cmd_rm(o, argc, a); }
static int v_ls(void *o, int argc, char **a) { return cmd_ls(o); }
static int v_inspect(void *o, int argc, char **a) { return cmd_inspect(o, argc, a); }
static int v_exists(void *o, int argc, char **a) { return cmd_exists(o, a[0]); }
static int v_path(void *o, int argc, char **a) { return cmd_path(o, a[0]); }
static int v_prune(void *o, int argc, char **a) { return cmd_prune(o); }
static int v_export(void *o, int argc, char **a) { return cmd_export(o, a[0]); }
static int v_import(void *o, int argc, char **a) { return cmd_import(o, a[0]); }
static int v_attach(void *o, int argc, char **a) { return cmd_attach(o, argc, a); }
static int v_detach(void *o, int argc, char **a) { return cmd_detach(o); }
static int v_check(void *o, int argc, char **a) { return cmd_check(o); }

/* Every verb needs root: the volume store is root's alone (0700). */
static const ctrk_verb_t verbs[] = {
	{"create", 1, 1, true, 0, v_create},
	{"rm", 1, CTRK_VERB_ARGS_ANY, true, 0, v_rm},
	{"ls", 0, 0, true, 0, v_ls},
	{"inspect", 1, CTRK_VERB_ARGS_ANY, true, 0, v_inspect},
	{"exists", 1, 1, true, 0, v_exists},
	{"path", 1, 1, true, 0, v_path},
	{"prune", 0, 0, true, 0, v_prune},
	{"export", 1, 1, true, 0, v_export},
	{"import", 1, 1, true, 0, v_import},
	{"attach", 0, CTRK_VERB_ARGS_ANY, true, 0, v_attach},
	{"detach", 0, 0, true, 0, v_detach},
	{"check", 0, 0, true, 0, v_check},
};
#define NVERBS (sizeof verbs / sizeof *verbs)

int
main(int argc, char **argv)
{
	ctrk_cli_init("ctrk-vol");
	vol_opts_t o = {.uid = -1, .gid = -1, .mode = -1};
	int c;

	opterr = 0;
	/* Options may come before or after the verb (GNU getopt permutes). */
	while ((c = getopt_long(argc, argv, ":t:o:l:faqh", long_options, NULL)) != -1) {
		switch (c) {
		case 't': o.type = optarg; break;
		case 'o': ctrk_strlist_push(&o.opts, optarg); break;
		case 'l': ctrk_strlist_push(&o.labels, optarg); break;
		case OPT_UID:
			if (ctrk_parse_int("--uid", optarg, 0, 0x7fffffff, &o.uid) < 0)
				return CTRK_EXIT_USAGE;
			break;
		case OPT_GID:
			if (ctrk_parse_int("--gid", optarg, 0, 0x7fffffff, &o.gid) < 0)
				return CTRK_EXIT_USAGE;
			break;
		case OPT_MODE: {
			char *end;
			o.mode = strtol(optarg, &end, 8);
			if (!*optarg || *end || o.mode < 0 || o.mode > 07777)
				return ctrk_usage_error("invalid --mode '%s': expected an octal mode, 0 to 7777", optarg);
			break;
		}
		case OPT_TMPFS: ctrk_strlist_push(&o.tmpfs, optarg); break;
		case OPT_BIND: ctrk_strlist_push(&o.binds, optarg); break;
		case OPT_ANONYMOUS: ctrk_strlist_push(&o.anonymous, optarg); break;
		case OPT_POPULATE:
			if (strcmp(optarg, "never") != 0 && strcmp(optarg, "if-empty") != 0)
				return ctrk_usage_error("invalid --populate '%s': expected never or if-empty", optarg);
			o.populate = optarg;
			break;
		case 'f': o.force = true; break;
		case OPT_JSON: o.json = true; break;
		case OPT_FILTER: ctrk_strlist_push(&o.filters, optarg); break;
		case 'a': o.all = true; break;
		case OPT_FIX: o.fix = true; break;
		case 'q': o.quiet = true; break;
		case 'h': fputs(usage_text, stdout); return CTRK_EXIT_OK;
		case OPT_VERSION: ctrk_print_version(); return CTRK_EXIT_OK;
		default: return ctrk_getopt_error(c, argv);
		}
	}
	if (optind >= argc)
		return ctrk_usage_error("no verb given");
	int rc = ctrk_verb_dispatch(verbs, NVERBS, argv[optind], argc - optind - 1, argv + optind + 1, &o);
	/* Freed for the leak checkers (make check-asan, valgrind). */
	ctrk_strlist_t *lists[] = {&o.opts, &o.labels, &o.filters, &o.tmpfs, &o.binds, &o.anonymous};
	for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
		ctrk_strlist_free(lists[i]);
	return rc;
}
