/* Links, addresses and routes over rtnetlink: see link.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "link.h"

/* ---- Reading links ---- */

static int
linkinfo_attr(const struct nlattr *a, void *data)
{
	link_info_t *li = data;
	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
		snprintf(li->kind, sizeof li->kind, "%.*s", (int)mnl_attr_get_payload_len(a),
			 (const char *)mnl_attr_get_payload(a));
	return MNL_CB_OK;
}

static int
link_attr(const struct nlattr *a, void *data)
{
	link_info_t *li = data;
	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(li->name, sizeof li->name, "%s", mnl_attr_get_str(a));
		break;
	case IFLA_MTU:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			li->mtu = mnl_attr_get_u32(a);
		break;
	case IFLA_GROUP:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			li->group = mnl_attr_get_u32(a);
		break;
	case IFLA_MASTER:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			li->master = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_TXQLEN:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			li->txqlen = mnl_attr_get_u32(a);
		break;
	case IFLA_IFALIAS:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(li->alias, sizeof li->alias, "%s", mnl_attr_get_str(a));
		break;
	case IFLA_LINK:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			li->link = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_LINK_NETNSID:
		li->link_elsewhere = true;
		break;
	case IFLA_ADDRESS:
		li->mac_len = mnl_attr_get_payload_len(a);
		if (li->mac_len > sizeof li->mac)
			li->mac_len = sizeof li->mac;
		memcpy(li->mac, mnl_attr_get_payload(a), li->mac_len);
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			mnl_attr_parse_nested(a, linkinfo_attr, li);
		break;
	}
	return MNL_CB_OK;
}

int
link_parse(const struct nlmsghdr *h, link_info_t *li)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	memset(li, 0, sizeof *li);
	if (h->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(h) < sizeof *ifi)
		return -1;
	li->index = ifi->ifi_index;
	li->flags = ifi->ifi_flags;
	mnl_attr_parse(h, sizeof *ifi, link_attr, li);
	return 0;
}

static int
link_get_cb(const struct nlmsghdr *h, void *data)
{
	if (h->nlmsg_type == RTM_NEWLINK)
		link_parse(h, data);
	return MNL_CB_OK;
}

/* Counters are not wanted: they are most of a link's message. */
static void
put_ext_mask(struct nlmsghdr *h)
{
	mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
}

int
link_get(nl_t *nl, const char *name, int index, link_info_t *li, ctrk_error_t *err)
{
	struct nlmsghdr *h = nl_msg(nl, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	if (name)
		mnl_attr_put_strz(h, IFLA_IFNAME, name);
	else
		ifi->ifi_index = index;
	put_ext_mask(h);
	memset(li, 0, sizeof *li);
	char what[64];
	if (name)
		snprintf(what, sizeof what, "reading link '%s'", name);
	else
		snprintf(what, sizeof what, "reading link %d", index);
	if (nl_get(nl, link_get_cb, li, what, err) < 0)
		return errno == ENODEV ? 1 : -1;
	return li->index ? 0 : 1;
}

struct link_dump_ctx {
	link_cb_t cb;
	void *data;
	ctrk_error_t *err;
	bool failed;
};

static int
link_dump_cb(const struct nlmsghdr *h, void *data)
{
	struct link_dump_ctx *c = data;
	link_info_t li;
	if (c->failed || link_parse(h, &li) < 0)
		return MNL_CB_OK;
	if (c->cb(&li, c->data, c->err) < 0)
		c->failed = true;
	return MNL_CB_OK;
}

static int
link_dump_as(nl_t *nl, link_cb_t cb, void *data, const char *what, ctrk_error_t *err)
{
	struct link_dump_ctx c = {cb, data, err, false};
	struct nlmsghdr *h = nl_msg(nl, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	put_ext_mask(h);
	if (nl_dump(nl, link_dump_cb, &c, what, err) < 0)
		return -1;
	return c.failed ? -1 : 0;
}

int
link_dump(nl_t *nl, link_cb_t cb, void *data, ctrk_error_t *err)
{
	return link_dump_as(nl, cb, data, "listing links", err);
}

int
link_dump_whole(nl_t *nl, link_cb_t cb, void (*restart)(void *), void *data, const char *what, ctrk_error_t *err)
{
	for (int tries = 1;; tries++) {
		restart(data);
		if (link_dump_as(nl, cb, data, what, err) == 0)
			return 0;
		if (errno != EINTR || tries == 5)
			return -1;
	}
}

/* ---- Changing links ---- */

static struct ifinfomsg *
link_msg(nl_t *nl, uint16_t type, uint16_t flags, int index)
{
	struct nlmsghdr *h = nl_msg(nl, type, flags);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return ifi;
}

static struct nlmsghdr *
msg_of(struct ifinfomsg *ifi)
{
	return (struct nlmsghdr *)((char *)ifi - MNL_NLMSG_HDRLEN);
}

int
link_change(nl_t *nl, int index, const link_change_t *c, const char *what, ctrk_error_t *err)
{
	struct ifinfomsg *ifi = link_msg(nl, RTM_NEWLINK, 0, index);
	struct nlmsghdr *h = msg_of(ifi);
	if (c->up >= 0) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = c->up ? IFF_UP : 0;
	}
	if (c->name)
		mnl_attr_put_strz(h, IFLA_IFNAME, c->name);
	if (c->mtu >= 0)
		mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)c->mtu);
	if (c->mac)
		mnl_attr_put(h, IFLA_ADDRESS, 6, c->mac);
	if (c->txqlen >= 0)
		mnl_attr_put_u32(h, IFLA_TXQLEN, (uint32_t)c->txqlen);
	if (c->alias)
		mnl_attr_put_strz(h, IFLA_IFALIAS, c->alias);
	if (c->netns_fd >= 0)
		mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)c->netns_fd);
	if (c->master > 0)
		mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)c->master);
	return nl_call(nl, what, err);
}

