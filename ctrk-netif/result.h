/* The descriptor's "network": a CNI 1.0 result, so that CNI-aware tools
 * read it as is and CNI plugins take it as prevResult.
 *
 *   { "cniVersion": "1.0.0",
 *     "interfaces": [ {"name": "ck1a2b3c4d5e6f", "mac": "aa:..", "mtu": 1500},
 *                     {"name": "eth0", "mac": "..", "mtu": 1500, "sandbox": "/run/netns/c1"} ],
 *     "ips":    [ {"address": "10.88.0.2/24", "gateway": "10.88.0.1", "interface": 1} ],
 *     "routes": [ {"dst": "0.0.0.0/0", "gw": "10.88.0.1"} ],
 *     "dns": {} }
 *
 * "interface" in ips is an index into interfaces.  Routes may also carry
 * "priority" and "table" (CNI 1.1's names; 1.0 readers ignore them). */
#ifndef CTRK_NETIF_RESULT_H
#define CTRK_NETIF_RESULT_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "error.h"

#define RESULT_CNI_VERSION "1.0.0"

/* D's "network", made empty (cniVersion and empty arrays) when absent. */
cJSON *result_get(cJSON *d);

/* Check a result's shape: every field ctrk reads, named when wrong
 * (interfaces[i].name a string, ips[i].interface an index in range, ...). */
int result_validate(const cJSON *network, const char *what, ctrk_error_t *err);

/* Append an interface; returns its index.  MAC may be NULL, MTU 0 for none,
 * SANDBOX NULL for a host-side interface. */
int result_add_interface(cJSON *network, const char *name, const char *mac, int mtu, const char *sandbox);

/* The index of the interface NAME in SANDBOX (NULL: on the host), or -1. */
int result_find_interface(const cJSON *network, const char *name, const char *sandbox);

/* Append an address (CIDR) of interface IFINDEX; GATEWAY may be NULL. */
void result_add_ip(cJSON *network, const char *cidr, const char *gateway, int ifindex);

/* Append a route; GW NULL for none, PRIORITY and TABLE < 0 for none. */
void result_add_route(cJSON *network, const char *dst, const char *gw, long priority, long table);

/* Remove the interface at IFINDEX with its addresses, and renumber the
 * later ones' addresses.  Routes are left: they belong to no interface in
 * CNI's shape; callers drop those they know went with it. */
void result_remove_interface(cJSON *network, int ifindex);

/* Append everything of ADD (another result, e.g. a CNI plugin's) to
 * NETWORK, renumbering ADD's address indexes. */
int result_append(cJSON *network, const cJSON *add, ctrk_error_t *err);

#endif
