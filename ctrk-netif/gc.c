/* gc: what killed runs left, found by the owner mark alone (no state file).
 *
 * Candidates: host links in the link group NETIF_GROUP, and namespaces in
 * /run/netns whose lo carries the mark.  Each belongs to the key in its
 * alias; a host link with the group but no alias (a run killed between the
 * request that made it and the one that named it) belongs to the key of the
 * namespace its other end is in, when that is a marked one, else to no key.
 *
 * A key is in use, and everything of it kept, when
 *   - ctrk-run has a container of that name ($CTRK_RUN/KEY exists), or
 *   - a marked namespace of that key has a process in it, or
 *   - any of its marks (a link's or a namespace's) is younger than
 *     --min-age (default 60 s): a run may be between two of its steps.
 * Whatever its key, a host link is kept when its other end is in a
 * namespace in use: a marked one whose key is in use, or any other that a
 * process is in (a run given --pid or --netns of a namespace ctrk-netif
 * did not make: its container still runs); and when it is the master of a
 * link gc keeps (a bridge with ports in use).  A marked link with no alias
 * and no namespace to tie it to is garbage, but only when gc runs without
 * KEYs.
 *
 * Links go first (deleting a veth's host side deletes its peer at once,
 * where a namespace's links go only when the kernel gets to clean it up),
 * then the namespaces.  The links in one round trip and one deletion: each
 * RTM_DELLINK of a link waits for an RCU grace period (50 veths one by one:
 * 0.9 s here), while deleting a link group unregisters its links together
 * (26 ms).  So gc moves the garbage into NETIF_GROUP_GC, then deletes that
 * group, all in one batch of requests.  A link in NETIF_GROUP_GC with the
 * alias is still marked (a gc killed between the two steps leaves it so),
 * and one gc never deletes that group while a link in it is not marked. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>

#include "cleanup.h"
#include "cli.h"
#include "fsutil.h"
#include "json.h"
#include "link.h"
#include "paths.h"

#define GC_MIN_AGE_DEFAULT 60
/* Where gc puts the links it is about to delete: "ctrl", next to "ctrk". */
#define NETIF_GROUP_GC (NETIF_GROUP + 1)

typedef struct gc_link {
	int ifindex, master, link;
	bool link_net; /* its other end (LINK) is in another namespace */
	char name[IFNAMSIZ];
	uint32_t group;
	bool marked, aliased;
	char key[256];
	long long created;
	bool garbage;
} gc_link_t;

typedef struct gc_ns {
	char *name, *path;
	netns_info_t info;
	dev_t dev;
	ino_t ino;
	bool stray; /* a file with no namespace on it, named as a KEY */
	bool busy;  /* a process is in it */
	bool garbage;
} gc_ns_t;

typedef struct gc {
	const netif_opts_t *o;
	int nkeys;
	char **keys;
	long long now, min_age;
	gc_link_t *links;
	size_t nlinks;
	gc_ns_t *ns;
	size_t nns;
	int failed;
	bool gc_group_foreign; /* a link in NETIF_GROUP_GC is not marked */
	/* The links whose other end is elsewhere, of every namespace a
	 * process is in but the host's and the marked ones; read once. */
	bool proc_peers_read, proc_peers_unknown;
	netns_peer_t *proc_peers;
	size_t nproc_peers;
} gc_t;

static bool
key_wanted(const gc_t *g, const char *key)
{
	if (g->nkeys == 0)
		return true;
	for (int i = 0; i < g->nkeys; i++)
		if (strcmp(g->keys[i], key) == 0)
			return true;
	return false;
}

/* ---- The host's links: one dump ---- */

static int
host_link(const link_info_t *li, void *data, ctrk_error_t *err)
{
	gc_t *g = data;
	gc_link_t l = {.ifindex = li->index, .master = li->master, .link = li->link, .link_net = li->link_elsewhere,
		       .group = li->group};
	snprintf(l.name, sizeof l.name, "%s", li->name);
	l.aliased = netif_alias_parse(li->alias, l.key, sizeof l.key, &l.created) == 0;
	/* A link with the group and an alias that is not ours is not ours:
	 * the group alone could be anyone's choice of number. */
	bool foreign_alias = li->alias[0] && !l.aliased;
	l.marked = !foreign_alias && (l.group == NETIF_GROUP || (l.group == NETIF_GROUP_GC && l.aliased));
	if (l.group == NETIF_GROUP_GC && !l.marked)
		g->gc_group_foreign = true;
	if (!l.aliased) {
		l.key[0] = '\0';
		l.created = 0;
	}
	g->links = ctrk_xrealloc(g->links, (g->nlinks + 1) * sizeof *g->links);
	g->links[g->nlinks++] = l;
	return 0;
}

