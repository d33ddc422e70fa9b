/* list, set, check: what the namespace has, changing it, and comparing it
 * with what the descriptor says. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <linux/rtnetlink.h>

#include "cleanup.h"
#include "fsutil.h"
#include "cli.h"
#include "descriptor.h"
#include "json.h"
#include "link.h"
#include "result.h"

/* CHANGES: set, which refuses the host's own namespace as add does, and
 * keeps the descriptor's path for its namespace reached by --pid. */
static int
view_open(const netif_opts_t *o, netif_target_t *v, bool host, bool changes, ctrk_error_t *err)
{
	if (!(v->d = netif_read_descriptor(true, err)))
		return -1;
	if ((v->netns_fd = netns_open(o, v->d, true, &v->path, err)) < 0 ||
	    (changes && (netns_refuse_host(v->netns_fd, v->path, err) < 0 || netns_settle(v->d, &v->path, err) < 0)))
		return -1;
	if (!(v->ns = nl_open(v->netns_fd, err)))
		return -1;
	if (host && !(v->host = nl_open(-1, err)))
		return -1;
	return 0;
}

static int
write_json(cJSON *doc)
{
	ctrk_error_t err = {0};
	if (ctrk_json_write_fd(1, doc, isatty(1), &err) < 0)
		return ctrk_fail(&err);
	return CTRK_EXIT_OK;
}

/* ---- list ---- */

static int
list_link(const link_info_t *li, void *data, ctrk_error_t *err)
{
	char mac[64];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", li->name);
	cJSON_AddNumberToObject(o, "index", li->index);
	if (li->kind[0])
		cJSON_AddStringToObject(o, "kind", li->kind);
	mac_format(li->mac, li->mac_len, mac, sizeof mac);
	cJSON_AddStringToObject(o, "mac", mac);
	cJSON_AddNumberToObject(o, "mtu", li->mtu);
	cJSON_AddBoolToObject(o, "up", (li->flags & IFF_UP) != 0);
	if (li->master)
		cJSON_AddNumberToObject(o, "master", li->master);
	cJSON_AddArrayToObject(o, "addresses");
	cJSON_AddItemToArray(data, o);
	return 0;
}

static int
list_addr(int index, const ipaddr_t *a, void *data, ctrk_error_t *err)
{
	char s[IPADDR_STRLEN];
	cJSON *link;
	cJSON_ArrayForEach(link, (cJSON *)data) {
		if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(link, "index")) == index) {
			ip_format(a, s, sizeof s);
			cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(link, "addresses"), cJSON_CreateString(s));
		}
	}
	return 0;
}

struct list_routes {
	cJSON *routes, *links;
};

static int
list_route(const route_info_t *ri, void *data, ctrk_error_t *err)
{
	struct list_routes *l = data;
	char s[IPADDR_STRLEN];
	cJSON *o = cJSON_CreateObject(), *link;
	ip_format(&ri->r.dst, s, sizeof s);
	cJSON_AddStringToObject(o, "dst", s);
	if (ri->r.has_via) {
		ip_format(&ri->r.via, s, sizeof s);
		cJSON_AddStringToObject(o, "gw", s);
	}
	cJSON_ArrayForEach(link, l->links)
		if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(link, "index")) == ri->oif)
			cJSON_AddStringToObject(o, "dev", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(link, "name")));
	if (ri->r.metric >= 0)
		cJSON_AddNumberToObject(o, "priority", (double)ri->r.metric);
	cJSON_AddNumberToObject(o, "table", (double)ri->r.table);
	cJSON_AddItemToArray(l->routes, o);
	return 0;
}

