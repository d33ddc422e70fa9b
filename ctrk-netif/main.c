/* ctrk-netif: network namespaces and interfaces for containers. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "netif.h"
#include "verb.h"

static const char usage_text[] =
	"Usage: ctrk-netif [OPTION]... VERB [ARG]...\n"
	"Network namespaces and interfaces for containers.  Addresses and routes are\n"
	"the caller's; the descriptor on stdin gets \"netns\" and \"network\" (a CNI\n"
	"1.0 result) and passes every other field through.\n"
	"\n"
	"  ns add NAME              a namespace pinned at /run/netns/NAME, lo up\n"
	"  ns del NAME              remove it (as ip netns del)\n"
	"  ns list [--json]         the namespaces in /run/netns\n"
	"  add veth|macvlan|ipvlan|vlan  an interface in the namespace\n"
	"  move DEV                 a host device into the namespace (back on del)\n"
	"  del [IFNAME]             remove IFNAME, or (teardown) everything\n"
	"                           ctrk-netif added to the descriptor on stdin\n"
	"  list [--json]            the namespace's interfaces and addresses\n"
	"  set IFNAME               change mtu, up/down, addresses, routes\n"
	"  check                    the namespace is what the descriptor says;\n"
	"                           prints the differences and exits 1 if not\n"
	"  bridge add|del NAME      a host bridge (--addr, --mtu)\n"
	"  cni --conf FILE add|del|check  run CNI plugins on the namespace\n"
	"  gc [KEY]...              remove what killed runs left (owner-marked\n"
	"                           links and namespaces no container uses)\n"
	"\n"
	"Where:\n"
	"      --netns PATH        the namespace at PATH\n"
	"      --pid PID           the namespace of process PID (through a pidfd)\n"
	"                          (default: the descriptor's netns)\n"
	"      --key KEY           the owner key of what is added (default: the\n"
	"                          descriptor's container, snapshot or namespace name)\n"
	"Interfaces (add, set):\n"
	"      --ifname NAME       the name in the namespace (add: default eth0)\n"
	"      --host-ifname NAME  (veth) the host side's name\n"
	"      --bridge BR         (veth) attach the host side to bridge BR\n"
	"      --master DEV        (macvlan, ipvlan, vlan) the parent device\n"
	"      --mode MODE         macvlan: bridge|private|vepa|passthru;\n"
	"                          ipvlan: l2|l3|l3s\n"
	"      --vlan-id N         (vlan) 1-4094\n"
	"      --addr CIDR         an IPv4 or IPv6 address (repeatable)\n"
	"      --gateway IP        the default route's gateway (one per family)\n"
	"      --route CIDR[,via=IP][,metric=N][,table=N]  a route (repeatable)\n"
	"      --mtu N, --mac MAC, --txqueuelen N\n"
	"      --sysctl KEY=VALUE  a sysctl inside the namespace (repeatable)\n"
	"      --no-tx-checksum    turn off transmit checksum offload\n"
	"      --dad               wait for IPv6 duplicate address detection\n"
	"      --up, --down        (set) the link state\n"
	"      --del-addr CIDR, --del-route CIDR  (set) remove one\n"
	"Other:\n"
	"      --conf FILE         (cni) a network configuration or list\n"
	"      --cni-path DIRS     (cni) plugin directories (default $CNI_PATH,\n"
	"                          then /usr/lib/cni:/opt/cni/bin)\n"
	"      --json              (list, ns list, check, gc) JSON output\n"
	"      --dry-run           (gc) say what would be removed\n"
	"      --min-age SECONDS   (gc) leave what is younger (default 60)\n"
	"  -q, --quiet             no notes on stderr\n"
	"  -h, --help              show this help\n"
	"      --version           show the version\n"
	"\n"
	"Exit status: 0 done, 1 failed (check: differences found), 2 usage error.\n"
	"Every verb but list and ns list must be run as root.  See ctrk-netif(1).\n";

enum {
	OPT_NETNS = 256, OPT_PID, OPT_KEY, OPT_JSON, OPT_DRY_RUN, OPT_IFNAME, OPT_HOST_IFNAME,
	OPT_BRIDGE, OPT_MASTER, OPT_MODE, OPT_VLAN_ID, OPT_ADDR, OPT_DEL_ADDR, OPT_GATEWAY,
	OPT_ROUTE, OPT_DEL_ROUTE, OPT_SYSCTL, OPT_MTU, OPT_MAC, OPT_TXQUEUELEN, OPT_NO_TX_CSUM,
	OPT_DAD, OPT_UP, OPT_DOWN, OPT_CONF, OPT_CNI_PATH, OPT_MIN_AGE, OPT_VERSION,
};

static const struct option long_options[] = {
	{"netns", required_argument, NULL, OPT_NETNS},
	{"pid", required_argument, NULL, OPT_PID},
	{"key", required_argument, NULL, OPT_KEY},
	{"json", no_argument, NULL, OPT_JSON},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"ifname", required_argument, NULL, OPT_IFNAME},
	{"host-ifname", required_argument, NULL, OPT_HOST_IFNAME},
	{"bridge", required_argument, NULL, OPT_BRIDGE},
	{"master", required_argument, NULL, OPT_MASTER},
	{"mode", required_argument, NULL, OPT_MODE},
	{"vlan-id", required_argument, NULL, OPT_VLAN_ID},
	{"addr", required_argument, NULL, OPT_ADDR},
	{"del-addr", required_argument, NULL, OPT_DEL_ADDR},
	{"gateway", required_argument, NULL, OPT_GATEWAY},
	{"route", required_argument, NULL, OPT_ROUTE},
	{"del-route", required_argument, NULL, OPT_DEL_ROUTE},
	{"sysctl", required_argument, NULL, OPT_SYSCTL},
	{"mtu", required_argument, NULL, OPT_MTU},
	{"mac", required_argument, NULL, OPT_MAC},
	{"txqueuelen", required_argument, NULL, OPT_TXQUEUELEN},
	{"no-tx-checksum", no_argument, NULL, OPT_NO_TX_CSUM},
	{"dad", no_argument, NULL, OPT_DAD},
	{"up", no_argument, NULL, OPT_UP},
	{"down", no_argument, NULL, OPT_DOWN},
	{"conf", required_argument, NULL, OPT_CONF},
	{"cni-path", required_argument, NULL, OPT_CNI_PATH},
	{"min-age", required_argument, NULL, OPT_MIN_AGE},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* The verbs: thin wrappers from the table's shape to the parts'. */