static void
links_forget(void *data)
{
	gc_t *g = data;
	g->nlinks = 0;
	g->gc_group_foreign = false;
}

static int
links_read(gc_t *g, nl_t *nl, ctrk_error_t *err)
{
	return link_dump_whole(nl, host_link, links_forget, g, "reading the host's links", err);
}

/* ---- The namespaces in /run/netns ---- */

static void
ns_push(gc_t *g, const char *name, gc_ns_t n)
{
	g->ns = ctrk_xrealloc(g->ns, (g->nns + 1) * sizeof *g->ns);
	n.name = ctrk_xstrdup(name);
	n.path = ctrk_strdup_printf("%s/%s", NETNS_RUN_DIR, name);
	g->ns[g->nns++] = n;
}

/* A file /run/netns/KEY with nothing mounted on it: an ns add killed
 * between creating the file and pinning the namespace on it.  Only for a
 * KEY named on the command line (whose name it is then), and only once
 * older than --min-age, since an add in progress has one for a moment. */
static bool
stray_file(const gc_t *g, int dir, const char *name)
{
	struct stat st;
	if (g->nkeys == 0 || !key_wanted(g, name) || fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return S_ISREG(st.st_mode) && st.st_size == 0 && g->now - (long long)st.st_mtime >= g->min_age;
}

static int
namespaces_read(gc_t *g, ctrk_error_t *err)
{
	DIR *dir = opendir(NETNS_RUN_DIR);
	if (!dir)
		return errno == ENOENT ? 0 : ctrk_error_errno(err, "cannot read '%s'", NETNS_RUN_DIR);
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (!netns_name_ok(e->d_name))
			continue;
		cleanup_free char *path = ctrk_strdup_printf("%s/%s", NETNS_RUN_DIR, e->d_name);
		ctrk_error_t oerr;
		cleanup_close int fd = netns_open_path(path, &oerr);
		if (fd < 0) {
			if (oerr.errnum == EINVAL && stray_file(g, dirfd(dir), e->d_name))
				ns_push(g, e->d_name, (gc_ns_t){.stray = true});
			continue; /* gone since readdir, or not a namespace */
		}
		gc_ns_t n = {0};
		struct stat st;
		if (fstat(fd, &st) < 0) {
			ctrk_warn("gc: skipping namespace '%s': %s", path, strerror(errno));
			continue;
		}
		/* Its links stay too: one whose other end is there and has
		 * a process is found through the process. */
		if (netns_info_read(fd, &n.info, &oerr) < 0) {
			ctrk_warn("gc: skipping namespace '%s': %s", path, oerr.msg);
			continue;
		}
		if (!n.info.marked) {
			netns_info_free(&n.info);
			continue;
		}
		n.dev = st.st_dev;
		n.ino = st.st_ino;
		ns_push(g, e->d_name, n);
	}
	closedir(dir);
	return 0;
}

/* ---- What is in use ---- */

/* The marked namespace (not a stray file) that the other end of host link
 * L is in: both ends name each other's index. */
static const gc_ns_t *
peer_namespace(const gc_t *g, const gc_link_t *l)
{
	if (!l->link_net || l->link <= 0)
		return NULL;
	for (size_t i = 0; i < g->nns; i++)
		for (size_t j = 0; j < g->ns[i].info.npeers; j++)
			if (g->ns[i].info.peers[j].ifindex == l->link && g->ns[i].info.peers[j].peer == l->ifindex)
				return &g->ns[i];
	return NULL;
}

static bool
container_exists(const char *key)
{
	cleanup_free char *dir = ctrk_strdup_printf("%s/%s", ctrk_default_run(), key);
	return ctrk_path_exists(dir);
}

