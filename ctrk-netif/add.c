/* add veth|macvlan|ipvlan|vlan, move, bridge add|del: see link.h.
 *
 * Every verb here first parses and checks all its options (nothing is
 * touched when one is wrong), then creates, and undoes what it created
 * when a later step fails.  The descriptor is written only at the end. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "cleanup.h"
#include "cli.h"
#include "descriptor.h"
#include "digest.h"
#include "fsutil.h"
#include "json.h"
#include "link.h"
#include "result.h"

/* ---- Shared with del.c and show.c ---- */

cJSON *
netif_read_descriptor(bool optional, ctrk_error_t *err)
{
	cleanup_json cJSON *d = ctrk_descriptor_read(0, optional, err);
	if (!d || netif_descriptor_validate(d, err) < 0)
		return NULL;
	const cJSON *network = cJSON_GetObjectItemCaseSensitive(d, "network");
	if (network && result_validate(network, "descriptor: field 'network'", err) < 0)
		return NULL;
	return steal_pointer(&d);
}

int
route_from_json(const cJSON *route, route_spec_t *r, ctrk_error_t *err)
{
	const char *dst = NULL, *gw = NULL;
	long long v;
	memset(r, 0, sizeof *r);
	r->metric = r->table = -1;
	if (ctrk_json_get_string(route, "dst", true, &dst, "network.routes[]", err) < 0 ||
	    ctrk_json_get_string(route, "gw", false, &gw, "network.routes[]", err) < 0 ||
	    ip_parse(dst, true, &r->dst, "network.routes[].dst", err) < 0)
		return -1;
	if (gw) {
		if (ip_parse(gw, false, &r->via, "network.routes[].gw", err) < 0)
			return -1;
		r->has_via = true;
	}
	v = -1;
	if (ctrk_json_get_int64(route, "priority", false, &v, "network.routes[]", err) < 0)
		return -1;
	r->metric = v;
	v = -1;
	if (ctrk_json_get_int64(route, "table", false, &v, "network.routes[]", err) < 0)
		return -1;
	r->table = v;
	return 0;
}

void
route_to_result(cJSON *network, const route_spec_t *r)
{
	char dst[IPADDR_STRLEN], gw[IPADDR_STRLEN];
	ip_format(&r->dst, dst, sizeof dst);
	if (r->has_via)
		ip_format(&r->via, gw, sizeof gw);
	result_add_route(network, dst, r->has_via ? gw : NULL, (long)r->metric, (long)r->table);
}

/* ---- What add and move do to the interface in the namespace ---- */

typedef struct plan {
	ipaddr_t *addrs;
	size_t naddrs;
	ipaddr_t gw[2]; /* [0] IPv4, [1] IPv6 */
	bool has_gw[2];
	route_spec_t *routes;
	size_t nroutes;
	unsigned char mac[6];
	bool has_mac;
} plan_t;

static void
plan_free(plan_t *p)
{
	free(p->addrs);
	free(p->routes);
}
#define cleanup_plan __attribute__((cleanup(plan_free)))

static int
fam(int family)
{
	return family == AF_INET6;
}

/* Check every option that says what the interface gets; usage errors. */
static int
plan_parse(const netif_opts_t *o, plan_t *p, ctrk_error_t *err)
{
	char path[256];
	const char *value;
	if (o->ifname && ifname_check(o->ifname, "--ifname", err) < 0)
		return -1;
	p->addrs = ctrk_xcalloc(o->addrs.n + 1, sizeof *p->addrs);
	p->routes = ctrk_xcalloc(o->routes.n + 1, sizeof *p->routes);
	for (size_t i = 0; i < o->addrs.n; i++)
		if (ip_parse(o->addrs.v[i], true, &p->addrs[p->naddrs++], "--addr", err) < 0)
			return -1;
	for (size_t i = 0; i < o->gateways.n; i++) {
		ipaddr_t g;
		if (ip_parse(o->gateways.v[i], false, &g, "--gateway", err) < 0)
			return -1;
		if (g.prefix >= 0)
			return ctrk_error_set(err, 0, "--gateway: '%s': a gateway has no prefix length", o->gateways.v[i]);
		if (p->has_gw[fam(g.family)])
			return ctrk_error_set(err, 0, "--gateway: one default route per family; '%s' is the second",
					      o->gateways.v[i]);
		p->gw[fam(g.family)] = g;
		p->has_gw[fam(g.family)] = true;
	}
	for (size_t i = 0; i < o->routes.n; i++)
		if (route_parse(o->routes.v[i], &p->routes[p->nroutes++], err) < 0)
			return -1;
	if (o->mac && mac_parse(o->mac, p->mac, err) < 0)
		return -1;
	p->has_mac = o->mac != NULL;
	for (size_t i = 0; i < o->sysctls.n; i++)
		if (sysctl_parse(o->sysctls.v[i], path, sizeof path, &value, err) < 0)
			return -1;
	return 0;
}