int
cmd_list(const netif_opts_t *o)
{
	ctrk_error_t err = {0};
	cleanup_target netif_target_t v = NETIF_TARGET_INIT(o);
	cleanup_json cJSON *doc = cJSON_CreateObject();
	cJSON *links = cJSON_AddArrayToObject(doc, "interfaces"), *link;
	struct list_routes lr = {cJSON_AddArrayToObject(doc, "routes"), links};
	if (view_open(o, &v, false, false, &err) < 0 || link_dump(v.ns, list_link, links, &err) < 0 ||
	    addr_dump(v.ns, 0, list_addr, links, &err) < 0 || (o->json && route_dump(v.ns, list_route, &lr, &err) < 0))
		return ctrk_fail(&err);
	if (o->json)
		return write_json(doc);
	cJSON_ArrayForEach(link, links) {
		const cJSON *a;
		printf("%s %s %s mtu %d %s\n", cJSON_GetObjectItemCaseSensitive(link, "name")->valuestring,
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(link, "kind"))
			       ? cJSON_GetObjectItemCaseSensitive(link, "kind")->valuestring
			       : "device",
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(link, "up")) ? "up" : "down",
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(link, "mtu")),
		       cJSON_GetObjectItemCaseSensitive(link, "mac")->valuestring);
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(link, "addresses"))
			printf("    %s\n", a->valuestring);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		return ctrk_error_errno(&err, "writing the list"), ctrk_fail(&err);
	return CTRK_EXIT_OK;
}

/* ---- set ---- */

/* One change made, and how to take it back. */
typedef struct change {
	enum { CH_MTU, CH_UP, CH_ADDR_ADDED, CH_ADDR_DELETED, CH_ROUTE_ADDED, CH_ROUTE_DELETED } kind;
	long old;
	ipaddr_t addr;
	route_spec_t route;
} change_t;

static void
undo_changes(nl_t *ns, int index, const change_t *c, size_t n)
{
	ctrk_error_t err;
	while (n-- > 0) {
		link_change_t lc = LINK_CHANGE_NONE;
		int r = 0;
		switch (c[n].kind) {
		case CH_MTU: lc.mtu = c[n].old; r = link_change(ns, index, &lc, "restoring the MTU", &err); break;
		case CH_UP: lc.up = (int)c[n].old; r = link_change(ns, index, &lc, "restoring up/down", &err); break;
		case CH_ADDR_ADDED: r = addr_change(ns, RTM_DELADDR, index, &c[n].addr, false, "removing an address again", &err); break;
		case CH_ADDR_DELETED: r = addr_change(ns, RTM_NEWADDR, index, &c[n].addr, false, "adding an address back", &err); break;
		case CH_ROUTE_ADDED: r = route_change(ns, RTM_DELROUTE, index, &c[n].route, "removing a route again", &err); break;
		case CH_ROUTE_DELETED: r = route_change(ns, RTM_NEWROUTE, index, &c[n].route, "adding a route back", &err); break;
		}
		if (r < 0)
			ctrk_warn("%s", err.msg);
	}
}

typedef struct set_plan {
	ipaddr_t *add, *del;
	route_spec_t *radd, *rdel;
} set_plan_t;

static void
set_plan_free(set_plan_t *p)
{
	free(p->add);
	free(p->del);
	free(p->radd);
	free(p->rdel);
}

static int
set_parse(const netif_opts_t *o, const char *ifname, set_plan_t *p, ctrk_error_t *err)
{
	if (ifname_check(ifname, "set", err) < 0)
		return -1;
	if (o->gateways.n || o->sysctls.n || o->mac || o->txqueuelen >= 0 || o->no_tx_checksum || o->ifname ||
	    o->host_ifname || o->bridge || o->master || o->mode || o->vlan_id >= 0)
		return ctrk_error_set(err, 0, "set changes --mtu, --up/--down, --addr, --del-addr, --route and "
					      "--del-route only");
	p->add = ctrk_xcalloc(o->addrs.n + 1, sizeof *p->add);
	p->del = ctrk_xcalloc(o->del_addrs.n + 1, sizeof *p->del);
	p->radd = ctrk_xcalloc(o->routes.n + 1, sizeof *p->radd);
	p->rdel = ctrk_xcalloc(o->del_routes.n + 1, sizeof *p->rdel);
	for (size_t i = 0; i < o->addrs.n; i++)
		if (ip_parse(o->addrs.v[i], true, &p->add[i], "--addr", err) < 0)
			return -1;
	for (size_t i = 0; i < o->del_addrs.n; i++)
		if (ip_parse(o->del_addrs.v[i], true, &p->del[i], "--del-addr", err) < 0)
			return -1;
	for (size_t i = 0; i < o->routes.n; i++)
		if (route_parse(o->routes.v[i], &p->radd[i], err) < 0)
			return -1;
	for (size_t i = 0; i < o->del_routes.n; i++)
		if (route_parse(o->del_routes.v[i], &p->rdel[i], err) < 0)
			return ctrk_error_wrap(err, "--del-route");
	return 0;
}

