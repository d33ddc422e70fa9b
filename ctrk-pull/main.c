/* ctrk-pull: fetch an image into the content store, print its descriptor. */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pull.h"

static const char usage_text[] =
	"Usage: ctrk-pull [OPTION]... SOURCE\n"
	"Fetch an image into the content store and print its descriptor.\n"
	"\n"
	"SOURCE is a registry reference (busybox, docker.io/library/busybox:1.36,\n"
	"localhost:5000/a/b@sha256:...) or oci:DIR[:TAG], oci-archive:FILE[:TAG],\n"
	"docker-archive:FILE.\n"
	"\n"
	"  -r, --root DIR            state directory (default $CTRK_ROOT or /var/lib/ctrk)\n"
	"  -p, --platform OS/ARCH[/VARIANT]  image to pick from an index (default: this host)\n"
	"      --creds USER[:PASS]   registry credentials\n"
	"      --authfile FILE       credentials file (auth.json or Docker config.json)\n"
	"      --ca-file FILE        trust the CA certificates in FILE too\n"
	"      --cert-dir DIR        ca.crt, client.cert and client.key instead of\n"
	"                            /etc/containers/certs.d/HOST or /etc/docker/certs.d/HOST\n"
	"      --plain-http          talk HTTP, not HTTPS (loopback registries need not)\n"
	"  -j, --jobs N              blobs to transfer at once (default 4)\n"
	"      --retries N           retries after connection errors, 5xx and 429 (default 3)\n"
	"  -q, --quiet               no progress bars and no summary line\n"
	"  -h, --help                show this help\n"
	"      --version             show the version\n"
	"\n"
	"Exit status: 0 pulled, 1 failed, 2 usage error.  See ctrk-pull(1).\n";

enum { OPT_CREDS = 256, OPT_AUTHFILE, OPT_CA_FILE, OPT_CERT_DIR, OPT_PLAIN_HTTP, OPT_RETRIES, OPT_VERSION };

static const struct option long_options[] = {
	{"root", required_argument, NULL, 'r'},
	{"platform", required_argument, NULL, 'p'},
	{"creds", required_argument, NULL, OPT_CREDS},
	{"authfile", required_argument, NULL, OPT_AUTHFILE},
	{"ca-file", required_argument, NULL, OPT_CA_FILE},
	{"cert-dir", required_argument, NULL, OPT_CERT_DIR},
	{"plain-http", no_argument, NULL, OPT_PLAIN_HTTP},
	{"jobs", required_argument, NULL, 'j'},
	{"retries", required_argument, NULL, OPT_RETRIES},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

int
main(int argc, char **argv)
{
	ctrk_cli_init("ctrk-pull");
	/* Transfer threads allocate little; one malloc arena keeps them from
	 * each touching a private heap (peak RSS, measured by bench/pull.sh). */
	mallopt(M_ARENA_MAX, 1);
	pull_opts_t opts = {.jobs = 4, .registry = {.retries = 3}};
	ctrk_error_t err = {0};
	long n;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:p:j:qh", long_options, NULL)) != -1) {
		switch (c) {
		case 'r': opts.root = optarg; break;
		case 'p':
			ctrk_platform_free(&opts.platform);
			if (ctrk_platform_parse(optarg, &opts.platform, &err) < 0) {
				ctrk_report(&err);
				return CTRK_EXIT_USAGE;
			}
			opts.platform_given = true;
			break;
		case OPT_CREDS: opts.registry.auth.creds = optarg; break;
		case OPT_AUTHFILE: opts.registry.auth.authfile = optarg; break;
		case OPT_CA_FILE: opts.registry.ca_file = optarg; break;
		case OPT_CERT_DIR: opts.registry.cert_dir = optarg; break;
		case OPT_PLAIN_HTTP: opts.registry.plain_http = true; break;
		case 'j':
			if (ctrk_parse_int("--jobs", optarg, 1, 64, &n) < 0)
				return CTRK_EXIT_USAGE;
			opts.jobs = (int)n;
			break;
		case OPT_RETRIES:
			if (ctrk_parse_int("--retries", optarg, 0, 100, &n) < 0)
				return CTRK_EXIT_USAGE;
			opts.registry.retries = (int)n;
			break;
		case 'q': opts.quiet = true; break;
		case 'h': fputs(usage_text, stdout); return CTRK_EXIT_OK;
		case OPT_VERSION: ctrk_print_version(); return CTRK_EXIT_OK;
		default: return ctrk_getopt_error(c, argv);
		}
	}
	if (optind + 1 != argc)
		return ctrk_usage_error(optind == argc ? "missing SOURCE" : "expected exactly one SOURCE");
	if (!opts.platform_given)
		ctrk_platform_host(&opts.platform);

	ret = pull_image(argv[optind], &opts, &err) < 0 ? ctrk_fail(&err) : CTRK_EXIT_OK;
	ctrk_platform_free(&opts.platform);
	return ret;
}
