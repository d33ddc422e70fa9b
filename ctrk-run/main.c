/* ctrk-run: run containers through an OCI runtime. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "fsutil.h"
#include "spec.h"
#include "verb.h"

static const char usage_text[] =
	"Usage: ctrk-run VERB [OPTION]... [ARG]...\n"
	"Run containers through an OCI runtime (runc by default).\n"
	"\n"
	"  run [OPTION]... ID [--] [CMD [ARG]...]   run a container from the descriptor\n"
	"                            on stdin (or --rootfs); exit with its status\n"
	"  config [OPTION]... ID [--] [CMD...]      print the config.json run would use\n"
	"  exec [-t] [-d] [-e K=V] [--env-file F] [-u U] [-w DIR] ID CMD [ARG]...\n"
	"                            run CMD in the running container\n"
	"  kill ID [SIGNAL]          send SIGNAL (default TERM)\n"
	"  stop [-t SECS] ID...      the image's StopSignal (default TERM), then KILL\n"
	"                            after SECS (default 10)\n"
	"  wait ID                   wait for the end; print and return the exit status\n"
	"  state ID                  the container as JSON\n"
	"  list [--json] [-q]        the containers: image, command, age, status\n"
	"  logs [-f] ID              a detached container's output\n"
	"  delete [--force] ID...    remove containers (bundle, runtime state, cgroup);\n"
	"                            with one ID print its descriptor without 'container'\n"
	"\n"
	"  -d, --detach              (run, exec) leave it running in the background\n"
	"  -t, --tty                 allocate a terminal\n"
	"      --rm                  delete the container when it ends\n"
	"      --rootfs DIR          run on DIR; stdin is then the container's\n"
	"  -e, --env K=V|K           set an environment variable (repeatable)\n"
	"      --env-file FILE       read K=V lines from FILE\n"
	"      --entrypoint CMD      replace the image's entrypoint (\"\" clears it)\n"
	"  -w, --workdir DIR         working directory\n"
	"  -u, --user U[:G]          user and group, names or numbers, from the\n"
	"                            container's /etc/passwd and /etc/group\n"
	"      --group-add G         a supplementary group (repeatable)\n"
	"      --hostname NAME       host name (default: ID)\n"
	"      --ulimit N=S[:H]      a resource limit, e.g. nofile=1024:2048\n"
	"      --cap-add CAP, --cap-drop CAP   change the default capabilities\n"
	"      --privileged          all capabilities and devices, no masked paths,\n"
	"                            no seccomp filter\n"
	"      --security-opt seccomp=unconfined|FILE   no seccomp filter, or the\n"
	"                            profile in FILE instead of Docker's default\n"
	"      --read-only           mount the root file system read-only\n"
	"      --memory SIZE         memory limit (k, m, g suffixes)\n"
	"      --cpus N              CPU limit, e.g. 0.5\n"
	"      --pids-limit N        process limit\n"
	"      --net host|none|PATH  network namespace (default: new, or the\n"
	"                            descriptor's netns)\n"
	"      --pid host            share the host's PID namespace\n"
	"      --mount type=T,src=S,dst=D[,ro][,OPT]...   add a mount (repeatable)\n"
	"      --tmpfs DST[:OPTS]    mount a tmpfs (repeatable)\n"
	"      --preserve-fds N      pass fds 3..3+N-1 on to the container\n"
	"      --stop-timeout SECS   after an interrupt, kill after SECS (default 10)\n"
	"      --runtime NAME|PATH   the OCI runtime (default $CTRK_RUNTIME or runc)\n"
	"      --runtime-root DIR    the runtime's state directory\n"
	"  -f, --follow              (logs) follow until the container ends\n"
	"      --force               (run) start even when a container uses the\n"
	"                            rootfs; (delete) kill a running one first\n"
	"      --json                (list) as JSON\n"
	"  -q, --quiet               (list) only the ids\n"
	"  -h, --help                show this help\n"
	"      --version             show the version\n"
	"\n"
	"Exit status: run, exec and wait return the command's status, or 125 when\n"
	"ctrk-run failed (a usage error, an unknown container, not root), 126 when\n"
	"the command cannot be run, 127 when it is not found, 128+N when it was\n"
	"killed by signal N.  Other verbs: 0 done, 1 failed, 2 usage error.\n"
	"Every verb needs root.  See ctrk-run(1).\n";

enum {
	OPT_RM = 256, OPT_ROOTFS, OPT_ENV_FILE, OPT_ENTRYPOINT, OPT_GROUP_ADD, OPT_HOSTNAME, OPT_ULIMIT,
	OPT_CAP_ADD, OPT_CAP_DROP, OPT_PRIVILEGED, OPT_READ_ONLY, OPT_MEMORY, OPT_CPUS, OPT_PIDS_LIMIT,
	OPT_NET, OPT_PID, OPT_MOUNT, OPT_TMPFS, OPT_PRESERVE_FDS, OPT_STOP_TIMEOUT, OPT_RUNTIME,
	OPT_RUNTIME_ROOT, OPT_FORCE, OPT_JSON, OPT_VERSION, OPT_SECURITY_OPT,
};

static const struct option long_options[] = {
	{"detach", no_argument, NULL, 'd'},
	{"tty", no_argument, NULL, 't'},
	{"rm", no_argument, NULL, OPT_RM},
	{"rootfs", required_argument, NULL, OPT_ROOTFS},
	{"env", required_argument, NULL, 'e'},
	{"env-file", required_argument, NULL, OPT_ENV_FILE},
	{"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
	{"workdir", required_argument, NULL, 'w'},
	{"user", required_argument, NULL, 'u'},
	{"group-add", required_argument, NULL, OPT_GROUP_ADD},
	{"hostname", required_argument, NULL, OPT_HOSTNAME},
	{"ulimit", required_argument, NULL, OPT_ULIMIT},
	{"cap-add", required_argument, NULL, OPT_CAP_ADD},
	{"cap-drop", required_argument, NULL, OPT_CAP_DROP},
	{"privileged", no_argument, NULL, OPT_PRIVILEGED},
	{"security-opt", required_argument, NULL, OPT_SECURITY_OPT},
	{"read-only", no_argument, NULL, OPT_READ_ONLY},
	{"memory", required_argument, NULL, OPT_MEMORY},
	{"cpus", required_argument, NULL, OPT_CPUS},
	{"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
	{"net", required_argument, NULL, OPT_NET},
	{"pid", required_argument, NULL, OPT_PID},
	{"mount", required_argument, NULL, OPT_MOUNT},
	{"tmpfs", required_argument, NULL, OPT_TMPFS},
	{"preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS},
	{"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
	{"runtime", required_argument, NULL, OPT_RUNTIME},
	{"runtime-root", required_argument, NULL, OPT_RUNTIME_ROOT},
	{"follow", no_argument, NULL, 'f'},
	{"force", no_argument, NULL, OPT_FORCE},
	{"json", no_argument, NULL, OPT_JSON},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

typedef struct flags {
	bool follow, force, json, quiet;
	long timeout; /* stop -t */
} flags_t;