static int
set_updown(nl_t *ns, const link_info_t *li, const char *path, int up, change_t *c, size_t *n, ctrk_error_t *err)
{
	char what[512];
	link_change_t lc = LINK_CHANGE_NONE;
	lc.up = up;
	snprintf(what, sizeof what, "bringing '%s' %s in %s", li->name, up ? "up" : "down", path);
	if (link_change(ns, li->index, &lc, what, err) < 0)
		return -1;
	c[(*n)++] = (change_t){.kind = CH_UP, .old = (li->flags & IFF_UP) != 0};
	return 0;
}

/* Apply the plan to link LI, logging each change in C (*N of them). */
static int
set_apply(const netif_opts_t *o, const set_plan_t *p, nl_t *ns, const link_info_t *li, const char *path,
	  change_t *c, size_t *n, ctrk_error_t *err)
{
	char what[512], a[IPADDR_STRLEN];
	link_change_t lc = LINK_CHANGE_NONE;
	if (o->mtu >= 0) {
		lc.mtu = o->mtu;
		snprintf(what, sizeof what, "setting the MTU of '%s' in %s to %ld", li->name, path, o->mtu);
		if (link_change(ns, li->index, &lc, what, err) < 0)
			return -1;
		c[(*n)++] = (change_t){.kind = CH_MTU, .old = li->mtu};
	}
	for (size_t i = 0; i < o->del_addrs.n; i++) {
		ip_format(&p->del[i], a, sizeof a);
		snprintf(what, sizeof what, "removing address %s from '%s' in %s", a, li->name, path);
		if (addr_change(ns, RTM_DELADDR, li->index, &p->del[i], false, what, err) < 0)
			return -1;
		c[(*n)++] = (change_t){.kind = CH_ADDR_DELETED, .addr = p->del[i]};
	}
	for (size_t i = 0; i < o->addrs.n; i++) {
		ip_format(&p->add[i], a, sizeof a);
		snprintf(what, sizeof what, "adding address %s to '%s' in %s", a, li->name, path);
		if (addr_change(ns, RTM_NEWADDR, li->index, &p->add[i], o->dad, what, err) < 0)
			return -1;
		c[(*n)++] = (change_t){.kind = CH_ADDR_ADDED, .addr = p->add[i]};
	}
	/* Up before the routes (their link must be up), down after them. */
	if (o->up == 1 && set_updown(ns, li, path, 1, c, n, err) < 0)
		return -1;
	for (size_t i = 0; i < o->del_routes.n; i++) {
		snprintf(what, sizeof what, "removing route '%s' in %s", o->del_routes.v[i], path);
		if (route_change(ns, RTM_DELROUTE, li->index, &p->rdel[i], what, err) < 0)
			return -1;
		c[(*n)++] = (change_t){.kind = CH_ROUTE_DELETED, .route = p->rdel[i]};
	}
	for (size_t i = 0; i < o->routes.n; i++) {
		snprintf(what, sizeof what, "adding route '%s' on '%s' in %s", o->routes.v[i], li->name, path);
		if (route_change(ns, RTM_NEWROUTE, li->index, &p->radd[i], what, err) < 0)
			return -1;
		c[(*n)++] = (change_t){.kind = CH_ROUTE_ADDED, .route = p->radd[i]};
	}
	if (o->up == 0 && set_updown(ns, li, path, 0, c, n, err) < 0)
		return -1;
	return 0;
}

