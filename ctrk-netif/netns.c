/* Network namespaces: opening the one to work in (--netns, --pid, the
 * descriptor's netns), and ns add|del|list, pinned in /run/netns as
 * iproute2's `ip netns` does, so that each tool can use the other's.
 *
 * Whatever enters another namespace does so through nl.h's netns_enter()
 * and goes back through netns_leave() before it returns. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>

#include "cleanup.h"
#include "cli.h"
#include "descriptor.h"
#include "fsutil.h"
#include "json.h"
#include "link.h"
#include "verb.h"

/* Every network namespace has its loopback device at this index. */
#define LOOPBACK_IFINDEX 1

bool
netns_name_ok(const char *name)
{
	return netif_name_ok(name, NAME_MAX, ".");
}

static int
name_check(const char *name, ctrk_error_t *err)
{
	if (netns_name_ok(name))
		return 0;
	return ctrk_error_set(err, 0, "invalid namespace name '%s': use 1 to 255 letters, digits, '_', '.' and "
				      "'-', not starting with '.'", name);
}

/* An error whose errno is EINVAL (for callers to tell it from a missing
 * file) but whose message is only FMT: no ": Invalid argument" after it. */
static int
not_netns(ctrk_error_t *err, const char *fmt, const char *path)
{
	ctrk_error_set(err, 0, fmt, path);
	err->errnum = EINVAL;
	return -1;
}

/* PATH opened as a network namespace, or -1.  Opened with O_PATH first and
 * checked there, so that whatever else PATH is (a FIFO, a device) is never
 * opened for real: that could block, or have an effect. */
int
netns_open_path(const char *path, ctrk_error_t *err)
{
	cleanup_close int probe = open(path, O_PATH | O_CLOEXEC);
	if (probe < 0)
		return ctrk_error_errno(err, "cannot open network namespace '%s'", path);
	struct statfs sfs;
	if (fstatfs(probe, &sfs) < 0)
		return ctrk_error_errno(err, "cannot open network namespace '%s'", path);
	if (sfs.f_type != NSFS_MAGIC)
		return not_netns(err, "'%s' is not a network namespace (no namespace is mounted there)", path);
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", probe);
	int fd = open(self, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot open network namespace '%s'", path);
	int type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		close(fd);
		if (type < 0)
			return ctrk_error_errno(err, "cannot tell the type of namespace '%s'", path);
		return not_netns(err, "'%s' is a namespace, but not a network namespace", path);
	}
	return fd;
}

/* The network namespace of process PID, through a pidfd: the pidfd pins
 * the process that has PID now; /proc/PID/ns/net is opened after, and if
 * that process still runs then, PID named it all along (a pid is reused
 * only once its process is gone).  So a recycled pid is never used. */
static int
open_pid_netns(long pid, char **path, ctrk_error_t *err)
{
	cleanup_close int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0) {
		if (errno == ESRCH)
			return ctrk_error_set(err, 0, "--pid %ld: no such process", pid);
		return ctrk_error_errno(err, "--pid %ld: cannot open the process", pid);
	}
	cleanup_free char *p = ctrk_strdup_printf("/proc/%ld/ns/net", pid);
	cleanup_close int fd = netns_open_path(p, err);
	if (fd < 0)
		return ctrk_error_wrap(err, "--pid %ld", pid);
	/* EPERM (an unprivileged `list`): the process exists, so it is alive. */
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 && errno != EPERM)
		return ctrk_error_set(err, 0, "--pid %ld: the process exited while its namespace was opened", pid);
	*path = steal_pointer(&p);
	return steal_fd(&fd);
}

/* The descriptor's netns: a path, or (as ctrk-run also reads it) an object
 * with "path".  NULL with no error when absent. */
static const char *
descriptor_netns(const cJSON *d, ctrk_error_t *err)
{
	const cJSON *netns = cJSON_GetObjectItemCaseSensitive(d, "netns");
	if (!netns)
		return NULL;
	if (cJSON_IsObject(netns))
		netns = cJSON_GetObjectItemCaseSensitive(netns, "path");
	if (!cJSON_IsString(netns) || !netns->valuestring[0]) {
		ctrk_error_set(err, 0, "descriptor: field 'netns': expected a path, or an object with \"path\"");
		return NULL;
	}
	return netns->valuestring;
}

