/* The container's seccomp filter compiled ahead, for crun: crun compiles
 * linux.seccomp with libseccomp at every start (10-20 ms for Docker's
 * profile here) unless it can cache the result, which Debian 12's crun
 * 1.8.1 cannot (built without libgcrypt).  It takes a compiled filter from
 * the annotation run.oci.seccomp_bpf_data instead (crun(1)), so ctrk-run
 * compiles it once per filter, as crun would, keeps it in
 * $CTRK_RUN/seccomp/, and passes it on. */
#ifndef CTRK_RUN_SECCOMP_BPF_H
#define CTRK_RUN_SECCOMP_BPF_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "error.h"

/* SECCOMP (a resolved linux.seccomp) compiled to a BPF program as crun
 * 1.8 compiles it with the same libseccomp (loaded with dlopen: only a
 * cache miss pays for it), from the cache in CACHE_DIR when there.  *BPF,
 * *LEN: the program (the caller frees it).  Returns 0, or 1 when SECCOMP
 * asks for what crun must do itself (a listener, SCMP_ACT_NOTIFY), or -1. */
int run_seccomp_bpf(const cJSON *seccomp, const char *cache_dir, char **bpf, size_t *len, ctrk_error_t *err);

/* Add the annotation run.oci.seccomp_bpf_data (base64 of the program) to
 * CONFIG when the runtime ctrk-run will use is crun (O_RUNTIME: --runtime,
 * else $CTRK_RUNTIME).  A failure to compile or cache is no failure of the
 * start: crun then compiles linux.seccomp itself. */
void run_seccomp_bpf_annotate(cJSON *config, const char *o_runtime);

#endif