static bool
young(const gc_t *g, long long created)
{
	return g->now - created < g->min_age;
}

/* KEY is in use: see the rules at the top. */
static bool
key_in_use(const gc_t *g, const char *key)
{
	if (container_exists(key))
		return true;
	for (size_t i = 0; i < g->nns; i++) {
		const gc_ns_t *n = &g->ns[i];
		if (n->stray || strcmp(n->info.key, key) != 0)
			continue;
		if (n->busy || young(g, n->info.created))
			return true;
	}
	for (size_t i = 0; i < g->nlinks; i++)
		if (g->links[i].aliased && strcmp(g->links[i].key, key) == 0 && young(g, g->links[i].created))
			return true;
	return false;
}

static bool
ns_known(const gc_t *g, const struct stat *self, const netns_proc_t *p, const netns_proc_t *read, size_t nread)
{
	if (p->dev == self->st_dev && p->ino == self->st_ino)
		return true;
	for (size_t i = 0; i < g->nns; i++)
		if (!g->ns[i].stray && g->ns[i].dev == p->dev && g->ns[i].ino == p->ino)
			return true;
	for (size_t i = 0; i < nread; i++)
		if (read[i].dev == p->dev && read[i].ino == p->ino)
			return true;
	return false;
}

static void
proc_peers_read(gc_t *g, const netns_procs_t *procs)
{
	g->proc_peers_read = true;
	struct stat self;
	if (stat("/proc/self/ns/net", &self) < 0) {
		g->proc_peers_unknown = true;
		return;
	}
	cleanup_free netns_proc_t *read = ctrk_xcalloc(procs->n + 1, sizeof *read);
	size_t nread = 0;
	for (size_t i = 0; i < procs->n; i++) {
		const netns_proc_t *p = &procs->v[i];
		if (ns_known(g, &self, p, read, nread))
			continue;
		read[nread++] = *p;
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/net", (int)p->pid);
		ctrk_error_t err;
		netns_info_t info;
		cleanup_close int fd = netns_open_path(path, &err);
		if (fd < 0 && err.errnum == ENOENT)
			continue; /* the process is gone */
		if (fd < 0 || netns_info_read(fd, &info, &err) < 0) {
			/* Unknown: every link whose other end may be there stays. */
			ctrk_warn("gc: cannot read the namespace of process %d: %s", (int)p->pid, err.msg);
			g->proc_peers_unknown = true;
			continue;
		}
		if (info.npeers) {
			g->proc_peers = ctrk_xrealloc(g->proc_peers, (g->nproc_peers + info.npeers) * sizeof *g->proc_peers);
			memcpy(g->proc_peers + g->nproc_peers, info.peers, info.npeers * sizeof *info.peers);
			g->nproc_peers += info.npeers;
		}
		netns_info_free(&info);
	}
}

/* L's other end is in a namespace a process is in (not a marked one). */
static bool
peer_in_process_namespace(gc_t *g, const netns_procs_t *procs, const gc_link_t *l)
{
	if (!l->link_net || l->link <= 0)
		return false;
	if (!g->proc_peers_read)
		proc_peers_read(g, procs);
	if (g->proc_peers_unknown)
		return true;
	for (size_t i = 0; i < g->nproc_peers; i++)
		if (g->proc_peers[i].ifindex == l->link && g->proc_peers[i].peer == l->ifindex)
			return true;
	return false;
}