/* Inside the namespace, on link INDEX named IFNAME: sysctls and ethtool
 * first (an interface's sysctls may matter before it is up), addresses,
 * up, then routes (a gateway must be reachable, so the link up). */
static int
plan_apply(const netif_opts_t *o, const plan_t *p, nl_t *ns, int netns_fd, const char *path, int index,
	   const char *ifname, ctrk_error_t *err)
{
	char what[512], a[IPADDR_STRLEN], b[IPADDR_STRLEN];
	if (netns_configure(netns_fd, &o->sysctls, ifname, o->no_tx_checksum, err) < 0)
		return ctrk_error_wrap(err, "configuring '%s' in %s", ifname, path);
	for (size_t i = 0; i < p->naddrs; i++) {
		ip_format(&p->addrs[i], a, sizeof a);
		snprintf(what, sizeof what, "adding address %s to '%s' in %s", a, ifname, path);
		if (addr_change(ns, RTM_NEWADDR, index, &p->addrs[i], o->dad, what, err) < 0)
			return -1;
	}
	link_change_t up = LINK_CHANGE_NONE;
	up.up = 1;
	snprintf(what, sizeof what, "bringing '%s' up in %s", ifname, path);
	if (link_change(ns, index, &up, what, err) < 0)
		return -1;
	for (int f = 0; f < 2; f++) {
		if (!p->has_gw[f])
			continue;
		route_spec_t r = {.has_via = true, .via = p->gw[f], .metric = -1, .table = -1};
		ip_default(p->gw[f].family, &r.dst);
		ip_format(&r.dst, a, sizeof a);
		ip_format(&r.via, b, sizeof b);
		snprintf(what, sizeof what, "adding route %s via %s on '%s' in %s", a, b, ifname, path);
		if (route_change(ns, RTM_NEWROUTE, index, &r, what, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < p->nroutes; i++) {
		snprintf(what, sizeof what, "adding route '%s' on '%s' in %s", o->routes.v[i], ifname, path);
		if (route_change(ns, RTM_NEWROUTE, index, &p->routes[i], what, err) < 0)
			return -1;
	}
	return 0;
}

/* The interface in the namespace, its addresses and routes, into the
 * descriptor's network. */
static void
plan_record(cJSON *d, const plan_t *p, const char *path, const link_info_t *li)
{
	char mac[64], a[IPADDR_STRLEN], g[IPADDR_STRLEN];
	cJSON *network = result_get(d);
	mac_format(li->mac, li->mac_len, mac, sizeof mac);
	int idx = result_add_interface(network, li->name, mac, (int)li->mtu, path);
	for (size_t i = 0; i < p->naddrs; i++) {
		int f = fam(p->addrs[i].family);
		ip_format(&p->addrs[i], a, sizeof a);
		if (p->has_gw[f])
			ip_format(&p->gw[f], g, sizeof g);
		result_add_ip(network, a, p->has_gw[f] ? g : NULL, idx);
	}
	for (int f = 0; f < 2; f++) {
		if (!p->has_gw[f])
			continue;
		route_spec_t r = {.has_via = true, .via = p->gw[f], .metric = -1, .table = -1};
		ip_default(p->gw[f].family, &r.dst);
		route_to_result(network, &r);
	}
	for (size_t i = 0; i < p->nroutes; i++)
		route_to_result(network, &p->routes[i]);
}

/* ---- The namespace and the descriptor ---- */

void
netif_target_free(netif_target_t *t)
{
	if (t->ns)
		nl_close(t->ns);
	if (t->host)
		nl_close(t->host);
	if (t->netns_fd >= 0)
		close(t->netns_fd);
	if (t->home_fd >= 0)
		close(t->home_fd);
	free(t->path);
	cJSON_Delete(t->d);
}

/* Read the descriptor, open the namespace and a netlink socket on either
 * side, and find the owner key.  The descriptor's netns becomes the
 * namespace's path (one descriptor describes one namespace). */
static int
target_open(const netif_opts_t *o, netif_target_t *t, ctrk_error_t *err)
{
	t->netns_fd = -1;
	if (!(t->d = netif_read_descriptor(true, err)))
		return -1;
	if ((t->netns_fd = netns_open(o, t->d, true, &t->path, err)) < 0 ||
	    netns_refuse_host(t->netns_fd, t->path, err) < 0 || netns_settle(t->d, &t->path, err) < 0)
		return -1;
	const char *had = descriptor_netns_path(t->d);
	if (!had || strcmp(had, t->path) != 0)
		ctrk_json_set(t->d, "netns", cJSON_CreateString(t->path));
	if (!(t->key = netif_key(o, t->d, err)))
		return -1;
	if (!(t->host = nl_open(-1, err)) || !(t->ns = nl_open(t->netns_fd, err)))
		return -1;
	return 0;
}

/* "ck" and 12 hex digits of sha256(KEY "/" IFNAME): the same name for the
 * same container and interface, so it is found again, and unlike any
 * other container's. */
static void
host_name(const char *key, const char *ifname, char *buf, size_t size)
{
	char digest[CTRK_DIGEST_LEN + 1];
	cleanup_free char *s = ctrk_strdup_printf("%s/%s", key, ifname);
	ctrk_digest_bytes(s, strlen(s), digest);
	snprintf(buf, size, "ck%.12s", ctrk_digest_hex(digest));
}

/* After EEXIST from WHAT, creating IFNAME in the namespace (and HOST on
 * the host): say which of them exists. */
static void
explain_exists(const netif_target_t *t, const char *host, const char *ifname, const char *what, ctrk_error_t *err)
{
	link_info_t li;
	ctrk_error_t ignored;
	if (host && link_get(t->host, host, 0, &li, &ignored) == 0)
		ctrk_error_set(err, 0, "%s: an interface '%s' exists on the host", what, host);
	else if (link_get(t->ns, ifname, 0, &li, &ignored) == 0)
		ctrk_error_set(err, 0, "%s: an interface '%s' exists in %s", what, ifname, t->path);
}

/* The link NAME, which must exist. */
static int
must_get(nl_t *nl, const char *name, const char *where, link_info_t *li, ctrk_error_t *err)
{
	int r = link_get(nl, name, 0, li, err);
	if (r == 1)
		return ctrk_error_set(err, 0, "'%s' in %s: gone", name, where);
	return r;
}

/* A link of the host by name, which must exist (and be of KIND when not
 * NULL).  WHAT names the option. */
static int
host_link(nl_t *host, const char *name, const char *kind, const char *what, link_info_t *li, ctrk_error_t *err)
{
	int r = link_get(host, name, 0, li, err);
	if (r < 0)
		return -1;
	if (r == 1)
		return ctrk_error_set(err, 0, "%s: no interface '%s' on the host", what, name);
	if (kind && strcmp(li->kind, kind) != 0)
		return ctrk_error_set(err, 0, "%s: '%s' is not a %s (it is a %s)", what, name, kind,
				      li->kind[0] ? li->kind : "device without a kind");
	return 0;
}

/* ---- add ---- */

static const struct {
	const char *kind, *name;
	uint32_t mode;
} modes[] = {
	{"macvlan", "private", MACVLAN_MODE_PRIVATE}, {"macvlan", "vepa", MACVLAN_MODE_VEPA},
	{"macvlan", "bridge", MACVLAN_MODE_BRIDGE},   {"macvlan", "passthru", MACVLAN_MODE_PASSTHRU},
	{"ipvlan", "l2", IPVLAN_MODE_L2},             {"ipvlan", "l3", IPVLAN_MODE_L3},
	{"ipvlan", "l3s", IPVLAN_MODE_L3S},
};

/* Options that only some types take; usage errors. */
static int
add_options_check(const netif_opts_t *o, const char *type, uint32_t *mode, ctrk_error_t *err)
{
	bool veth = strcmp(type, "veth") == 0;
	if (veth && (o->master || o->mode || o->vlan_id >= 0))
		return ctrk_error_set(err, 0, "add veth takes no --master, --mode or --vlan-id");
	if (!veth && (o->host_ifname || o->bridge))
		return ctrk_error_set(err, 0, "add %s takes no --host-ifname or --bridge (veth only)", type);
	if (!veth && !o->master)
		return ctrk_error_set(err, 0, "add %s needs --master DEV", type);
	if (strcmp(type, "vlan") == 0 && (o->vlan_id < 0 || o->mode))
		return ctrk_error_set(err, 0, "add vlan needs --vlan-id N and takes no --mode");
	if (strcmp(type, "vlan") != 0 && o->vlan_id >= 0)
		return ctrk_error_set(err, 0, "--vlan-id is for add vlan");
	if (o->host_ifname && ifname_check(o->host_ifname, "--host-ifname", err) < 0)
		return -1;
	if (o->bridge && ifname_check(o->bridge, "--bridge", err) < 0)
		return -1;
	if (o->master && ifname_check(o->master, "--master", err) < 0)
		return -1;
	*mode = strcmp(type, "ipvlan") == 0 ? IPVLAN_MODE_L2 : MACVLAN_MODE_BRIDGE;
	if (o->mode) {
		for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
			if (strcmp(modes[i].kind, type) == 0 && strcmp(modes[i].name, o->mode) == 0) {
				*mode = modes[i].mode;
				return 0;
			}
		return ctrk_error_set(err, 0, "--mode: '%s' is not a mode of %s (%s)", o->mode, type,
				      strcmp(type, "macvlan") == 0 ? "bridge, private, vepa, passthru" : "l2, l3, l3s");
	}
	return 0;
}

/* What an add created, to undo when a later step fails. */
typedef struct created {
	nl_t *nl; /* where INDEX is */
	int index;
} created_t;

/* veth: the peer made directly in the namespace by the same request, the
 * host side marked (group) in it, attached to the bridge and up.
 *
 * The bridge's MTU: the kernel sets a bridge's MTU to its smallest port's
 * unless it was set explicitly (`bridge add --mtu`), so a port with a
 * smaller MTU would lower it for every other port.  The host side gets the
 * bridge's MTU instead, and only the namespace side gets --mtu: a veth's
 * ends may differ, and the container's smaller MTU is what its TCP
 * announces. */
static int
add_veth(const netif_opts_t *o, netif_target_t *t, const plan_t *p, const char *ifname, char *host, size_t host_size,
	 created_t *c, ctrk_error_t *err)
{
	link_info_t br, li;
	if (o->host_ifname)
		snprintf(host, host_size, "%s", o->host_ifname);
	else
		host_name(t->key, ifname, host, host_size);
	if (o->bridge && host_link(t->host, o->bridge, "bridge", "--bridge", &br, err) < 0)
		return -1;
	link_new_t n = {
		.kind = "veth", .name = host, .group = NETIF_GROUP, .up = true, .netns_fd = -1,
		.mtu = o->bridge ? (long)br.mtu : o->mtu, .txqlen = -1, .master = o->bridge ? br.index : 0,
		.peer_name = ifname, .peer_netns_fd = t->netns_fd, .peer_mtu = o->mtu,
		.peer_mac = p->has_mac ? p->mac : NULL, .peer_txqlen = o->txqueuelen,
	};
	char what[512];
	snprintf(what, sizeof what, "creating veth '%s' in %s", ifname, t->path);
	if (link_create(t->host, &n, what, err) < 0) {
		if (errno == EEXIST)
			explain_exists(t, host, ifname, what, err);
		return -1;
	}
	if (must_get(t->host, host, "the host", &li, err) < 0)
		return -1;
	c->nl = t->host;
	c->index = li.index;
	char alias[IFALIASZ];
	netif_alias(alias, sizeof alias, t->key);
	link_change_t mark = LINK_CHANGE_NONE;
	mark.alias = alias;
	snprintf(what, sizeof what, "marking '%s' as ctrk-netif's", host);
	return link_change(t->host, li.index, &mark, what, err);
}

/* macvlan, ipvlan, vlan: made against the master on the host and put into
 * the namespace by the same request.  Kernels before 6.x look the new
 * name up on the host: when that name exists there, it is made under a
 * temporary name and renamed inside. */
static int
add_sublink(const netif_opts_t *o, netif_target_t *t, const plan_t *p, const char *type, uint32_t mode,
	    const char *ifname, created_t *c, ctrk_error_t *err)
{
	link_info_t master, li;
	char what[512], tmp[IFNAMSIZ];
	if (host_link(t->host, o->master, NULL, "--master", &master, err) < 0)
		return -1;
	link_new_t n = {
		.kind = type, .name = ifname, .netns_fd = t->netns_fd, .mtu = o->mtu,
		.mac = p->has_mac ? p->mac : NULL, .txqlen = o->txqueuelen, .link = master.index,
		.mode = mode, .vlan_id = o->vlan_id, .peer_netns_fd = -1,
	};
	snprintf(what, sizeof what, "creating %s '%s' on '%s' in %s", type, ifname, o->master, t->path);
	int rc = link_create(t->host, &n, what, err), e = errno;
	bool renamed = false;
	ctrk_error_t ignored;
	if (rc < 0 && e == EEXIST && link_get(t->ns, ifname, 0, &li, &ignored) == 1) {
		host_name(t->key, ifname, tmp, sizeof tmp);
		tmp[0] = 't';
		n.name = tmp;
		rc = link_create(t->host, &n, what, err);
		e = errno;
		renamed = true;
	}
	if (rc < 0) {
		if (e == EEXIST)
			explain_exists(t, NULL, ifname, what, err);
		return -1;
	}
	if (must_get(t->ns, n.name, t->path, &li, err) < 0)
		return -1;
	c->nl = t->ns;
	c->index = li.index;
	if (renamed) {
		link_change_t ch = LINK_CHANGE_NONE;
		ch.name = ifname;
		snprintf(what, sizeof what, "renaming '%s' to '%s' in %s", tmp, ifname, t->path);
		if (link_change(t->ns, li.index, &ch, what, err) < 0)
			return -1;
	}
	return 0;
}

/* Undo C: delete the link (a veth's two ends go together). */
static void
undo_created(const created_t *c)
{
	ctrk_error_t err;
	if (c->nl && link_del(c->nl, c->index, "removing what this add created", &err) < 0 && errno != ENODEV)
		ctrk_warn("%s", err.msg);
}

/* Add the host side (veth) to the network and the entry to netif.added. */
static void
record_added(netif_target_t *t, const char *type, const char *ifname, const char *host, const link_info_t *hostli,
	     const netif_opts_t *o)
{
	cJSON *entry = cJSON_CreateObject();
	cJSON_AddStringToObject(entry, "type", type);
	cJSON_AddStringToObject(entry, "ifname", ifname);
	if (host) {
		char mac[64];
		mac_format(hostli->mac, hostli->mac_len, mac, sizeof mac);
		result_add_interface(result_get(t->d), host, mac, (int)hostli->mtu, NULL);
		cJSON_AddStringToObject(entry, "host", host);
		if (o->bridge)
			cJSON_AddStringToObject(entry, "bridge", o->bridge);
	} else if (o->master) {
		cJSON_AddStringToObject(entry, "master", o->master);
	}
	netif_record_add(t->d, t->key, entry);
}

int
cmd_add(const netif_opts_t *o, const char *type)
{
	ctrk_error_t err = {0};
	cleanup_plan plan_t p = {0};
	uint32_t mode = 0;
	if (strcmp(type, "veth") != 0 && strcmp(type, "macvlan") != 0 && strcmp(type, "ipvlan") != 0 &&
	    strcmp(type, "vlan") != 0)
		return ctrk_usage_error("add: unknown type '%s' (veth, macvlan, ipvlan, vlan)", type);
	if (add_options_check(o, type, &mode, &err) < 0 || plan_parse(o, &p, &err) < 0)
		return ctrk_usage_error("%s", err.msg);
	const char *ifname = o->ifname ? o->ifname : "eth0";
	cleanup_target netif_target_t t = NETIF_TARGET_INIT(o);
	if (target_open(o, &t, &err) < 0)
		return ctrk_fail(&err);

	created_t c = {0};
	char host[IFNAMSIZ] = "";
	link_info_t li, hostli;
	bool veth = strcmp(type, "veth") == 0;
	if ((veth ? add_veth(o, &t, &p, ifname, host, sizeof host, &c, &err)
		  : add_sublink(o, &t, &p, type, mode, ifname, &c, &err)) < 0 ||
	    must_get(t.ns, ifname, t.path, &li, &err) < 0 ||
	    plan_apply(o, &p, t.ns, t.netns_fd, t.path, li.index, ifname, &err) < 0 ||
	    (veth && must_get(t.host, host, "the host", &hostli, &err) < 0))
		goto undo;
	record_added(&t, type, ifname, veth ? host : NULL, &hostli, o);
	plan_record(t.d, &p, t.path, &li);
	if (ctrk_descriptor_write(1, t.d, &err) < 0)
		goto undo;
	return CTRK_EXIT_OK;
undo:
	undo_created(&c);
	return ctrk_fail(&err);
}

/* ---- move ---- */

/* A host device into the namespace (renamed to --ifname in the same
 * request), configured as add does; del moves it back under its name. */
int
cmd_move(const netif_opts_t *o, const char *dev)
{
	ctrk_error_t err = {0};
	cleanup_plan plan_t p = {0};
	if (ifname_check(dev, "move", &err) < 0 || plan_parse(o, &p, &err) < 0)
		return ctrk_usage_error("%s", err.msg);
	if (o->host_ifname || o->bridge || o->master || o->mode || o->vlan_id >= 0)
		return ctrk_usage_error("move takes no --host-ifname, --bridge, --master, --mode or --vlan-id");
	const char *ifname = o->ifname ? o->ifname : dev;
	cleanup_target netif_target_t t = NETIF_TARGET_INIT(o);
	if (target_open(o, &t, &err) < 0)
		return ctrk_fail(&err);
	t.home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (t.home_fd < 0)
		return ctrk_error_errno(&err, "opening the host's network namespace"), ctrk_fail(&err);
	link_info_t li;
	char what[512];
	if (host_link(t.host, dev, NULL, "move", &li, &err) < 0)
		return ctrk_fail(&err);
	link_change_t in = LINK_CHANGE_NONE;
	in.netns_fd = t.netns_fd;
	in.name = ifname;
	snprintf(what, sizeof what, "moving '%s' into %s as '%s'", dev, t.path, ifname);
	if (link_change(t.host, li.index, &in, what, &err) < 0) {
		if (errno == EEXIST)
			explain_exists(&t, NULL, ifname, what, &err);
		/* The kernel moves first and renames after: a refused name
		 * leaves the device moved under its own. */
		ctrk_error_t ignored;
		if (link_get(t.ns, dev, 0, &li, &ignored) == 0)
			goto undo;
		return ctrk_fail(&err);
	}
	/* What was set at creation for add is set here, before it is up. */
	link_change_t set = LINK_CHANGE_NONE;
	set.mtu = o->mtu;
	set.mac = p.has_mac ? p.mac : NULL;
	set.txqlen = o->txqueuelen;
	if (must_get(t.ns, ifname, t.path, &li, &err) < 0)
		goto undo;
	snprintf(what, sizeof what, "setting up '%s' in %s", ifname, t.path);
	if ((set.mtu >= 0 || set.mac || set.txqlen >= 0) && link_change(t.ns, li.index, &set, what, &err) < 0)
		goto undo;
	if (plan_apply(o, &p, t.ns, t.netns_fd, t.path, li.index, ifname, &err) < 0 ||
	    must_get(t.ns, ifname, t.path, &li, &err) < 0)
		goto undo;
	cJSON *entry = cJSON_CreateObject();
	cJSON_AddStringToObject(entry, "type", "move");
	cJSON_AddStringToObject(entry, "ifname", ifname);
	cJSON_AddStringToObject(entry, "device", dev);
	netif_record_add(t.d, t.key, entry);
	plan_record(t.d, &p, t.path, &li);
	if (ctrk_descriptor_write(1, t.d, &err) < 0)
		goto undo;
	return CTRK_EXIT_OK;
undo:;
	ctrk_error_t e2;
	link_change_t back = LINK_CHANGE_NONE;
	back.netns_fd = t.home_fd;
	back.name = dev;
	if (li.index > 0 && link_change(t.ns, li.index, &back, "moving it back to the host", &e2) < 0)
		ctrk_warn("%s", e2.msg);
	return ctrk_fail(&err);
}

/* ---- bridge ---- */

static int
bridge_add(const netif_opts_t *o, const char *name)
{
	ctrk_error_t err = {0};
	cleanup_plan plan_t p = {0};
	if (ifname_check(name, "bridge add", &err) < 0)
		return ctrk_usage_error("%s", err.msg);
	p.addrs = ctrk_xcalloc(o->addrs.n + 1, sizeof *p.addrs);
	for (size_t i = 0; i < o->addrs.n; i++)
		if (ip_parse(o->addrs.v[i], true, &p.addrs[i], "--addr", &err) < 0)
			return ctrk_usage_error("%s", err.msg);
	cleanup_nl nl_t *host = nl_open(-1, &err);
	if (!host)
		return ctrk_fail(&err);
	char what[512], a[IPADDR_STRLEN];
	link_new_t n = {.kind = "bridge", .name = name, .mtu = -1, .txqlen = -1, .netns_fd = -1,
			.peer_netns_fd = -1};
	snprintf(what, sizeof what, "creating bridge '%s'", name);
	if (link_create(host, &n, what, &err) < 0) {
		if (errno == EEXIST)
			ctrk_error_set(&err, 0, "%s: an interface '%s' exists", what, name);
		return ctrk_fail(&err);
	}
	link_info_t li;
	if (must_get(host, name, "the host", &li, &err) < 0)
		return ctrk_fail(&err);
	/* The MTU in a request of its own: set at creation it would not count
	 * as set by the user, and the first port would change it. */
	link_change_t ch = LINK_CHANGE_NONE;
	ch.mtu = o->mtu;
	ch.up = 1;
	snprintf(what, sizeof what, "setting up bridge '%s'", name);
	if (link_change(host, li.index, &ch, what, &err) < 0)
		goto undo;
	for (size_t i = 0; i < o->addrs.n; i++) {
		ip_format(&p.addrs[i], a, sizeof a);
		snprintf(what, sizeof what, "adding address %s to bridge '%s'", a, name);
		if (addr_change(host, RTM_NEWADDR, li.index, &p.addrs[i], o->dad, what, &err) < 0)
			goto undo;
	}
	return CTRK_EXIT_OK;
undo:;
	ctrk_error_t e2;
	if (link_del(host, li.index, "removing the bridge again", &e2) < 0)
		ctrk_warn("%s", e2.msg);
	return ctrk_fail(&err);
}

/* Only a bridge, and only by name: never another kind of link. */
static int
bridge_del(const netif_opts_t *o, const char *name)
{
	ctrk_error_t err = {0};
	if (ifname_check(name, "bridge del", &err) < 0)
		return ctrk_usage_error("%s", err.msg);
	if (o->addrs.n || o->mtu >= 0)
		return ctrk_usage_error("bridge del takes no --addr or --mtu");
	cleanup_nl nl_t *host = nl_open(-1, &err);
	link_info_t li;
	char what[512];
	snprintf(what, sizeof what, "removing bridge '%s'", name);
	if (!host || host_link(host, name, "bridge", "bridge del", &li, &err) < 0 ||
	    link_del(host, li.index, what, &err) < 0)
		return ctrk_fail(&err);
	return CTRK_EXIT_OK;
}

int
cmd_bridge(const netif_opts_t *o, const char *verb, const char *name)
{
	if (strcmp(verb, "add") == 0)
		return bridge_add(o, name);
	if (strcmp(verb, "del") == 0)
		return bridge_del(o, name);
	return ctrk_usage_error("bridge: unknown verb '%s' (add, del)", verb);
}