static int
v_ns(void *o, int argc, char **a)
{
	return cmd_ns(o, argc, a);
}

static int
v_add(void *o, int argc, char **a)
{
	return cmd_add(o, a[0]);
}

static int
v_move(void *o, int argc, char **a)
{
	return cmd_move(o, a[0]);
}

static int
v_del(void *o, int argc, char **a)
{
	return cmd_del(o, argc ? a[0] : NULL);
}

static int
v_list(void *o, int argc, char **a)
{
	return cmd_list(o);
}

static int
v_set(void *o, int argc, char **a)
{
	return cmd_set(o, a[0]);
}

static int
v_check(void *o, int argc, char **a)
{
	return cmd_check(o);
}

static int
v_bridge(void *o, int argc, char **a)
{
	return cmd_bridge(o, a[0], a[1]);
}

static int
v_cni(void *o, int argc, char **a)
{
	return cmd_cni(o, a[0]);
}

static int
v_gc(void *o, int argc, char **a)
{
	return cmd_gc(o, argc, a);
}

/* ns checks root itself: ns list reads only /run/netns. */
static const ctrk_verb_t verbs[] = {
	{"ns", 1, 2, false, 0, v_ns},       {"add", 1, 1, true, 0, v_add},
	{"move", 1, 1, true, 0, v_move},    {"del", 0, 1, true, 0, v_del},
	{"list", 0, 0, false, 0, v_list},   {"set", 1, 1, true, 0, v_set},
	{"check", 0, 0, true, 0, v_check},  {"bridge", 2, 2, true, 0, v_bridge},
	{"cni", 1, 1, true, 0, v_cni},      {"gc", 0, CTRK_VERB_ARGS_ANY, true, 0, v_gc},
};
#define NVERBS (sizeof verbs / sizeof *verbs)