const char *
descriptor_netns_path(const cJSON *d)
{
	ctrk_error_t ignored = {0};
	return descriptor_netns(d, &ignored);
}

int
netns_open(const netif_opts_t *o, const cJSON *d, bool required, char **path, ctrk_error_t *err)
{
	if (o->netns && o->pid)
		return ctrk_error_set(err, 0, "--netns and --pid: give one, not both");
	if (o->pid)
		return open_pid_netns(o->pid, path, err);
	const char *p = o->netns;
	if (!p) {
		ctrk_error_t derr = {0};
		p = descriptor_netns(d, &derr);
		if (!p && derr.msg[0]) {
			*err = derr;
			return -1;
		}
	}
	if (!p) {
		if (!required)
			return -2;
		return ctrk_error_set(err, 0, "no network namespace: give --netns PATH or --pid PID, or a "
					      "descriptor with netns (ctrk-netif ns add NAME makes one)");
	}
	int fd = netns_open_path(p, err);
	if (fd < 0)
		return -1;
	*path = ctrk_xstrdup(p);
	return fd;
}

int
netns_refuse_host(int netns_fd, const char *path, ctrk_error_t *err)
{
	struct stat ns, own;
	if (fstat(netns_fd, &ns) < 0 || stat("/proc/self/ns/net", &own) < 0)
		return ctrk_error_errno(err, "comparing %s with this process's network namespace", path);
	if (ns.st_dev == own.st_dev && ns.st_ino == own.st_ino)
		return ctrk_error_set(err, 0, "%s is this process's own network namespace (the host's): ctrk-netif "
					      "adds, changes and removes interfaces only in a container's", path);
	return 0;
}

static bool
same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int
netns_settle(const cJSON *d, char **path, ctrk_error_t *err)
{
	const char *had = descriptor_netns_path(d);
	if (!had || strcmp(had, *path) == 0)
		return 0;
	if (same_file(had, *path)) {
		free(*path);
		*path = ctrk_xstrdup(had);
		return 0;
	}
	if (cJSON_GetObjectItemCaseSensitive(d, "network") || cJSON_GetObjectItemCaseSensitive(d, "netif"))
		return ctrk_error_set(err, 0, "the descriptor's netns is '%s', not '%s'; one descriptor describes "
					      "one namespace", had, *path);
	return 0;
}

/* ---- The owner mark on lo ---- */

/* One link of a namespace's dump: lo's mark, or a link whose other end is
 * in another namespace (a veth's peer on the host). */
static int
info_link(const link_info_t *li, void *data, ctrk_error_t *err)
{
	netns_info_t *info = data;
	if (li->index == LOOPBACK_IFINDEX && li->group == NETIF_GROUP &&
	    netif_alias_parse(li->alias, info->key, sizeof info->key, &info->created) == 0)
		info->marked = true;
	if (li->link_elsewhere && li->link > 0) {
		info->peers = ctrk_xrealloc(info->peers, (info->npeers + 1) * sizeof *info->peers);
		info->peers[info->npeers++] = (netns_peer_t){.ifindex = li->index, .peer = li->link};
	}
	return 0;
}

static void
info_forget(void *data)
{
	netns_info_t *info = data;
	netns_info_free(info);
	info->marked = false;
}

int
netns_info_read(int nsfd, netns_info_t *info, ctrk_error_t *err)
{
	memset(info, 0, sizeof *info);
	cleanup_nl nl_t *nl = nl_open(nsfd, err);
	if (!nl)
		return -1;
	/* A dump: the kernel filters link dumps by master and kind only, and
	 * a container's namespace holds a handful of links. */
	if (link_dump_whole(nl, info_link, info_forget, info, "reading the namespace's links", err) < 0) {
		info_forget(info);
		return -1;
	}
	return 0;
}

