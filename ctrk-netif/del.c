/* del: one interface ctrk-netif added, or the teardown of all it added to
 * the descriptor (netif.added, newest first; then the namespace when
 * ns add made it).  What is already gone is a note, not an error, so a
 * second del, or a del after `ip netns del`, succeeds. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "cli.h"
#include "descriptor.h"
#include "link.h"
#include "result.h"

static void
note(const netif_target_t *t, const char *fmt, ...)
{
	if (t->o->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	ctrk_vmessage("note", fmt, ap);
	va_end(ap);
}

static const char *
entry_str(const cJSON *entry, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, key));
}

/* Is LI, on the host, a link ctrk-netif made for KEY: the group and an
 * alias naming KEY?  Names in the descriptor are only claims: another
 * container's veth has the group too, and a bridge or a device anything. */
static bool
host_link_is_keys(const link_info_t *li, const char *key)
{
	char owner[256];
	long long created;
	return li->group == NETIF_GROUP && netif_alias_parse(li->alias, owner, sizeof owner, &created) == 0 &&
	       strcmp(owner, key) == 0;
}

/* Delete the link NAME through NL when it is of KIND (and, on the host,
 * carries the owner mark of the descriptor's key): 0 deleted, 1 not there
 * (or not ours: left alone, with a note). */
static int
del_if_ours(const netif_target_t *t, nl_t *nl, const char *name, const char *kind, const char *where,
	    ctrk_error_t *err)
{
	link_info_t li;
	char what[512];
	if (!nl)
		return 1;
	int r = link_get(nl, name, 0, &li, err);
	if (r != 0)
		return r;
	if (strcmp(li.kind, kind) != 0) {
		note(t, "'%s' %s is not the %s ctrk-netif made (it is a %s): left alone", name, where, kind,
		     li.kind[0] ? li.kind : "device without a kind");
		return 1;
	}
	if (nl == t->host && !host_link_is_keys(&li, t->key)) {
		note(t, "'%s' %s does not carry ctrk-netif's mark for key '%s': left alone", name, where, t->key);
		return 1;
	}
	snprintf(what, sizeof what, "removing %s '%s' %s", kind, name, where);
	if (link_del(nl, li.index, what, err) < 0)
		return errno == ENODEV ? 1 : -1;
	return 0;
}

/* Undo one netif.added entry: 0 undone, 1 already gone, -1 failed. */
static int
undo_entry(netif_target_t *t, const cJSON *entry, ctrk_error_t *err)
{
	const char *type = entry_str(entry, "type"), *ifname = entry_str(entry, "ifname");
	char where[PATH_MAX + 8];
	snprintf(where, sizeof where, "in %s", t->path ? t->path : "the namespace");
	if (strcmp(type, "cni") == 0)
		return cni_teardown(t->o, t->d, entry, err);
	if (!ifname)
		return ctrk_error_set(err, 0, "descriptor: netif.added: a %s entry without ifname", type);
	/* Names from the descriptor are checked as the command line's are. */
	static const char *const names[] = {"ifname", "host", "device", "master", "bridge"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		const char *s = entry_str(entry, names[i]);
		if (s && ifname_check(s, "descriptor: netif.added", err) < 0)
			return -1;
	}
	if (strcmp(type, "veth") == 0) {
		/* Either end takes the other with it: the host side when it is
		 * there (marked as ours), else the namespace's. */
		const char *host = entry_str(entry, "host");
		int r = host ? del_if_ours(t, t->host, host, "veth", "on the host", err) : 1;
		if (r == 1)
			r = del_if_ours(t, t->ns, ifname, "veth", where, err);
		return r;
	}
	if (strcmp(type, "macvlan") == 0 || strcmp(type, "ipvlan") == 0 || strcmp(type, "vlan") == 0)
		return del_if_ours(t, t->ns, ifname, type, where, err);
	if (strcmp(type, "move") == 0) {
		const char *device = entry_str(entry, "device");
		link_info_t li;
		char what[PATH_MAX + 512];
		if (!device)
			return ctrk_error_set(err, 0, "descriptor: netif.added: a move entry without device");
		if (!t->ns)
			return 1;
		int r = link_get(t->ns, ifname, 0, &li, err);
		if (r != 0)
			return r;
		link_change_t back = LINK_CHANGE_NONE;
		back.netns_fd = t->home_fd;
		back.name = device;
		snprintf(what, sizeof what, "moving '%s' %s back to the host as '%s'", ifname, where, device);
		return link_change(t->ns, li.index, &back, what, err);
	}
	return ctrk_error_set(err, 0, "descriptor: netif.added: unknown type '%s'", type);
}