static int
parse_cpus(const char *s, long long *quota)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v > 0) || v > 1e6) {
		ctrk_report_msg("invalid --cpus '%s': expected a positive number such as 0.5", s);
		return -1;
	}
	*quota = (long long)(v * 100000 + 0.5);
	if (*quota < 1000)
		*quota = 1000; /* the kernel's minimum quota is 1 ms */
	return 0;
}

static int
parse_option(int c, run_opts_t *o, flags_t *f)
{
	long n;
	switch (c) {
	case 'd': o->detach = true; break;
	case 't': o->tty = true; break;
	case OPT_RM: o->rm = true; break;
	case OPT_ROOTFS: o->rootfs = optarg; break;
	case 'e': ctrk_strlist_push(&o->env, optarg); break;
	case OPT_ENV_FILE: ctrk_strlist_push(&o->env_files, optarg); break;
	case OPT_ENTRYPOINT: o->entrypoint = optarg; break;
	case 'w': o->workdir = optarg; break;
	case 'u': o->user = optarg; break;
	case OPT_GROUP_ADD: ctrk_strlist_push(&o->group_add, optarg); break;
	case OPT_HOSTNAME: o->hostname = optarg; break;
	case OPT_ULIMIT: ctrk_strlist_push(&o->ulimits, optarg); break;
	case OPT_CAP_ADD: ctrk_strlist_push(&o->cap_add, optarg); break;
	case OPT_CAP_DROP: ctrk_strlist_push(&o->cap_drop, optarg); break;
	case OPT_PRIVILEGED: o->privileged = true; break;
	case OPT_SECURITY_OPT:
		/* Docker's other keys (apparmor, label, no-new-privileges) are
		 * refused, not ignored: each would ask for a confinement. */
		if (strncmp(optarg, "seccomp=", 8) != 0 || !optarg[8]) {
			ctrk_report_msg("invalid --security-opt '%s': only seccomp=unconfined or seccomp=FILE is known",
					optarg);
			return -1;
		}
		o->seccomp = optarg + 8;
		break;
	case OPT_READ_ONLY: o->read_only = true; break;
	case OPT_MEMORY:
		if (spec_parse_size(optarg, &o->memory) < 0 || o->memory == 0) {
			ctrk_report_msg("invalid --memory '%s': expected bytes, or a number with k, m or g", optarg);
			return -1;
		}
		break;
	case OPT_CPUS: return parse_cpus(optarg, &o->cpu_quota);
	case OPT_PIDS_LIMIT:
		if (ctrk_parse_int("--pids-limit", optarg, 1, 1L << 30, &n) < 0)
			return -1;
		o->pids_limit = n;
		break;
	case OPT_NET: o->net = optarg; break;
	case OPT_PID:
		if (strcmp(optarg, "host") != 0) {
			ctrk_report_msg("invalid --pid '%s': only 'host' is known", optarg);
			return -1;
		}
		o->pid = optarg;
		break;
	case OPT_MOUNT: ctrk_strlist_push(&o->mounts, optarg); break;
	case OPT_TMPFS: ctrk_strlist_push(&o->tmpfs, optarg); break;
	case OPT_PRESERVE_FDS: return ctrk_parse_int("--preserve-fds", optarg, 0, 1000, &o->preserve_fds);
	case OPT_STOP_TIMEOUT: return ctrk_parse_int("--stop-timeout", optarg, 0, 86400, &o->stop_timeout);
	case OPT_RUNTIME: o->runtime = optarg; break;
	case OPT_RUNTIME_ROOT: o->runtime_root = optarg; break;
	case 'f': f->follow = true; break;
	case OPT_FORCE: f->force = o->force = true; break;
	case OPT_JSON: f->json = true; break;
	case 'q': f->quiet = true; break;
	default: return -2;
	}
	return 0;
}