int
link_del(nl_t *nl, int index, const char *what, ctrk_error_t *err)
{
	link_msg(nl, RTM_DELLINK, 0, index);
	return nl_call(nl, what, err);
}

/* The attributes a link and a veth's peer share. */
static void
put_common(struct nlmsghdr *h, const char *name, long mtu, const unsigned char *mac, long txqlen, int netns_fd)
{
	if (name)
		mnl_attr_put_strz(h, IFLA_IFNAME, name);
	if (mtu >= 0)
		mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)mtu);
	if (mac)
		mnl_attr_put(h, IFLA_ADDRESS, 6, mac);
	if (txqlen >= 0)
		mnl_attr_put_u32(h, IFLA_TXQLEN, (uint32_t)txqlen);
	if (netns_fd >= 0)
		mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)netns_fd);
}

int
link_create(nl_t *nl, const link_new_t *n, const char *what, ctrk_error_t *err)
{
	/* EXCL: without it, an existing link of that name would be changed
	 * instead of refused. */
	struct ifinfomsg *ifi = link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	struct nlmsghdr *h = msg_of(ifi);
	if (n->up) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = IFF_UP;
	}
	put_common(h, n->name, n->mtu, n->mac, n->txqlen, n->netns_fd);
	/* The group is set in the request that creates the link, so no link
	 * of ctrk's ever exists unmarked (see netif.h). */
	if (n->group)
		mnl_attr_put_u32(h, IFLA_GROUP, n->group);
	if (n->master > 0)
		mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)n->master);
	if (n->link > 0)
		mnl_attr_put_u32(h, IFLA_LINK, (uint32_t)n->link);
	struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, n->kind);
	if (strcmp(n->kind, "veth") == 0) {
		struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
		struct nlattr *peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
		/* The peer's own ifinfomsg, then its attributes. */
		struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(h, sizeof *pifi);
		memset(pifi, 0, sizeof *pifi);
		put_common(h, n->peer_name, n->peer_mtu, n->peer_mac, n->peer_txqlen, n->peer_netns_fd);
		mnl_attr_nest_end(h, peer);
		mnl_attr_nest_end(h, data);
	} else if (strcmp(n->kind, "macvlan") == 0) {
		struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
		mnl_attr_put_u32(h, IFLA_MACVLAN_MODE, n->mode);
		mnl_attr_nest_end(h, data);
	} else if (strcmp(n->kind, "ipvlan") == 0) {
		struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
		mnl_attr_put_u16(h, IFLA_IPVLAN_MODE, (uint16_t)n->mode);
		mnl_attr_nest_end(h, data);
	} else if (strcmp(n->kind, "vlan") == 0) {
		struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
		mnl_attr_put_u16(h, IFLA_VLAN_ID, (uint16_t)n->vlan_id);
		mnl_attr_nest_end(h, data);
	}
	mnl_attr_nest_end(h, info);
	return nl_call(nl, what, err);
}

/* ---- Addresses ---- */

static size_t
ip_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