static const char *
entry_name(const cJSON *entry, char *buf, size_t size)
{
	snprintf(buf, size, "%s '%s'", entry_str(entry, "type"),
		 entry_str(entry, "ifname") ? entry_str(entry, "ifname") : "?");
	return buf;
}

/* Open the namespace if it is still there, and the netlink sockets. */
static int
teardown_open(const netif_opts_t *o, netif_target_t *t, ctrk_error_t *err)
{
	t->key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t->d, "netif"),
									 "key"));
	ctrk_error_t oerr = {0};
	const char *had = descriptor_netns_path(t->d);
	t->netns_fd = netns_open(o, t->d, false, &t->path, &oerr);
	if (t->netns_fd == -1) {
		if (oerr.errnum != ENOENT) {
			*err = oerr;
			return -1;
		}
		note(t, "the namespace %s is already gone", o->netns ? o->netns : had ? had : "");
		if (had)
			t->path = ctrk_xstrdup(had);
	}
	if (t->netns_fd < 0)
		t->netns_fd = -1;
	/* A descriptor whose netns is the host's (or a --pid of a host
	 * process) would have the entries' names removed from the host, and
	 * a --netns of another namespace than the descriptor's its links. */
	if (t->netns_fd >= 0 &&
	    (netns_refuse_host(t->netns_fd, t->path, err) < 0 || netns_settle(t->d, &t->path, err) < 0))
		return -1;
	t->home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (t->home_fd < 0)
		return ctrk_error_errno(err, "opening the host's network namespace");
	if (!(t->host = nl_open(-1, err)))
		return -1;
	if (t->netns_fd >= 0 && !(t->ns = nl_open(t->netns_fd, err)))
		return -1;
	return 0;
}

/* Drop the routes of NETWORK that the namespace no longer has (they went
 * with a removed interface). */
static int
prune_routes(nl_t *ns, cJSON *network, ctrk_error_t *err)
{
	cJSON *routes = cJSON_GetObjectItemCaseSensitive(network, "routes");
	int n = cJSON_GetArraySize(routes);
	for (int i = n - 1; i >= 0; i--) {
		route_spec_t r;
		if (route_from_json(cJSON_GetArrayItem(routes, i), &r, err) < 0)
			return -1;
		bool found;
		if (route_present(ns, &r, &found, err) < 0)
			return -1;
		if (!found)
			cJSON_DeleteItemFromArray(routes, i);
	}
	return 0;
}

/* del IFNAME: the newest entry naming it, and its interfaces in network. */
static int
del_one(netif_target_t *t, cJSON *added, const char *ifname, ctrk_error_t *err)
{
	char name[64];
	int n = cJSON_GetArraySize(added), i;
	for (i = n - 1; i >= 0; i--) {
		const char *s = entry_str(cJSON_GetArrayItem(added, i), "ifname");
		if (s && strcmp(s, ifname) == 0)
			break;
	}
	if (i < 0)
		return ctrk_error_set(err, 0, "'%s' is not an interface ctrk-netif added (see the descriptor's "
					      "netif.added)", ifname);
	cJSON *entry = cJSON_GetArrayItem(added, i);
	int r = undo_entry(t, entry, err);
	if (r < 0)
		return -1;
	if (r == 1)
		note(t, "%s was already gone", entry_name(entry, name, sizeof name));
	cJSON *network = cJSON_GetObjectItemCaseSensitive(t->d, "network");
	if (network) {
		int idx = result_find_interface(network, ifname, t->path);
		if (idx >= 0)
			result_remove_interface(network, idx);
		const char *host = entry_str(entry, "host");
		if (host && (idx = result_find_interface(network, host, NULL)) >= 0)
			result_remove_interface(network, idx);
		if (t->ns && prune_routes(t->ns, network, err) < 0)
			return -1;
	}
	cJSON_DeleteItemFromArray(added, i);
	return 0;
}