static void
opts_free(run_opts_t *o)
{
	ctrk_strlist_t *lists[] = {&o->env, &o->env_files, &o->group_add, &o->ulimits, &o->cap_add,
			   &o->cap_drop, &o->mounts, &o->tmpfs};
	for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
		ctrk_strlist_free(lists[i]);
}

/* What the verbs get: the options, parsed. */
typedef struct ctx {
	run_opts_t *o;
	flags_t *f;
} ctx_t;

/* The exit code for ERR: a closed stdout ends quietly; run, exec and wait
 * use 125 for their own failures (1 could be the command's status). */
static int
failed(const ctrk_error_t *err, int code)
{
	int rc = ctrk_fail(err);
	return code ? code : rc;
}

static char **
skip_dashes(int *argc, char **argv)
{
	if (*argc > 0 && strcmp(argv[0], "--") == 0) {
		(*argc)--;
		return argv + 1;
	}
	return argv;
}

/* Fill the descriptors of the --preserve-fds range that are not open
 * with /dev/null, first thing: the runtime gets the whole range, so none of
 * ctrk-run's own descriptors (locks, a signalfd) may land there and leak
 * into the container. */
static void
reserve_passed_fds(long n)
{
	int null = -1;
	for (int fd = 3; fd < 3 + n; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (null < 0)
			null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0 && null != fd)
			dup3(null, fd, O_CLOEXEC);
	}
	if (null >= 3 + n)
		close(null);
}