/* The same route, as set and check compare them: dst, gateway, table and
 * metric (an absent table is main). */
static bool
route_same(const route_spec_t *a, const route_spec_t *b)
{
	long long ta = a->table >= 0 ? a->table : RT_TABLE_MAIN, tb = b->table >= 0 ? b->table : RT_TABLE_MAIN;
	return ip_equal(&a->dst, &b->dst) && a->dst.prefix == b->dst.prefix && a->has_via == b->has_via &&
	       (!a->has_via || ip_equal(&a->via, &b->via)) && ta == tb && a->metric == b->metric;
}

static bool
has_ip(const cJSON *network, const char *cidr, int idx)
{
	const cJSON *ip;
	cJSON_ArrayForEach(ip, cJSON_GetObjectItemCaseSensitive(network, "ips")) {
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ip, "address"));
		const cJSON *in = cJSON_GetObjectItemCaseSensitive(ip, "interface");
		if (s && strcmp(s, cidr) == 0 && cJSON_IsNumber(in) && in->valueint == idx)
			return true;
	}
	return false;
}

/* Which of NETWORK's routes the namespace has: THERE[i] for route i. */
static int
routes_present(nl_t *ns, const cJSON *network, bool *there, ctrk_error_t *err)
{
	const cJSON *route;
	int i = 0;
	cJSON_ArrayForEach(route, cJSON_GetObjectItemCaseSensitive(network, "routes")) {
		route_spec_t want;
		if (route_from_json(route, &want, err) < 0)
			return -1;
		if (route_present(ns, &want, &there[i++], err) < 0)
			return -1;
	}
	return 0;
}

/* Which of NETWORK's addresses of interface IDX link INDEX has: THERE[j]
 * for ips entry j (false for other interfaces'). */
static int
ips_present(nl_t *ns, const cJSON *network, int idx, int index, bool *there, ctrk_error_t *err)
{
	const cJSON *ip;
	int j = 0;
	cJSON_ArrayForEach(ip, cJSON_GetObjectItemCaseSensitive(network, "ips")) {
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ip, "address"));
		const cJSON *in = cJSON_GetObjectItemCaseSensitive(ip, "interface");
		ipaddr_t want;
		there[j] = false;
		if (idx >= 0 && s && cJSON_IsNumber(in) && in->valueint == idx) {
			if (ip_parse(s, true, &want, "network.ips[].address", err) < 0)
				return -1;
			if (addr_present(ns, index, &want, &there[j], err) < 0)
				return -1;
		}
		j++;
	}
	return 0;
}