static int
del_all(netif_target_t *t, cJSON *rec, cJSON *added, ctrk_error_t *err)
{
	char name[64];
	for (int i = cJSON_GetArraySize(added) - 1; i >= 0; i--) {
		const cJSON *entry = cJSON_GetArrayItem(added, i);
		int r = undo_entry(t, entry, err);
		if (r < 0)
			return -1;
		if (r == 1 && t->netns_fd >= 0)
			note(t, "%s was already gone", entry_name(entry, name, sizeof name));
		else if (r == 1 && strcmp(entry_str(entry, "type"), "move") == 0)
			/* The kernel gives a namespace's physical devices back
			 * to the host when it ends, under the name they had in
			 * it; which host link that is now cannot be told. */
			note(t, "'%s' was moved into the namespace, which is gone: a physical device is back on the "
				"host under the name it had inside", entry_str(entry, "device"));
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "netns_created")) && t->path) {
		/* Let go of the namespace first, so that removing its pin
		 * destroys it now rather than when this process exits. */
		if (t->ns)
			nl_close(t->ns);
		t->ns = NULL;
		if (t->netns_fd >= 0)
			close(t->netns_fd);
		int r = netns_remove(t->path, t->key, err);
		if (r < 0)
			return -1;
		if (r == 1 && t->netns_fd >= 0)
			note(t, "the namespace %s was already gone", t->path);
		t->netns_fd = -1;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(t->d, "netns");
	cJSON_DeleteItemFromObjectCaseSensitive(t->d, "network");
	cJSON_DeleteItemFromObjectCaseSensitive(t->d, "netif");
	return 0;
}

int
cmd_del(const netif_opts_t *o, const char *ifname)
{
	ctrk_error_t err = {0};
	if (ifname && ifname_check(ifname, "del", &err) < 0)
		return ctrk_usage_error("%s", err.msg);
	cleanup_target netif_target_t t = NETIF_TARGET_INIT(o);
	/* A teardown step: empty input means the step before failed, and
	 * nothing is removed on its account (ctrk-descriptor(5)). */
	if (!(t.d = netif_read_descriptor(false, &err)))
		return ctrk_fail(&err);
	cJSON *rec = cJSON_GetObjectItemCaseSensitive(t.d, "netif");
	if (!rec) {
		if (ifname)
			return ctrk_error_set(&err, 0, "'%s' is not an interface ctrk-netif added (the descriptor has "
						       "no netif)", ifname), ctrk_fail(&err);
		/* Nothing of ctrk-netif's: pass it on as it is. */
		return ctrk_descriptor_write(1, t.d, &err) < 0 ? ctrk_fail(&err) : CTRK_EXIT_OK;
	}
	cJSON *added = cJSON_GetObjectItemCaseSensitive(rec, "added");
	if (!added) {
		added = cJSON_CreateArray();
		cJSON_AddItemToObject(rec, "added", added);
	}
	if (teardown_open(o, &t, &err) < 0 ||
	    (ifname ? del_one(&t, added, ifname, &err) : del_all(&t, rec, added, &err)) < 0 ||
	    ctrk_descriptor_write(1, t.d, &err) < 0)
		return ctrk_fail(&err);
	return CTRK_EXIT_OK;
}
