/* What the link verbs share: the parsers of addresses, routes, names, MACs
 * and sysctl keys (addr.c), and the kernel's links, addresses and routes
 * over rtnetlink (link.c).
 *
 *   addr.c   parsing (pure, unit-tested) and sysctl/ethtool inside a namespace
 *   link.c   links, addresses, routes: create, change, delete, read
 *   add.c    add, move, bridge; the descriptor and target all verbs share
 *            (netif_read_descriptor, netif_target_t)
 *   del.c    del
 *   show.c   list, check, set
 */
#ifndef CTRK_NETIF_LINK_H
#define CTRK_NETIF_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

/* linux/if.h, which has it, conflicts with net/if.h. */
#ifndef IFALIASZ
#define IFALIASZ 256
#endif
#include <cjson/cJSON.h>

#include "error.h"
#include "netif.h"
#include "nl.h"

/* ---- Parsing (addr.c) ---- */

/* An address (with prefix) or a plain IP (prefix -1). */
typedef struct ipaddr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char bytes[16];
	int prefix;
} ipaddr_t;

#define IPADDR_STRLEN 64 /* "ffff:...:ffff/128" and a NUL, with room */

/* A route: "CIDR[,via=IP][,metric=N][,table=N]". */
typedef struct route_spec {
	ipaddr_t dst;
	bool has_via;
	ipaddr_t via;
	long long metric; /* -1: none */
	long long table;  /* -1: none (main) */
} route_spec_t;

/* An interface name the kernel takes: 1-15 bytes, no '/', ':', white
 * space or control characters, not "." or "..".  WHAT names the option. */
int ifname_check(const char *name, const char *what, ctrk_error_t *err);

/* "IP" (prefix -1) or "IP/PREFIX" (PREFIX in range for the family).  With
 * NEED_PREFIX, a missing prefix is an error.  WHAT names the option. */
int ip_parse(const char *s, bool need_prefix, ipaddr_t *a, const char *what, ctrk_error_t *err);

/* The canonical text: "10.0.0.2/24", "fd00::2/64", "10.0.0.1" (prefix -1). */
void ip_format(const ipaddr_t *a, char *buf, size_t size);

/* Are A and B the same address (and prefix, when both have one)? */
bool ip_equal(const ipaddr_t *a, const ipaddr_t *b);

/* Are the bits of A past its prefix all zero (a network address)? */
bool ip_is_network(const ipaddr_t *a);

/* The default route's destination of FAMILY: 0.0.0.0/0 or ::/0. */
void ip_default(int family, ipaddr_t *a);

int route_parse(const char *s, route_spec_t *r, ctrk_error_t *err);

/* "aa:bb:cc:dd:ee:ff": six hex pairs, not multicast, not all zero. */
int mac_parse(const char *s, unsigned char mac[6], ctrk_error_t *err);
void mac_format(const unsigned char *mac, size_t len, char *buf, size_t size);

/* "KEY=VALUE" with KEY "net.ipv4.conf.eth0.rp_filter" (or with '/' as the
 * separator, for names holding a dot): PATH gets "net/ipv4/conf/eth0/rp_filter"
 * (under /proc/sys), *VALUE points into KV.  KEY cannot leave net/. */
int sysctl_parse(const char *kv, char *path, size_t size, const char **value, ctrk_error_t *err);

/* Inside the namespace NETNS_FD: write the sysctls (KEY=VALUE each) and,
 * when NO_TX_CSUM, turn off transmit checksumming of IFNAME (ethtool). */
int netns_configure(int netns_fd, const ctrk_strlist_t *sysctls, const char *ifname, bool no_tx_csum,
		    ctrk_error_t *err);

/* ---- Links, addresses, routes (link.c) ---- */

typedef struct link_info {
	int index;
	char name[IFNAMSIZ];
	char kind[32];   /* IFLA_INFO_KIND: "veth", "bridge", "macvlan", ... or "" */
	unsigned mtu;
	unsigned flags;  /* IFF_* */
	uint32_t group;
	int master;      /* 0: none */
	uint32_t txqlen;
	char alias[256];
	unsigned char mac[32];
	size_t mac_len;
	int link;            /* IFLA_LINK: a veth's other end, a macvlan's parent; 0: none */
	bool link_elsewhere; /* ... and that one is in another namespace */
} link_info_t;

/* H (an RTM_NEWLINK) into LI, every attribute validated; -1 when H is
 * not one, or too short to be. */
int link_parse(const struct nlmsghdr *h, link_info_t *li);

/* The link NAME (or INDEX when NAME is NULL).  0 found, 1 no such link,
 * -1 failed. */
int link_get(nl_t *nl, const char *name, int index, link_info_t *li, ctrk_error_t *err);

/* A change of an existing link; fields left at their "none" value are
 * not touched. */
typedef struct link_change {
	const char *name;          /* rename */
	long mtu;                  /* -1: none */
	int up;                    /* 1 up, 0 down, -1 none */
	const unsigned char *mac;  /* 6 bytes, or NULL */
	long txqlen;               /* -1: none */
	const char *alias;         /* NULL: none */
	int netns_fd;              /* move there; -1: none */
	int master;                /* attach to this bridge; 0: none */
} link_change_t;
#define LINK_CHANGE_NONE {.mtu = -1, .up = -1, .txqlen = -1, .netns_fd = -1}