/* "ID [--] [CMD [ARG]...]" of run and config. */
static void
take_id_and_cmd(run_opts_t *o, int argc, char **argv)
{
	o->id = argv[0];
	argc--;
	o->cmd = skip_dashes(&argc, argv + 1);
	o->ncmd = (size_t)argc;
}

static int
verb_run(void *ctx, int argc, char **argv)
{
	run_opts_t *o = ((ctx_t *)ctx)->o;
	ctrk_error_t err = {0};
	int code = 0;
	reserve_passed_fds(o->preserve_fds);
	take_id_and_cmd(o, argc, argv);
	if (cmd_run(o, &code, &err) == 0)
		return code;
	return failed(&err, code ? code : RUN_EXIT_FAILED);
}

static int
verb_config(void *ctx, int argc, char **argv)
{
	run_opts_t *o = ((ctx_t *)ctx)->o;
	ctrk_error_t err = {0};
	take_id_and_cmd(o, argc, argv);
	return cmd_config(o, &err) == 0 ? 0 : failed(&err, 0);
}

static int
verb_exec(void *ctx, int argc, char **argv)
{
	run_opts_t *o = ((ctx_t *)ctx)->o;
	ctrk_error_t err = {0};
	int code = 0;
	reserve_passed_fds(o->preserve_fds);
	o->id = argv[0];
	argc--;
	char **cmd = skip_dashes(&argc, argv + 1);
	if (argc < 1) {
		ctrk_usage_error("exec: no command given");
		return RUN_EXIT_FAILED;
	}
	if (cmd_exec(o, cmd, (size_t)argc, &code, &err) == 0)
		return code;
	return failed(&err, code ? code : RUN_EXIT_FAILED);
}

static int
verb_kill(void *ctx, int argc, char **argv)
{
	ctrk_error_t err = {0};
	return cmd_kill(argv[0], argc > 1 ? argv[1] : NULL, &err) == 0 ? 0 : failed(&err, 0);
}

static int
verb_stop(void *ctx, int argc, char **argv)
{
	int rc = 0;
	for (int i = 0; i < argc; i++) {
		ctrk_error_t err = {0};
		if (cmd_stop(argv[i], ((ctx_t *)ctx)->f->timeout, &err) < 0)
			rc = failed(&err, 0);
	}
	return rc;
}

static int
verb_wait(void *ctx, int argc, char **argv)
{
	ctrk_error_t err = {0};
	int code;
	if (cmd_wait(argv[0], &code, &err) < 0)
		return failed(&err, RUN_EXIT_FAILED);
	printf("%d\n", code);
	return code;
}

static int
verb_state(void *ctx, int argc, char **argv)
{
	ctrk_error_t err = {0};
	return cmd_state(argv[0], &err) == 0 ? 0 : failed(&err, 0);
}

static int
verb_list(void *ctx, int argc, char **argv)
{
	const flags_t *f = ((ctx_t *)ctx)->f;
	ctrk_error_t err = {0};
	return cmd_list(f->json, f->quiet, &err) == 0 ? 0 : failed(&err, 0);
}

static int
verb_logs(void *ctx, int argc, char **argv)
{
	ctrk_error_t err = {0};
	return cmd_logs(argv[0], ((ctx_t *)ctx)->f->follow, &err) == 0 ? 0 : failed(&err, 0);
}

