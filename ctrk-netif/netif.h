/* ctrk-netif: what its parts share — the options, the descriptor record,
 * the owner mark, and the verbs each part implements.
 *
 * The parts:
 *   main.c    options and the verb table
 *   nl.c      rtnetlink through libmnl; stepping into a namespace and back
 *   netns.c   namespaces: ns add/del/list, opening --netns/--pid/descriptor
 *   link.c    links, addresses, routes over rtnetlink (gc.c and netns.c
 *             read links through it too); add.c (add, move, bridge, and
 *             what the verbs share), del.c (del), show.c (list, set,
 *             check), addr.c (parsing, sysctls): see link.h
 *   result.c  the descriptor's "network" (a CNI 1.0 result)
 *   record.c  the descriptor's "netif" (what ctrk-netif added) and the mark
 *   cni.c     CNI plugins (cni add|del|check)
 *   gc.c      gc: what killed runs left
 */
#ifndef CTRK_NETIF_H
#define CTRK_NETIF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "error.h"
#include "strlist.h"

/* Every option of every verb; main.c fills it, the verbs read it. */
typedef struct netif_opts {
	/* Where: --netns PATH or --pid PID; else the descriptor's netns. */
	const char *netns;
	long pid;                /* 0: not given */
	const char *key;         /* --key: the owner key; see netif_key() */
	bool json, dry_run, quiet;
	/* Interfaces (add, set) */
	const char *ifname;      /* --ifname, in the namespace (add: default eth0) */
	const char *host_ifname; /* --host-ifname (veth: default from the key) */
	const char *bridge;      /* --bridge (veth: attach the host side) */
	const char *master;      /* --master (macvlan, ipvlan, vlan) */
	const char *mode;        /* --mode (macvlan, ipvlan) */
	long vlan_id;            /* --vlan-id (vlan); -1: not given */
	ctrk_strlist_t addrs;         /* --addr CIDR */
	ctrk_strlist_t del_addrs;     /* --del-addr CIDR (set) */
	ctrk_strlist_t gateways;      /* --gateway IP */
	ctrk_strlist_t routes;        /* --route CIDR[,via=IP][,metric=N][,table=N] */
	ctrk_strlist_t del_routes;    /* --del-route (set) */
	ctrk_strlist_t sysctls;       /* --sysctl KEY=VALUE, in the namespace */
	long mtu;                /* -1: not given */
	const char *mac;         /* --mac */
	long txqueuelen;         /* -1: not given */
	bool no_tx_checksum;
	bool dad;                /* --dad: wait for IPv6 duplicate detection */
	int up;                  /* set: 1 --up, 0 --down, -1 not given */
	/* cni */
	const char *cni_conf;    /* --conf FILE */
	const char *cni_path;    /* --cni-path DIRS (default $CNI_PATH, then
	                            /usr/lib/cni:/opt/cni/bin) */
	/* gc */
	long min_age;            /* --min-age SECONDS; -1: not given */
} netif_opts_t;

/* ---- The owner mark (record.c) ----
 * Every link ctrk-netif creates on the host side carries it, and so does
 * `lo` of every namespace it creates: the link group NETIF_GROUP (set in
 * the request that creates the link, so no link exists unmarked) and the
 * alias "ctrk-netif key=KEY created=UNIXTIME" (set right after).  gc finds
 * them by the group; a marked link with no alias is one whose run was
 * killed between the two requests. */
#define NETIF_GROUP 0x6374726bu /* "ctrk" */
#define NETIF_ALIAS_PREFIX "ctrk-netif "

/* "ctrk-netif key=KEY created=NOW" in BUF (IFALIASZ bytes). */
void netif_alias(char *buf, size_t size, const char *key);
/* Parse an alias made by netif_alias(): 0 with KEY (KEY_SIZE bytes) and
 * *CREATED, -1 when ALIAS is not one. */
int netif_alias_parse(const char *alias, char *key, size_t key_size, long long *created);

/* ---- The descriptor (record.c) ----
 * "netns"   the namespace path (see ctrk-descriptor(5));
 * "network" a CNI 1.0 result: cniVersion, interfaces, ips, routes (result.c);
 * "netif"   what ctrk-netif added, so that `del` removes exactly that:
 *   { "key": "c1",
 *     "netns_created": true,          when ns add made the namespace
 *     "added": [                       in the order they were added
 *       {"type": "veth", "ifname": "eth0", "host": "ck1a2b3c4d5e6f", "bridge": "br0"},
 *       {"type": "macvlan"|"ipvlan"|"vlan", "ifname": "eth1", "master": "enp1s0"},
 *       {"type": "move", "ifname": "eth2", "device": "veth7"},  device: its host name
 *       {"type": "cni", "ifname": "net1", "conf": "/etc/cni/net.d/10-br.conflist",
 *        "network": "mynet", "container_id": "c1"} ] }
 */

/* The key that owns what this run adds: --key, else netif.key, else
 * container.id, else snapshot.key, else the namespace's file name.  NULL
 * (with ERR) when none of those is there, it is not a valid key
 * ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 128 bytes), or --key is not the
 * descriptor's netif.key. */
const char *netif_key(const netif_opts_t *o, const cJSON *d, ctrk_error_t *err);