int
addr_change(nl_t *nl, int cmd, int index, const ipaddr_t *a, bool dad, const char *what, ctrk_error_t *err)
{
	struct nlmsghdr *h = nl_msg(nl, (uint16_t)cmd, cmd == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof *ifa);
	ifa->ifa_family = (unsigned char)a->family;
	ifa->ifa_prefixlen = (unsigned char)a->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)index;
	mnl_attr_put(h, IFA_LOCAL, ip_len(a->family), a->bytes);
	mnl_attr_put(h, IFA_ADDRESS, ip_len(a->family), a->bytes);
	/* The caller owns the address: no duplicate detection, so it can be
	 * used at once instead of after a second or more of "tentative". */
	if (cmd == RTM_NEWADDR && a->family == AF_INET6 && !dad)
		mnl_attr_put_u32(h, IFA_FLAGS, IFA_F_NODAD);
	return nl_call(nl, what, err);
}

struct addr_dump_ctx {
	int index;
	addr_cb_t cb;
	void *data;
	ctrk_error_t *err;
	bool failed;
};

struct addr_attrs {
	const struct nlattr *local, *address;
};

static int
addr_attr(const struct nlattr *a, void *data)
{
	struct addr_attrs *x = data;
	if (mnl_attr_get_type(a) == IFA_LOCAL)
		x->local = a;
	else if (mnl_attr_get_type(a) == IFA_ADDRESS)
		x->address = a;
	return MNL_CB_OK;
}

static int
addr_dump_cb(const struct nlmsghdr *h, void *data)
{
	struct addr_dump_ctx *c = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
	if (h->nlmsg_type != RTM_NEWADDR || c->failed || mnl_nlmsg_get_payload_len(h) < sizeof *ifa)
		return MNL_CB_OK;
	if (c->index && (int)ifa->ifa_index != c->index)
		return MNL_CB_OK;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return MNL_CB_OK;
	struct addr_attrs x = {0};
	mnl_attr_parse(h, sizeof *ifa, addr_attr, &x);
	/* IFA_LOCAL is the address of the interface itself; IFA_ADDRESS is
	 * the peer's on point-to-point links, and the only one for IPv6. */
	const struct nlattr *at = x.local ? x.local : x.address;
	if (!at || mnl_attr_get_payload_len(at) != ip_len(ifa->ifa_family))
		return MNL_CB_OK;
	ipaddr_t a = {.family = ifa->ifa_family, .prefix = ifa->ifa_prefixlen};
	memcpy(a.bytes, mnl_attr_get_payload(at), ip_len(a.family));
	if (c->cb((int)ifa->ifa_index, &a, c->data, c->err) < 0)
		c->failed = true;
	return MNL_CB_OK;
}

int
addr_dump(nl_t *nl, int index, addr_cb_t cb, void *data, ctrk_error_t *err)
{
	struct addr_dump_ctx c = {index, cb, data, err, false};
	struct nlmsghdr *h = nl_msg(nl, RTM_GETADDR, 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof *ifa);
	ifa->ifa_family = AF_UNSPEC;
	if (nl_dump(nl, addr_dump_cb, &c, "listing addresses", err) < 0)
		return -1;
	return c.failed ? -1 : 0;
}

struct addr_find {
	const ipaddr_t *want;
	bool found;
};

static int
addr_find_cb(int index, const ipaddr_t *a, void *data, ctrk_error_t *err)
{
	struct addr_find *f = data;
	if (ip_equal(a, f->want))
		f->found = true;
	return 0;
}

int
addr_present(nl_t *nl, int index, const ipaddr_t *want, bool *found, ctrk_error_t *err)
{
	struct addr_find f = {want, false};
	if (addr_dump(nl, index, addr_find_cb, &f, err) < 0)
		return -1;
	*found = f.found;
	return 0;
}

/* ---- Routes ---- */

