/* The container's capabilities: Docker's default set, --privileged,
 * --cap-add and --cap-drop.  Names come from libcap-ng. */
#ifndef CTRK_RUN_CAPS_H
#define CTRK_RUN_CAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* The container's capability set: Docker's default set (CHOWN DAC_OVERRIDE
 * FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE
 * SYS_CHROOT KILL AUDIT_WRITE), or every capability the running kernel knows
 * (/proc/sys/kernel/cap_last_cap, else CAP_LAST_CAP of the headers) when
 * PRIVILEGED.  Then ADD, then DROP:
 *   - "ALL" in ADD is every capability the kernel knows;
 *   - "ALL" in DROP empties the set but keeps the named ADDs, so
 *     `--cap-drop ALL --cap-add NET_BIND_SERVICE` keeps that one;
 *   - a name in both ADD and DROP is dropped (drop wins), and DROP ALL wins
 *     over ADD ALL;
 *   - with PRIVILEGED, DROP still applies.
 * Names are case-insensitive with or without "CAP_": "CAP_CHOWN", "chown",
 * "Chown".  An unknown name is an error "unknown capability 'x'"; so is
 * adding one the running kernel does not know, while dropping one is
 * allowed (there is nothing to drop).
 *
 * *CAPS: "CAP_CHOWN", ... sorted by capability number, no duplicates, NULL
 * at the end, *NCAPS of them; the caller frees it with run_caps_free().  On
 * failure *CAPS is NULL and *NCAPS 0. */
int run_caps_resolve(const char *const *add, size_t nadd, const char *const *drop, size_t ndrop, bool privileged,
		     char ***caps, size_t *ncaps, ctrk_error_t *err);

void run_caps_free(char **caps);

#endif