/* S is 1 to MAX of [A-Za-z0-9_.-], not starting with one of NOT_FIRST:
 * the shape of owner keys, namespace names and CNI network names. */
bool netif_name_ok(const char *s, size_t max, const char *not_first);

/* KEY is a valid owner key (the rule netif_key() applies). */
bool netif_key_ok(const char *key);

/* D's "netif" object, made (with "key" and an empty "added") when absent. */
cJSON *netif_record(cJSON *d, const char *key);

/* Append ENTRY (taking it) to netif.added. */
void netif_record_add(cJSON *d, const char *key, cJSON *entry);

/* Check the types of "netns", "network" and "netif" in D: every field this
 * tool reads, an error naming the field when wrong. */
int netif_descriptor_validate(const cJSON *d, ctrk_error_t *err);

/* ---- Namespaces (netns.c) ---- */

/* The descriptor's netns path (a string, or an object's "path"), or NULL
 * when absent or not one. */
const char *descriptor_netns_path(const cJSON *d);

/* Open the namespace to work in: --netns PATH, --pid PID (through a pidfd,
 * so a recycled pid is never used), else D's "netns".  Returns an O_CLOEXEC
 * fd and its path in *PATH (malloc'd; for --pid, "/proc/PID/ns/net").
 * When REQUIRED is false and none is given, returns -2 (no error). */
int netns_open(const netif_opts_t *o, const cJSON *d, bool required, char **path, ctrk_error_t *err);

/* -1 (with ERR) when NETNS_FD is this process's own namespace (the
 * host's): no verb adds, changes or removes interfaces, addresses or
 * routes there, whatever path or --pid led to it. */
int netns_refuse_host(int netns_fd, const char *path, ctrk_error_t *err);

/* After netns_open(): the descriptor's namespace reached by another path
 * (--pid of a process in it) keeps the descriptor's path in *PATH, which
 * is then CNI_NETNS and the interfaces' sandbox; another namespace than
 * the descriptor's is refused once the descriptor has network or netif. */
int netns_settle(const cJSON *d, char **path, ctrk_error_t *err);

/* Remove the namespace ctrk-netif created at PATH for KEY (unmount,
 * unlink): only under NETNS_RUN_DIR, and only when its lo carries KEY's
 * mark, else an error.  1 when it was already gone, 0 when removed. */
int netns_remove(const char *path, const char *key, ctrk_error_t *err);

/* Where ns add pins namespaces, as ip netns does. */
#define NETNS_RUN_DIR "/run/netns"

/* NAME is a valid namespace name: 1-255 of [A-Za-z0-9_.-], not first '.'. */
bool netns_name_ok(const char *name);

/* What one link dump of the namespace NSFD tells: whether lo carries the
 * owner mark (its key and time), and the links whose other end is in
 * another namespace (a veth whose host side is on the host): their index
 * here and the other end's there.  gc ties a host link that has the group
 * but no alias to its namespace's key that way. */
typedef struct netns_peer {
	int ifindex, peer;
} netns_peer_t;
typedef struct netns_info {
	bool marked;
	char key[256];
	long long created;
	netns_peer_t *peers;
	size_t npeers;
} netns_info_t;
int netns_info_read(int nsfd, netns_info_t *info, ctrk_error_t *err);
void netns_info_free(netns_info_t *info);

/* PATH opened (O_RDONLY, O_CLOEXEC) if it is a network namespace; errno
 * in ERR: ENOENT when missing, EINVAL when it is something else. */
int netns_open_path(const char *path, ctrk_error_t *err);

/* Unmount and unlink PATH, as ip netns del does.  1 when it was not there. */
int netns_unpin(const char *path, ctrk_error_t *err);

/* The network namespace of every process, from one scan of /proc. */
typedef struct netns_proc {
	dev_t dev;
	ino_t ino;
	pid_t pid;
} netns_proc_t;
typedef struct netns_procs {
	netns_proc_t *v;
	size_t n;
} netns_procs_t;
int netns_procs_scan(netns_procs_t *p, ctrk_error_t *err);
void netns_procs_free(netns_procs_t *p);

/* ---- CNI (cni.c) ---- */

/* Undo the netif.added ENTRY of type "cni" (plugin DEL) for D.  1 when
 * already gone, 0 when removed. */
int cni_teardown(const netif_opts_t *o, cJSON *d, const cJSON *entry, ctrk_error_t *err);

/* ---- The verbs; each returns the exit code ---- */
int cmd_ns(const netif_opts_t *o, int argc, char **argv);      /* netns.c */
int cmd_add(const netif_opts_t *o, const char *type);         /* add.c */
int cmd_move(const netif_opts_t *o, const char *dev);         /* add.c */
int cmd_del(const netif_opts_t *o, const char *ifname);       /* del.c */
int cmd_list(const netif_opts_t *o);                           /* show.c */
int cmd_set(const netif_opts_t *o, const char *ifname);       /* show.c */
int cmd_check(const netif_opts_t *o);                          /* show.c */
int cmd_bridge(const netif_opts_t *o, const char *verb, const char *name); /* add.c */
int cmd_cni(const netif_opts_t *o, const char *verb);         /* cni.c */
int cmd_gc(const netif_opts_t *o, int nkeys, char **keys);    /* gc.c */

#endif