static void
classify(gc_t *g, const netns_procs_t *procs)
{
	for (size_t i = 0; i < g->nns; i++)
		for (size_t p = 0; p < procs->n && !g->ns[i].stray && !g->ns[i].busy; p++)
			g->ns[i].busy = procs->v[p].dev == g->ns[i].dev && procs->v[p].ino == g->ns[i].ino;
	for (size_t i = 0; i < g->nns; i++) {
		gc_ns_t *n = &g->ns[i];
		n->garbage = n->stray || (key_wanted(g, n->info.key) && !key_in_use(g, n->info.key));
	}
	for (size_t i = 0; i < g->nlinks; i++) {
		gc_link_t *l = &g->links[i];
		if (!l->marked)
			continue;
		if (!l->aliased) {
			const gc_ns_t *n = peer_namespace(g, l);
			if (n && !n->stray)
				snprintf(l->key, sizeof l->key, "%s", n->info.key);
		}
		if (l->key[0])
			l->garbage = key_wanted(g, l->key) && !key_in_use(g, l->key);
		else
			l->garbage = g->nkeys == 0;
		/* Its other end is in a namespace in use, whoever's it is. */
		const gc_ns_t *n = l->garbage ? peer_namespace(g, l) : NULL;
		if (l->garbage && (n ? key_in_use(g, n->info.key) : peer_in_process_namespace(g, procs, l)))
			l->garbage = false;
	}
	/* A master (a bridge) stays while a link it keeps uses it; masters of
	 * masters too, hence until nothing changes. */
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < g->nlinks; i++) {
			const gc_link_t *port = &g->links[i];
			if (port->garbage || port->master <= 0)
				continue;
			for (size_t j = 0; j < g->nlinks; j++)
				if (g->links[j].garbage && g->links[j].ifindex == port->master) {
					g->links[j].garbage = false;
					changed = true;
				}
		}
	}
}

/* ---- Removal ---- */

static void
print_removed(const gc_t *g, const char *what, const char *name, const char *key)
{
	if (g->o->json)
		return;
	printf("%s %s %s", g->o->dry_run ? "would remove" : "removed", what, name);
	if (key && key[0])
		printf(" (key %s)", key);
	putchar('\n');
}

static void
put_link_msg(nl_t *nl, uint16_t type, int ifindex, uint32_t group)
{
	struct nlmsghdr *h = nl_msg(nl, type, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (group)
		mnl_attr_put_u32(h, IFLA_GROUP, group);
}

/* One batch: kept links found in NETIF_GROUP_GC back to NETIF_GROUP; the
 * marked garbage into NETIF_GROUP_GC; what has no alias (it could not be
 * told from another's after a crash there) deleted by index; then the
 * group deleted.  ERRNOS gets each link's result (0: removed). */
static int
links_delete(gc_t *g, nl_t *nl, int *errnos, ctrk_error_t *err)
{
	bool by_group = !g->gc_group_foreign, group_used = false;
	size_t n = 0;
	cleanup_free long *msg = ctrk_xcalloc(g->nlinks + 1, sizeof *msg);
	for (size_t i = 0; i < g->nlinks; i++) {
		const gc_link_t *l = &g->links[i];
		msg[i] = -1;
		if (!l->garbage && l->marked && l->group == NETIF_GROUP_GC) {
			put_link_msg(nl, RTM_NEWLINK, l->ifindex, NETIF_GROUP);
			n++;
		}
	}
	for (size_t i = 0; i < g->nlinks; i++) {
		const gc_link_t *l = &g->links[i];
		if (!l->garbage)
			continue;
		if (by_group && l->aliased) {
			group_used = true;
			if (l->group == NETIF_GROUP_GC)
				continue;
			put_link_msg(nl, RTM_NEWLINK, l->ifindex, NETIF_GROUP_GC);
		} else {
			put_link_msg(nl, RTM_DELLINK, l->ifindex, 0);
		}
		msg[i] = (long)n++;
	}
	if (group_used)
		put_link_msg(nl, RTM_DELLINK, 0, NETIF_GROUP_GC);
	size_t total = n + group_used;
	cleanup_free int *res = ctrk_xcalloc(total + 1, sizeof *res);
	if (total && nl_call_batch(nl, res, total, err) < 0)
		return ctrk_error_wrap(err, "removing links");
	/* ENODEV: the group is empty, all gone already. */
	int group_err = group_used && res[n] != ENODEV ? res[n] : 0;
	for (size_t i = 0; i < g->nlinks; i++) {
		const gc_link_t *l = &g->links[i];
		if (!l->garbage)
			continue;
		int e = msg[i] >= 0 ? res[msg[i]] : 0;
		bool relabeled = by_group && l->aliased;
		/* ENODEV: gone already (a veth whose peer went first). */
		errnos[i] = e == ENODEV ? 0 : e ? e : relabeled ? group_err : 0;
	}
	return 0;
}

static int
links_remove(gc_t *g, nl_t *nl, cJSON *out, ctrk_error_t *err)
{
	cleanup_free int *errnos = ctrk_xcalloc(g->nlinks + 1, sizeof *errnos);
	if (!g->o->dry_run && links_delete(g, nl, errnos, err) < 0)
		return -1;
	for (size_t i = 0; i < g->nlinks; i++) {
		const gc_link_t *l = &g->links[i];
		if (!l->garbage)
			continue;
		if (errnos[i]) {
			ctrk_warn("gc: cannot remove link %s: %s", l->name, strerror(errnos[i]));
			g->failed++;
			continue;
		}
		print_removed(g, "link", l->name, l->key);
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", l->name);
		if (l->key[0])
			cJSON_AddStringToObject(j, "key", l->key);
		else
			cJSON_AddNullToObject(j, "key");
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(out, "links"), j);
	}
	return 0;
}