int link_change(nl_t *nl, int index, const link_change_t *c, const char *what, ctrk_error_t *err);

int link_del(nl_t *nl, int index, const char *what, ctrk_error_t *err);

/* What a new link is made of (RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL). */
typedef struct link_new {
	const char *kind;          /* "veth", "bridge", "macvlan", "ipvlan", "vlan" */
	const char *name;
	uint32_t group;            /* 0: none */
	long mtu;                  /* -1: none */
	const unsigned char *mac;  /* NULL: the kernel's */
	long txqlen;
	int master;                /* bridge to attach to; 0: none */
	bool up;
	int netns_fd;              /* create it there; -1: here */
	int link;                  /* macvlan, ipvlan, vlan: the parent's index */
	uint32_t mode;             /* macvlan: MACVLAN_MODE_*; ipvlan: IPVLAN_MODE_* */
	long vlan_id;
	/* veth: the peer */
	const char *peer_name;
	int peer_netns_fd;
	long peer_mtu;
	const unsigned char *peer_mac;
	long peer_txqlen;
} link_new_t;

int link_create(nl_t *nl, const link_new_t *n, const char *what, ctrk_error_t *err);

/* Every link: CB(li, DATA) for each; CB returns -1 to stop with an error
 * it set in ERR. */
typedef int (*link_cb_t)(const link_info_t *li, void *data, ctrk_error_t *err);
int link_dump(nl_t *nl, link_cb_t cb, void *data, ctrk_error_t *err);

/* link_dump() for who must see the whole table at one moment (gc, a
 * namespace's mark): a dump the table changed under (links came or went
 * meanwhile: runs starting) is read again, up to five times.  RESTART(DATA)
 * is called before each reading, to forget what the last one gave. */
int link_dump_whole(nl_t *nl, link_cb_t cb, void (*restart)(void *), void *data, const char *what,
		    ctrk_error_t *err);

/* Add (RTM_NEWADDR) or remove (RTM_DELADDR) address A of link INDEX;
 * IPv6 ones added with IFA_F_NODAD unless DAD. */
int addr_change(nl_t *nl, int cmd, int index, const ipaddr_t *a, bool dad, const char *what,
		ctrk_error_t *err);

/* Every address of every link (INDEX 0) or of link INDEX (scope global
 * and link-local IPv6 alike). */
typedef int (*addr_cb_t)(int index, const ipaddr_t *a, void *data, ctrk_error_t *err);
int addr_dump(nl_t *nl, int index, addr_cb_t cb, void *data, ctrk_error_t *err);

/* *FOUND: does link INDEX (0: any) have address WANT (ip_equal)? */
int addr_present(nl_t *nl, int index, const ipaddr_t *want, bool *found, ctrk_error_t *err);

/* Add (RTM_NEWROUTE) or remove (RTM_DELROUTE) route R through link OIF
 * (0: whichever the kernel finds). */
int route_change(nl_t *nl, int cmd, int oif, const route_spec_t *r, const char *what, ctrk_error_t *err);

/* Every unicast route of every table but local. */
typedef struct route_info {
	route_spec_t r;
	int oif;
} route_info_t;
typedef int (*route_cb_t)(const route_info_t *ri, void *data, ctrk_error_t *err);
int route_dump(nl_t *nl, route_cb_t cb, void *data, ctrk_error_t *err);

/* Does the table hold route R (dst, gateway, table; metric when given)? */
bool route_matches(const route_spec_t *want, const route_info_t *have);

/* *FOUND: does NL's namespace have a route that route_matches() WANT? */
int route_present(nl_t *nl, const route_spec_t *want, bool *found, ctrk_error_t *err);

/* ---- Shared by the verbs (add.c) ---- */

/* What a verb works on: its options, the descriptor, the namespace and a
 * netlink socket on either side.  add, move, set, list, check and del
 * each fill it in their own way; netif_target_free() lets go of it all. */
typedef struct netif_target {
	const netif_opts_t *o;
	cJSON *d;
	const char *key; /* the owner key (in D) */
	char *path;      /* the namespace's path; NULL: none */
	int netns_fd;    /* -1: none, or gone */
	int home_fd;     /* this process's namespace (move, del); -1: not opened */
	nl_t *host, *ns;
} netif_target_t;
#define NETIF_TARGET_INIT(opts) {.o = (opts), .netns_fd = -1, .home_fd = -1}
void netif_target_free(netif_target_t *t);
#define cleanup_target __attribute__((cleanup(netif_target_free)))

/* The descriptor on stdin, validated ("netns", "network", "netif"); an
 * empty input is an empty descriptor when OPTIONAL, else an error. */
cJSON *netif_read_descriptor(bool optional, ctrk_error_t *err);

/* A route of the descriptor's "network" as a spec; -1 when unreadable. */
int route_from_json(const cJSON *route, route_spec_t *r, ctrk_error_t *err);

/* Append R to NETWORK's routes. */
void route_to_result(cJSON *network, const route_spec_t *r);

#endif