static int
verb_delete(void *ctx, int argc, char **argv)
{
	int rc = 0;
	for (int i = 0; i < argc; i++) {
		ctrk_error_t err = {0};
		/* One id: its descriptor goes on down a teardown pipeline. */
		if (cmd_delete(argv[i], ((ctx_t *)ctx)->f->force, argc == 1, &err) < 0)
			rc = failed(&err, 0);
	}
	return rc;
}

/* Every verb, its argument counts and its usage exit code: run, exec and
 * wait return the command's status, so their own errors are 125. */
static const ctrk_verb_t verbs[] = {
	{"run", 1, CTRK_VERB_ARGS_ANY, true, RUN_EXIT_FAILED, verb_run},
	{"config", 1, CTRK_VERB_ARGS_ANY, true, 0, verb_config},
	{"exec", 2, CTRK_VERB_ARGS_ANY, true, RUN_EXIT_FAILED, verb_exec},
	{"kill", 1, 2, true, 0, verb_kill},
	{"stop", 1, CTRK_VERB_ARGS_ANY, true, 0, verb_stop},
	{"wait", 1, 1, true, RUN_EXIT_FAILED, verb_wait},
	{"state", 1, 1, true, 0, verb_state},
	{"list", 0, 0, true, 0, verb_list},
	{"logs", 1, 1, true, 0, verb_logs},
	{"delete", 1, CTRK_VERB_ARGS_ANY, true, 0, verb_delete},
};
#define NVERBS (sizeof verbs / sizeof *verbs)

/* stop's own options: -t is its timeout there, as in `docker stop`. */
static const struct option stop_options[] = {
	{"time", required_argument, NULL, 't'},
	{"timeout", required_argument, NULL, 't'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* --help and --version work for anybody; every verb is root's: the state
 * directories are root's alone.  -1 when running as root. */
static int
require_root(const char *verb)
{
	if (geteuid() == 0)
		return -1;
	ctrk_require_root();
	/* run, exec and wait: 125, as for every failure of ctrk-run's own. */
	int usage = ctrk_verb_usage_exit(verbs, NVERBS, verb);
	return usage == RUN_EXIT_FAILED ? RUN_EXIT_FAILED : CTRK_EXIT_FAILURE;
}

int
main(int argc, char **argv)
{
	ctrk_cli_init("ctrk-run");
	if (argc < 2)
		return ctrk_usage_error("no verb given");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		ctrk_print_version();
		return 0;
	}
	const char *verb = argv[1];
	bool stop = strcmp(verb, "stop") == 0;
	run_opts_t o = {.stop_timeout = 10};
	flags_t f = {.timeout = 10};
	int c, rc = -1;
	opterr = 0;
	/* '+': options end at the id, so the command's own options stay its. */
	while ((c = getopt_long(argc - 1, argv + 1, stop ? "+:t:h" : "+:dte:w:u:fqh", stop ? stop_options : long_options,
				NULL)) != -1) {
		int r = 0;
		if (c == 'h') {
			fputs(usage_text, stdout);
			rc = 0;
		} else if (c == OPT_VERSION) {
			ctrk_print_version();
			rc = 0;
		} else if (stop && c == 't')
			r = ctrk_parse_int("-t", optarg, 0, 86400, &f.timeout);
		else if ((r = parse_option(c, &o, &f)) == -2)
			rc = ctrk_getopt_error(c, argv + 1);
		if (r == -1)
			rc = CTRK_EXIT_USAGE;
		if (rc >= 0)
			break;
	}
	if (rc < 0 && ctrk_verb_find(verbs, NVERBS, verb))
		rc = require_root(verb);
	if (rc < 0) {
		ctx_t ctx = {&o, &f};
		rc = ctrk_verb_dispatch(verbs, NVERBS, verb, argc - 1 - optind, argv + 1 + optind, &ctx);
	} else if (rc == CTRK_EXIT_USAGE)
		/* A usage error of run, exec or wait is ctrk-run's failure: 2
		 * could be the command's own status. */
		rc = ctrk_verb_usage_exit(verbs, NVERBS, verb);
	opts_free(&o);
	return rc;
}