static void
namespaces_remove(gc_t *g, cJSON *out)
{
	for (size_t i = 0; i < g->nns; i++) {
		const gc_ns_t *n = &g->ns[i];
		if (!n->garbage)
			continue;
		const char *key = n->stray ? n->name : n->info.key;
		if (!g->o->dry_run) {
			ctrk_error_t err;
			/* A container may have started since the scan. */
			if (!n->stray && container_exists(key))
				continue;
			if (netns_unpin(n->path, &err) < 0) {
				ctrk_warn("gc: %s", err.msg);
				g->failed++;
				continue;
			}
		}
		print_removed(g, "namespace", n->path, key);
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", n->name);
		cJSON_AddStringToObject(j, "path", n->path);
		cJSON_AddStringToObject(j, "key", key);
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(out, "namespaces"), j);
	}
}

static void
gc_free(gc_t *g)
{
	for (size_t i = 0; i < g->nns; i++) {
		free(g->ns[i].name);
		free(g->ns[i].path);
		netns_info_free(&g->ns[i].info);
	}
	free(g->ns);
	free(g->links);
	free(g->proc_peers);
}

static int
gc_run(gc_t *g, cJSON *out, ctrk_error_t *err)
{
	cleanup_nl nl_t *nl = nl_open(-1, err);
	if (!nl)
		return -1;
	/* Namespaces first: a link made after the links are read is then
	 * never taken for one whose namespace was not seen. */
	if (namespaces_read(g, err) < 0 || links_read(g, nl, err) < 0)
		return -1;
	netns_procs_t procs = {0};
	if (netns_procs_scan(&procs, err) < 0)
		return -1;
	classify(g, &procs);
	netns_procs_free(&procs);
	if (links_remove(g, nl, out, err) < 0)
		return -1;
	namespaces_remove(g, out);
	return 0;
}

int
cmd_gc(const netif_opts_t *o, int nkeys, char **keys)
{
	/* A KEY is a command-line argument: a bad one is a usage error. */
	for (int i = 0; i < nkeys; i++)
		if (!netif_key_ok(keys[i]))
			return ctrk_usage_error("invalid key '%s': use letters, digits, '_', '.' and '-' (not first), "
						"at most 128", keys[i]);
	gc_t g = {.o = o, .nkeys = nkeys, .keys = keys, .now = (long long)time(NULL),
		  .min_age = o->min_age >= 0 ? o->min_age : GC_MIN_AGE_DEFAULT};
	ctrk_error_t err;
	cleanup_json cJSON *out = cJSON_CreateObject();
	cJSON_AddArrayToObject(out, "links");
	cJSON_AddArrayToObject(out, "namespaces");
	int rc = gc_run(&g, out, &err);
	gc_free(&g);
	if (rc < 0)
		return ctrk_fail(&err);
	if (o->json) {
		if (o->dry_run)
			cJSON_AddTrueToObject(out, "dry_run");
		if (ctrk_json_write_fd(STDOUT_FILENO, out, false, &err) < 0)
			return ctrk_fail(&err);
	} else if (fflush(stdout) != 0) {
		ctrk_error_errno(&err, "writing the list");
		return ctrk_fail(&err);
	}
	if (g.failed) {
		ctrk_report_msg("gc: %d could not be removed", g.failed);
		return CTRK_EXIT_FAILURE;
	}
	return CTRK_EXIT_OK;
}