/* What set changed, into the descriptor's network. */
static int
set_record(const netif_opts_t *o, const set_plan_t *p, cJSON *d, const char *path, const link_info_t *li,
	   ctrk_error_t *err)
{
	cJSON *network = result_get(d);
	int idx = result_find_interface(network, li->name, path);
	char a[IPADDR_STRLEN];
	if (idx < 0 && o->addrs.n) {
		mac_format(li->mac, li->mac_len, a, sizeof a);
		idx = result_add_interface(network, li->name, a, (int)li->mtu, path);
	}
	if (idx >= 0 && o->mtu >= 0)
		ctrk_json_set(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(network, "interfaces"), idx), "mtu",
			      cJSON_CreateNumber((double)o->mtu));
	cJSON *ips = cJSON_GetObjectItemCaseSensitive(network, "ips");
	for (size_t i = 0; i < o->del_addrs.n && idx >= 0; i++) {
		for (int j = cJSON_GetArraySize(ips) - 1; j >= 0; j--) {
			const cJSON *ip = cJSON_GetArrayItem(ips, j);
			ipaddr_t have;
			ctrk_error_t ignored;
			const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ip, "address"));
			const cJSON *in = cJSON_GetObjectItemCaseSensitive(ip, "interface");
			if (s && ip_parse(s, true, &have, "ips", &ignored) == 0 && ip_equal(&have, &p->del[i]) &&
			    cJSON_IsNumber(in) && in->valueint == idx)
				cJSON_DeleteItemFromArray(ips, j);
		}
	}
	for (size_t i = 0; i < o->addrs.n; i++) {
		ip_format(&p->add[i], a, sizeof a);
		if (!has_ip(network, a, idx))
			result_add_ip(network, a, NULL, idx);
	}
	cJSON *routes = cJSON_GetObjectItemCaseSensitive(network, "routes");
	for (size_t i = 0; i < o->del_routes.n; i++) {
		for (int j = cJSON_GetArraySize(routes) - 1; j >= 0; j--) {
			route_spec_t have;
			if (route_from_json(cJSON_GetArrayItem(routes, j), &have, err) < 0)
				return -1;
			if (route_same(&have, &p->rdel[i]))
				cJSON_DeleteItemFromArray(routes, j);
		}
	}
	for (size_t i = 0; i < o->routes.n; i++)
		route_to_result(network, &p->radd[i]);
	return 0;
}

int
cmd_set(const netif_opts_t *o, const char *ifname)
{
	ctrk_error_t err = {0};
	__attribute__((cleanup(set_plan_free))) set_plan_t p = {0};
	if (set_parse(o, ifname, &p, &err) < 0)
		return ctrk_usage_error("%s", err.msg);
	cleanup_target netif_target_t v = NETIF_TARGET_INIT(o);
	link_info_t li;
	if (view_open(o, &v, false, true, &err) < 0)
		return ctrk_fail(&err);
	int r = link_get(v.ns, ifname, 0, &li, &err);
	if (r != 0) {
		if (r == 1)
			ctrk_error_set(&err, 0, "set: no interface '%s' in %s", ifname, v.path);
		return ctrk_fail(&err);
	}
	size_t n = 0;
	cleanup_free change_t *c = ctrk_xcalloc(3 + o->addrs.n + o->del_addrs.n + o->routes.n + o->del_routes.n, sizeof *c);
	/* Removing an address takes the routes through it along, and
	 * bringing the link down its routes and IPv6 addresses: the kernel's
	 * doing, which network follows. */
	cJSON *network = result_get(v.d), *routes = cJSON_GetObjectItemCaseSensitive(network, "routes");
	cJSON *ips = cJSON_GetObjectItemCaseSensitive(network, "ips");
	int nroutes = cJSON_GetArraySize(routes), nips = cJSON_GetArraySize(ips);
	int idx = result_find_interface(network, ifname, v.path);
	cleanup_free bool *before = ctrk_xcalloc((size_t)nroutes + 1, sizeof *before);
	cleanup_free bool *after = ctrk_xcalloc((size_t)nroutes + 1, sizeof *after);
	cleanup_free bool *ip_before = ctrk_xcalloc((size_t)nips + 1, sizeof *ip_before);
	cleanup_free bool *ip_after = ctrk_xcalloc((size_t)nips + 1, sizeof *ip_after);
	if (routes_present(v.ns, network, before, &err) < 0 ||
	    ips_present(v.ns, network, idx, li.index, ip_before, &err) < 0)
		return ctrk_fail(&err);
	if (set_apply(o, &p, v.ns, &li, v.path, c, &n, &err) < 0 || routes_present(v.ns, network, after, &err) < 0 ||
	    ips_present(v.ns, network, idx, li.index, ip_after, &err) < 0)
		goto undo;
	for (int i = nroutes - 1; i >= 0; i--)
		if (before[i] && !after[i])
			cJSON_DeleteItemFromArray(routes, i);
	for (int i = nips - 1; i >= 0; i--)
		if (ip_before[i] && !ip_after[i])
			cJSON_DeleteItemFromArray(ips, i);
	if (set_record(o, &p, v.d, v.path, &li, &err) < 0 || ctrk_descriptor_write(1, v.d, &err) < 0)
		goto undo;
	return CTRK_EXIT_OK;
undo:
	undo_changes(v.ns, li.index, c, n);
	return ctrk_fail(&err);
}