void
netns_info_free(netns_info_t *info)
{
	free(info->peers);
	info->peers = NULL;
	info->npeers = 0;
}

/* lo up and marked as KEY's, in the namespace this process is in. */
static int
lo_mark_up(const char *key, ctrk_error_t *err)
{
	cleanup_nl nl_t *nl = nl_open(-1, err);
	if (!nl)
		return -1;
	struct nlmsghdr *h = nl_msg(nl, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = LOOPBACK_IFINDEX;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	char alias[IFALIASZ];
	netif_alias(alias, sizeof alias, key);
	mnl_attr_put_u32(h, IFLA_GROUP, NETIF_GROUP);
	mnl_attr_put_strz(h, IFLA_IFALIAS, alias);
	return nl_call(nl, "bringing up and marking lo", err);
}

/* ---- /run/netns ---- */

/* /run/netns as ip netns makes it: a mount point of its own, shared, so
 * that the namespaces bound in it show in every mount namespace that
 * shares /run (a container's, a service's with PrivateMounts). */
static int
run_dir_prepare(ctrk_error_t *err)
{
	if (mkdir(NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return ctrk_error_errno(err, "cannot create '%s'", NETNS_RUN_DIR);
	if (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
		return 0;
	if (errno != EINVAL)
		return ctrk_error_errno(err, "cannot make '%s' a shared mount", NETNS_RUN_DIR);
	/* Not a mount point yet: bind it on itself.  Under a lock, so that two
	 * first adds at once do not stack two binds (ip takes none). */
	cleanup_close int dir = open(NETNS_RUN_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 || flock(dir, LOCK_EX) < 0)
		return ctrk_error_errno(err, "cannot lock '%s'", NETNS_RUN_DIR);
	if (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
		return 0;
	if (errno != EINVAL)
		return ctrk_error_errno(err, "cannot make '%s' a shared mount", NETNS_RUN_DIR);
	if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0 ||
	    mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
		return ctrk_error_errno(err, "cannot make '%s' a shared mount", NETNS_RUN_DIR);
	return 0;
}

/* netns_unpin: see netif.h. */
int
netns_unpin(const char *path, ctrk_error_t *err)
{
	/* EINVAL: not a mount point (a file an add killed midway left). */
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return ctrk_error_errno(err, "cannot unmount '%s'", path);
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 1;
		return ctrk_error_errno(err, "cannot remove '%s'", path);
	}
	return 0;
}

/* "/run/netns/NAME" with a valid NAME: the name, else NULL. */
static const char *
run_dir_name(const char *path)
{
	size_t n = strlen(NETNS_RUN_DIR "/");
	if (strncmp(path, NETNS_RUN_DIR "/", n) != 0 || !netns_name_ok(path + n))
		return NULL;
	return path + n;
}

int
netns_remove(const char *path, const char *key, ctrk_error_t *err)
{
	if (!run_dir_name(path))
		return ctrk_error_set(err, 0, "refusing to remove namespace '%s': ctrk-netif makes them only as "
					      "%s/NAME", path, NETNS_RUN_DIR);
	ctrk_error_t oerr;
	cleanup_close int fd = netns_open_path(path, &oerr);
	if (fd < 0) {
		if (oerr.errnum == ENOENT || oerr.errnum == EINVAL)
			return 1; /* gone, or only a file with nothing mounted on it */
		*err = oerr;
		return -1;
	}
	netns_info_t info;
	if (netns_info_read(fd, &info, err) < 0)
		return ctrk_error_wrap(err, "namespace '%s'", path);
	netns_info_free(&info);
	if (!info.marked)
		return ctrk_error_set(err, 0, "refusing to remove namespace '%s': its lo does not carry "
					      "ctrk-netif's mark, so ctrk-netif did not make it", path);
	if (strcmp(info.key, key) != 0)
		return ctrk_error_set(err, 0, "refusing to remove namespace '%s': ctrk-netif made it for key '%s', "
					      "not for the descriptor's '%s'", path, info.key, key);
	return netns_unpin(path, err);
}

/* ---- Which processes are in which namespace ---- */

int
netns_procs_scan(netns_procs_t *p, ctrk_error_t *err)
{
	memset(p, 0, sizeof *p);
	cleanup_close int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = proc < 0 ? NULL : fdopendir(dup(proc));
	if (!dir)
		return ctrk_error_errno(err, "cannot read /proc");
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		char ns[64];
		struct stat st;
		snprintf(ns, sizeof ns, "%ld/ns/net", pid);
		/* Gone since readdir, a kernel thread, or not ours to see. */
		if (fstatat(proc, ns, &st, 0) < 0)
			continue;
		if (p->n == cap) {
			cap = cap ? cap * 2 : 256;
			p->v = ctrk_xrealloc(p->v, cap * sizeof *p->v);
		}
		p->v[p->n++] = (netns_proc_t){.dev = st.st_dev, .ino = st.st_ino, .pid = (pid_t)pid};
	}
	closedir(dir);
	return 0;
}

void
netns_procs_free(netns_procs_t *p)
{
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

/* ---- The verbs ---- */

/* Make namespace NAME pinned at PATH, lo up and marked as KEY's.  The mark
 * is set before the pin: a namespace that shows in /run/netns is always
 * marked, and one killed before the pin dies with the process. */
static int
netns_create(const char *path, const char *key, ctrk_error_t *err)
{
	if (run_dir_prepare(err) < 0)
		return -1;
	int home = netns_enter(-1, err);
	if (home < 0)
		return -1;
	if (unshare(CLONE_NEWNET) < 0) {
		close(home);
		return ctrk_error_errno(err, "cannot create a network namespace");
	}
	int rc = lo_mark_up(key, err);
	if (rc == 0) {
		/* Mode 0 and O_EXCL, as ip netns add: an existing name is
		 * refused here and left as it is. */
		int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
		if (fd < 0) {
			rc = errno == EEXIST ? ctrk_error_set(err, 0, "namespace '%s' already exists", path)
					     : ctrk_error_errno(err, "cannot create '%s'", path);
		} else {
			close(fd);
			if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0) {
				rc = ctrk_error_errno(err, "cannot pin the namespace at '%s'", path);
				unlink(path);
			}
		}
	}
	netns_leave(home);
	return rc;
}

static int
ns_add(const netif_opts_t *o, const char *name)
{
	ctrk_error_t err;
	if (name_check(name, &err) < 0)
		return ctrk_usage_error("%s", err.msg);
	if (ctrk_require_root() != 0)
		return CTRK_EXIT_FAILURE;
	cleanup_json cJSON *d = netif_read_descriptor(true, &err);
	if (!d)
		return ctrk_fail(&err);
	if (cJSON_GetObjectItemCaseSensitive(d, "netns")) {
		const char *old = descriptor_netns_path(d);
		ctrk_report_msg("ns add: the descriptor already has a network namespace ('%s'); remove it "
				"first (ctrk-netif del)", old ? old : "?");
		return CTRK_EXIT_FAILURE;
	}
	cleanup_free char *path = ctrk_strdup_printf("%s/%s", NETNS_RUN_DIR, name);
	/* netns first, so that with no other key the namespace's name is it. */
	ctrk_json_set(d, "netns", cJSON_CreateString(path));
	const char *key = netif_key(o, d, &err);
	if (!key)
		return ctrk_fail(&err);
	cJSON *rec = netif_record(d, key);
	ctrk_json_set(rec, "netns_created", cJSON_CreateTrue());
	if (netns_create(path, key, &err) < 0)
		return ctrk_fail(&err);
	if (ctrk_descriptor_write(STDOUT_FILENO, d, &err) < 0) {
		netns_unpin(path, &(ctrk_error_t){0});
		return ctrk_fail(&err);
	}
	return CTRK_EXIT_OK;
}

static int
ns_del(const netif_opts_t *o, const char *name)
{
	ctrk_error_t err;
	if (name_check(name, &err) < 0)
		return ctrk_usage_error("%s", err.msg);
	if (ctrk_require_root() != 0)
		return CTRK_EXIT_FAILURE;
	cleanup_free char *path = ctrk_strdup_printf("%s/%s", NETNS_RUN_DIR, name);
	int r = netns_unpin(path, &err);
	if (r < 0)
		return ctrk_fail(&err);
	if (r == 1 && !o->quiet)
		ctrk_note("namespace '%s' is already gone", name);
	return CTRK_EXIT_OK;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One namespace of ns list --json: name, path, whether ctrk-netif made it
 * (lo's mark) and for whom, and the processes in it. */
static cJSON *
list_entry(const char *name, const netns_procs_t *procs)
{
	cJSON *e = cJSON_CreateObject();
	cleanup_free char *path = ctrk_strdup_printf("%s/%s", NETNS_RUN_DIR, name);
	cJSON_AddStringToObject(e, "name", name);
	cJSON_AddStringToObject(e, "path", path);
	ctrk_error_t err;
	cleanup_close int fd = netns_open_path(path, &err);
	if (fd < 0) {
		/* A file with nothing mounted on it (an add killed midway). */
		cJSON_AddBoolToObject(e, "mounted", false);
		return e;
	}
	/* Reading lo's mark means entering the namespace: root only. */
	netns_info_t info;
	if (geteuid() == 0 && netns_info_read(fd, &info, &err) == 0) {
		netns_info_free(&info);
		cJSON_AddBoolToObject(e, "ctrk", info.marked);
		if (info.marked) {
			cJSON_AddStringToObject(e, "key", info.key);
			cJSON_AddNumberToObject(e, "created", (double)info.created);
		}
	}
	struct stat st;
	cJSON *pids = cJSON_AddArrayToObject(e, "pids");
	if (fstat(fd, &st) == 0)
		for (size_t i = 0; i < procs->n; i++)
			if (procs->v[i].dev == st.st_dev && procs->v[i].ino == st.st_ino)
				cJSON_AddItemToArray(pids, cJSON_CreateNumber(procs->v[i].pid));
	return e;
}

static int
ns_list(const netif_opts_t *o)
{
	ctrk_error_t err;
	DIR *dir = opendir(NETNS_RUN_DIR);
	if (!dir && errno != ENOENT) {
		ctrk_error_errno(&err, "cannot read '%s'", NETNS_RUN_DIR);
		return ctrk_fail(&err);
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while (dir && (e = readdir(dir)))
		if (netns_name_ok(e->d_name)) {
			names = ctrk_xrealloc(names, (n + 1) * sizeof *names);
			names[n++] = ctrk_xstrdup(e->d_name);
		}
	if (dir)
		closedir(dir);
	if (n)
		qsort(names, n, sizeof *names, name_cmp);
	int rc = CTRK_EXIT_OK;
	if (o->json) {
		netns_procs_t procs;
		if (netns_procs_scan(&procs, &err) < 0) {
			rc = ctrk_fail(&err);
		} else {
			cleanup_json cJSON *out = cJSON_CreateArray();
			for (size_t i = 0; i < n; i++)
				cJSON_AddItemToArray(out, list_entry(names[i], &procs));
			netns_procs_free(&procs);
			if (ctrk_json_write_fd(STDOUT_FILENO, out, false, &err) < 0)
				rc = ctrk_fail(&err);
		}
	} else {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", names[i]);
		if (fflush(stdout) != 0) {
			ctrk_error_errno(&err, "writing the list");
			rc = ctrk_fail(&err);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int
cmd_ns(const netif_opts_t *o, int argc, char **argv)
{
	if (strcmp(argv[0], "add") == 0 && argc == 2)
		return ns_add(o, argv[1]);
	if (strcmp(argv[0], "del") == 0 && argc == 2)
		return ns_del(o, argv[1]);
	if (strcmp(argv[0], "list") == 0 && argc == 1)
		return ns_list(o);
	return ctrk_usage_error("ns: expected add NAME, del NAME or list");
}
