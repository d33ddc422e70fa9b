/* The container's seccomp filter, resolved and compiled once per distinct
 * filter and kept in $CTRK_RUN/seccomp/.
 *
 * A start then neither parses nor resolves the profile (0.3 ms for
 * Docker's), and crun gets the program compiled ahead: crun compiles
 * linux.seccomp with libseccomp at every start (10-20 ms for Docker's
 * profile here) unless it can cache the result, which Debian 12's crun
 * 1.8.1 cannot (built without libgcrypt); it takes a compiled filter from
 * the annotation run.oci.seccomp_bpf_data instead (crun(1)). */
#ifndef CTRK_RUN_SECCOMP_BPF_H
#define CTRK_RUN_SECCOMP_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "error.h"

/* The program's layout. */
typedef enum run_seccomp_layout {
	/* crun 1.8's (libseccomp's default): each architecture's rules one
	 * after the other, the program crun makes itself. */
	RUN_SECCOMP_LINEAR,
	/* libseccomp's binary tree of system call numbers
	 * (SCMP_FLTATR_CTL_OPTIMIZE 2), for a filter of more than
	 * RUN_SECCOMP_TREE_MIN rules when this libseccomp has it (2.5.0 and
	 * later), else LINEAR.  The same actions for every call
	 * (tests/unit/test-run-seccomp-bpf.c shows it by emulation); the
	 * kernel takes it in 0.3 ms instead of 0.7-0.9 ms for Docker's
	 * profile, mostly the action cache it builds by running the filter
	 * for every call number. */
	RUN_SECCOMP_TREE,
} run_seccomp_layout_t;

/* libseccomp before 2.5.4 ignores the default action of a tree with no
 * rules (https://github.com/seccomp/libseccomp/issues/370), and a small
 * filter gains nothing: runc 1.2 draws the line at the same count. */
#define RUN_SECCOMP_TREE_MIN 32

/* The runtime-spec's seccomp actions and argument operators
 * (config-linux.md, "Seccomp"), as runc and crun know them, NULL-ended:
 * the names a profile may use, in the order of seccomp_bpf.c's codes. */
extern const char *const run_seccomp_actions[];
extern const char *const run_seccomp_operators[];

/* SECCOMP (a resolved linux.seccomp) compiled to a BPF program with
 * libseccomp (loaded with dlopen: only a cache miss pays for it), with
 * crun 1.8's calls in crun's order (seccomp_bpf.c).  *BPF, *LEN: the
 * program (the caller frees it).  Returns 0, or 1 when SECCOMP asks for
 * what crun must do itself (a listener, SCMP_ACT_NOTIFY), or -1. */
int run_seccomp_compile(const cJSON *seccomp, run_seccomp_layout_t layout, char **bpf, size_t *len,
			ctrk_error_t *err);

/* A cache entry: a filter resolved and compiled. */
typedef struct run_seccomp_entry {
	char *json;     /* the resolved linux.seccomp, compact */
	char *bpf;      /* its program (RUN_SECCOMP_TREE); NULL when crun must compile it */
	size_t bpf_len;
} run_seccomp_entry_t;

void run_seccomp_entry_free(run_seccomp_entry_t *e);

/* The cache entry's name for the profile PROFILE (LEN bytes; NULL: the
 * built-in one) resolved for the capabilities CAPS on this machine: a
 * sha256 of what the entry depends on (seccomp_bpf.c). */
char *run_seccomp_cache_key(const char *profile, size_t len, const char *const *caps, size_t ncaps);

/* Entry KEY of the cache in DIR into *E.  Returns 0, or -1 when there is
 * none whole (a damaged one counts as none). */
int run_seccomp_cache_read(const char *dir, const char *key, run_seccomp_entry_t *e);

/* Keep E as entry KEY in DIR (no fsync: a crash may forget it, and a
 * torn one fails its check). */
int run_seccomp_cache_write(const char *dir, const char *key, const run_seccomp_entry_t *e, ctrk_error_t *err);

#endif