int
main(int argc, char **argv)
{
	ctrk_cli_init("ctrk-netif");
	netif_opts_t o = {.vlan_id = -1, .mtu = -1, .txqueuelen = -1, .up = -1, .min_age = -1};
	int c;

	opterr = 0;
	/* Options may come before or after the verb (GNU getopt permutes). */
	while ((c = getopt_long(argc, argv, ":qh", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_NETNS: o.netns = optarg; break;
		case OPT_PID:
			if (ctrk_parse_int("--pid", optarg, 1, 0x7fffffff, &o.pid) < 0)
				return CTRK_EXIT_USAGE;
			break;
		case OPT_KEY: o.key = optarg; break;
		case OPT_JSON: o.json = true; break;
		case OPT_DRY_RUN: o.dry_run = true; break;
		case OPT_IFNAME: o.ifname = optarg; break;
		case OPT_HOST_IFNAME: o.host_ifname = optarg; break;
		case OPT_BRIDGE: o.bridge = optarg; break;
		case OPT_MASTER: o.master = optarg; break;
		case OPT_MODE: o.mode = optarg; break;
		case OPT_VLAN_ID:
			if (ctrk_parse_int("--vlan-id", optarg, 1, 4094, &o.vlan_id) < 0)
				return CTRK_EXIT_USAGE;
			break;
		case OPT_ADDR: ctrk_strlist_push(&o.addrs, optarg); break;
		case OPT_DEL_ADDR: ctrk_strlist_push(&o.del_addrs, optarg); break;
		case OPT_GATEWAY: ctrk_strlist_push(&o.gateways, optarg); break;
		case OPT_ROUTE: ctrk_strlist_push(&o.routes, optarg); break;
		case OPT_DEL_ROUTE: ctrk_strlist_push(&o.del_routes, optarg); break;
		case OPT_SYSCTL: ctrk_strlist_push(&o.sysctls, optarg); break;
		case OPT_MTU:
			if (ctrk_parse_int("--mtu", optarg, 68, 65535, &o.mtu) < 0)
				return CTRK_EXIT_USAGE;
			break;
		case OPT_MAC: o.mac = optarg; break;
		case OPT_TXQUEUELEN:
			if (ctrk_parse_int("--txqueuelen", optarg, 0, 0x7fffffff, &o.txqueuelen) < 0)
				return CTRK_EXIT_USAGE;
			break;
		case OPT_NO_TX_CSUM: o.no_tx_checksum = true; break;
		case OPT_DAD: o.dad = true; break;
		case OPT_UP: o.up = 1; break;
		case OPT_DOWN: o.up = 0; break;
		case OPT_CONF: o.cni_conf = optarg; break;
		case OPT_CNI_PATH: o.cni_path = optarg; break;
		case OPT_MIN_AGE:
			if (ctrk_parse_int("--min-age", optarg, 0, 0x7fffffff, &o.min_age) < 0)
				return CTRK_EXIT_USAGE;
			break;
		case 'q': o.quiet = true; break;
		case 'h': fputs(usage_text, stdout); return CTRK_EXIT_OK;
		case OPT_VERSION: ctrk_print_version(); return CTRK_EXIT_OK;
		default: return ctrk_getopt_error(c, argv);
		}
	}
	if (o.netns && o.pid)
		return ctrk_usage_error("--netns and --pid: give one, not both");
	if (optind >= argc)
		return ctrk_usage_error("no verb given");
	int rc = ctrk_verb_dispatch(verbs, NVERBS, argv[optind], argc - optind - 1, argv + optind + 1, &o);
	ctrk_strlist_t *lists[] = {&o.addrs, &o.del_addrs, &o.gateways, &o.routes, &o.del_routes, &o.sysctls};
	for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
		ctrk_strlist_free(lists[i]);
	return rc;
}