/* ---- check ---- */

typedef struct diffs {
	cJSON *list;
} diffs_t;

static void
diff(diffs_t *ds, const char *object, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
diff(diffs_t *ds, const char *object, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "object", object);
	cJSON_AddStringToObject(o, "difference", buf);
	cJSON_AddItemToArray(ds->list, o);
}

/* "eth0 in /run/netns/x", "ck1a2b3c4d5e6f on the host". */
static const char *
iface_object(const cJSON *ifc, char *buf, size_t size)
{
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ifc, "name"));
	const char *sandbox = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ifc, "sandbox"));
	snprintf(buf, size, "%s%s%s", name ? name : "?", sandbox ? " in " : " on the host", sandbox ? sandbox : "");
	return buf;
}

/* Interfaces: there, with the MTU and MAC the descriptor says.  INDEX[i]
 * gets interface i's link index (0: missing or not checked) and NL[i] the
 * socket of its namespace. */
static int
check_interfaces(netif_target_t *v, const cJSON *network, int *index, nl_t **nl, diffs_t *ds, ctrk_error_t *err)
{
	const cJSON *ifc;
	int i = 0;
	cJSON_ArrayForEach(ifc, cJSON_GetObjectItemCaseSensitive(network, "interfaces")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ifc, "name"));
		const char *sandbox = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ifc, "sandbox"));
		const cJSON *mtu = cJSON_GetObjectItemCaseSensitive(ifc, "mtu");
		const char *mac = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ifc, "mac"));
		char object[512], have[64];
		link_info_t li;
		index[i] = 0;
		nl[i] = !sandbox ? v->host : strcmp(sandbox, v->path) == 0 ? v->ns : NULL;
		if (!nl[i] || !name) { /* another namespace's: not this check's */
			i++;
			continue;
		}
		iface_object(ifc, object, sizeof object);
		int r = link_get(nl[i], name, 0, &li, err);
		if (r < 0)
			return -1;
		if (r == 1) {
			diff(ds, object, "missing");
			i++;
			continue;
		}
		index[i++] = li.index;
		if (cJSON_IsNumber(mtu) && mtu->valueint > 0 && (unsigned)mtu->valueint != li.mtu)
			diff(ds, object, "mtu %u, expected %d", li.mtu, mtu->valueint);
		mac_format(li.mac, li.mac_len, have, sizeof have);
		if (mac && mac[0] && strcasecmp(mac, have) != 0)
			diff(ds, object, "mac %s, expected %s", have, mac);
	}
	return 0;
}

static int
check_ips(const cJSON *network, const int *index, nl_t **nl, int nifc, diffs_t *ds, ctrk_error_t *err)
{
	const cJSON *ip;
	cJSON_ArrayForEach(ip, cJSON_GetObjectItemCaseSensitive(network, "ips")) {
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ip, "address"));
		const cJSON *in = cJSON_GetObjectItemCaseSensitive(ip, "interface");
		ipaddr_t want;
		if (!s || !cJSON_IsNumber(in) || in->valueint < 0 || in->valueint >= nifc || !index[in->valueint])
			continue; /* no interface, or a missing one (said above) */
		if (ip_parse(s, true, &want, "network.ips[].address", err) < 0)
			return -1;
		bool found;
		if (addr_present(nl[in->valueint], index[in->valueint], &want, &found, err) < 0)
			return -1;
		if (!found) {
			char object[512];
			const cJSON *ifc = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(network, "interfaces"),
							      in->valueint);
			diff(ds, iface_object(ifc, object, sizeof object), "address %s missing", s);
		}
	}
	return 0;
}