int
route_change(nl_t *nl, int cmd, int oif, const route_spec_t *r, const char *what, ctrk_error_t *err)
{
	struct nlmsghdr *h = nl_msg(nl, (uint16_t)cmd, cmd == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(h, sizeof *rtm);
	rtm->rtm_family = (unsigned char)r->dst.family;
	rtm->rtm_dst_len = (unsigned char)r->dst.prefix;
	uint32_t table = r->table >= 0 ? (uint32_t)r->table : RT_TABLE_MAIN;
	rtm->rtm_table = table < 256 ? (unsigned char)table : RT_TABLE_UNSPEC;
	if (cmd == RTM_NEWROUTE) {
		rtm->rtm_protocol = RTPROT_STATIC;
		/* A route without a gateway reaches its destination on the
		 * link itself. */
		rtm->rtm_scope = r->has_via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
		rtm->rtm_type = RTN_UNICAST;
	} else {
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	}
	mnl_attr_put_u32(h, RTA_TABLE, table);
	if (r->dst.prefix > 0)
		mnl_attr_put(h, RTA_DST, ip_len(r->dst.family), r->dst.bytes);
	if (r->has_via)
		mnl_attr_put(h, RTA_GATEWAY, ip_len(r->via.family), r->via.bytes);
	if (oif > 0)
		mnl_attr_put_u32(h, RTA_OIF, (uint32_t)oif);
	if (r->metric >= 0)
		mnl_attr_put_u32(h, RTA_PRIORITY, (uint32_t)r->metric);
	return nl_call(nl, what, err);
}

struct route_attrs {
	const struct nlattr *dst, *gw, *oif, *prio, *table;
};

static int
route_attr(const struct nlattr *a, void *data)
{
	struct route_attrs *x = data;
	switch (mnl_attr_get_type(a)) {
	case RTA_DST: x->dst = a; break;
	case RTA_GATEWAY: x->gw = a; break;
	case RTA_OIF: x->oif = a; break;
	case RTA_PRIORITY: x->prio = a; break;
	case RTA_TABLE: x->table = a; break;
	}
	return MNL_CB_OK;
}

struct route_dump_ctx {
	route_cb_t cb;
	void *data;
	ctrk_error_t *err;
	bool failed;
};

static int
route_dump_cb(const struct nlmsghdr *h, void *data)
{
	struct route_dump_ctx *c = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(h);
	if (h->nlmsg_type != RTM_NEWROUTE || c->failed || mnl_nlmsg_get_payload_len(h) < sizeof *rtm)
		return MNL_CB_OK;
	if (rtm->rtm_type != RTN_UNICAST || rtm->rtm_table == RT_TABLE_LOCAL ||
	    (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6))
		return MNL_CB_OK;
	struct route_attrs x = {0};
	mnl_attr_parse(h, sizeof *rtm, route_attr, &x);
	size_t len = ip_len(rtm->rtm_family);
	route_info_t ri = {.r = {.metric = -1, .table = rtm->rtm_table}};
	ri.r.dst.family = rtm->rtm_family;
	ri.r.dst.prefix = rtm->rtm_dst_len;
	if (x.dst && mnl_attr_get_payload_len(x.dst) == len)
		memcpy(ri.r.dst.bytes, mnl_attr_get_payload(x.dst), len);
	if (x.gw && mnl_attr_get_payload_len(x.gw) == len) {
		ri.r.has_via = true;
		ri.r.via.family = rtm->rtm_family;
		ri.r.via.prefix = -1;
		memcpy(ri.r.via.bytes, mnl_attr_get_payload(x.gw), len);
	}
	if (x.oif && mnl_attr_validate(x.oif, MNL_TYPE_U32) == 0)
		ri.oif = (int)mnl_attr_get_u32(x.oif);
	if (x.prio && mnl_attr_validate(x.prio, MNL_TYPE_U32) == 0)
		ri.r.metric = mnl_attr_get_u32(x.prio);
	if (x.table && mnl_attr_validate(x.table, MNL_TYPE_U32) == 0)
		ri.r.table = mnl_attr_get_u32(x.table);
	if (c->cb(&ri, c->data, c->err) < 0)
		c->failed = true;
	return MNL_CB_OK;
}

int
route_dump(nl_t *nl, route_cb_t cb, void *data, ctrk_error_t *err)
{
	struct route_dump_ctx c = {cb, data, err, false};
	static const int families[] = {AF_INET, AF_INET6};
	for (size_t i = 0; i < 2 && !c.failed; i++) {
		struct nlmsghdr *h = nl_msg(nl, RTM_GETROUTE, 0);
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(h, sizeof *rtm);
		rtm->rtm_family = (unsigned char)families[i];
		if (nl_dump(nl, route_dump_cb, &c, "listing routes", err) < 0)
			return -1;
	}
	return c.failed ? -1 : 0;
}

bool
route_matches(const route_spec_t *want, const route_info_t *have)
{
	const route_spec_t *h = &have->r;
	long long table = want->table >= 0 ? want->table : RT_TABLE_MAIN;
	if (!ip_equal(&want->dst, &h->dst) || want->dst.prefix != h->dst.prefix || table != h->table)
		return false;
	if (want->has_via != h->has_via || (want->has_via && !ip_equal(&want->via, &h->via)))
		return false;
	return want->metric < 0 || want->metric == h->metric;
}

struct route_find {
	const route_spec_t *want;
	bool found;
};

static int
route_find_cb(const route_info_t *ri, void *data, ctrk_error_t *err)
{
	struct route_find *f = data;
	if (route_matches(f->want, ri))
		f->found = true;
	return 0;
}

int
route_present(nl_t *nl, const route_spec_t *want, bool *found, ctrk_error_t *err)
{
	struct route_find f = {want, false};
	if (route_dump(nl, route_find_cb, &f, err) < 0)
		return -1;
	*found = f.found;
	return 0;
}