static int
check_routes(netif_target_t *v, const cJSON *network, diffs_t *ds, ctrk_error_t *err)
{
	const cJSON *route;
	cJSON_ArrayForEach(route, cJSON_GetObjectItemCaseSensitive(network, "routes")) {
		route_spec_t want;
		char dst[IPADDR_STRLEN], gw[IPADDR_STRLEN] = "";
		if (route_from_json(route, &want, err) < 0)
			return -1;
		bool found;
		if (route_present(v->ns, &want, &found, err) < 0)
			return -1;
		if (found)
			continue;
		char tail[64] = "";
		ip_format(&want.dst, dst, sizeof dst);
		if (want.has_via)
			ip_format(&want.via, gw, sizeof gw);
		if (want.table >= 0)
			snprintf(tail, sizeof tail, " table %lld", want.table);
		if (want.metric >= 0)
			snprintf(tail + strlen(tail), sizeof tail - strlen(tail), " metric %lld", want.metric);
		diff(ds, "routes", "route %s%s%s%s missing", dst, want.has_via ? " via " : "", gw, tail);
	}
	return 0;
}

/* Bridge membership: each veth ctrk-netif attached is still a port of its
 * bridge. */
static int
check_bridges(netif_target_t *v, diffs_t *ds, ctrk_error_t *err)
{
	const cJSON *rec = cJSON_GetObjectItemCaseSensitive(v->d, "netif"), *entry;
	cJSON_ArrayForEach(entry, cJSON_GetObjectItemCaseSensitive(rec, "added")) {
		const char *host = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "host"));
		const char *bridge = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "bridge"));
		link_info_t li, br;
		char object[512];
		if (!host || !bridge)
			continue;
		snprintf(object, sizeof object, "%s on the host", host);
		int r = link_get(v->host, host, 0, &li, err);
		if (r < 0)
			return -1;
		if (r == 1)
			continue; /* said by check_interfaces */
		r = link_get(v->host, bridge, 0, &br, err);
		if (r < 0)
			return -1;
		if (r == 1)
			diff(ds, object, "its bridge %s is missing", bridge);
		else if (li.master != br.index)
			diff(ds, object, "not a port of bridge %s", bridge);
	}
	return 0;
}

int
cmd_check(const netif_opts_t *o)
{
	ctrk_error_t err = {0};
	cleanup_target netif_target_t v = NETIF_TARGET_INIT(o);
	diffs_t ds = {cJSON_CreateArray()};
	cleanup_json cJSON *list = ds.list;
	if (view_open(o, &v, true, false, &err) < 0)
		return ctrk_fail(&err);
	const cJSON *network = cJSON_GetObjectItemCaseSensitive(v.d, "network");
	int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(network, "interfaces"));
	cleanup_free int *index = ctrk_xcalloc((size_t)n + 1, sizeof *index);
	cleanup_free nl_t **nl = ctrk_xcalloc((size_t)n + 1, sizeof *nl);
	if (network && (check_interfaces(&v, network, index, nl, &ds, &err) < 0 ||
			check_ips(network, index, nl, n, &ds, &err) < 0 || check_routes(&v, network, &ds, &err) < 0))
		return ctrk_fail(&err);
	if (check_bridges(&v, &ds, &err) < 0)
		return ctrk_fail(&err);
	int rc = cJSON_GetArraySize(list) ? CTRK_EXIT_FAILURE : CTRK_EXIT_OK;
	if (o->json) {
		int w = write_json(list);
		return w ? w : rc;
	}
	const cJSON *d;
	cJSON_ArrayForEach(d, list)
		printf("%s: %s\n", cJSON_GetObjectItemCaseSensitive(d, "object")->valuestring,
		       cJSON_GetObjectItemCaseSensitive(d, "difference")->valuestring);
	if (fflush(stdout) != 0 || ferror(stdout))
		return ctrk_error_errno(&err, "writing the differences"), ctrk_fail(&err);
	return rc;
}
