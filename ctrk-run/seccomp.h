/* The container's seccomp filter, linux.seccomp of config.json: Docker's
 * default profile (seccomp-default.json, built into ctrk-run), or a profile
 * in the same format from a file, resolved at each start for this machine
 * and the container's capabilities, for the runtime (runc, crun) to load.
 * Docker's rules, which these follow except where said:
 * https://github.com/moby/moby/blob/v20.10.24/profiles/seccomp/seccomp_linux.go */
#ifndef CTRK_RUN_SECCOMP_H
#define CTRK_RUN_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "error.h"
#include "run.h"

/* What a profile's conditions are resolved against. */
typedef struct run_seccomp_host {
	const char *arch;      /* libseccomp's name, as in "arches": "amd64"; NULL: none known */
	const char *scmp_arch; /* the runtime-spec's, as in "archMap": "SCMP_ARCH_X86_64" */
	unsigned kernel, major; /* the running kernel's version: 6.1 of "6.1.0-18-amd64" */
} run_seccomp_host_t;

/* This machine: the architecture ctrk-run was built for (as Docker takes
 * GOARCH), the kernel uname(2) names. */
void run_seccomp_host(run_seccomp_host_t *host);

/* The built-in profile, parsed. */
cJSON *run_seccomp_default(ctrk_error_t *err);

/* PROFILE (Docker's format; WHAT names it in messages) resolved for HOST
 * and the capability set CAPS ("CAP_CHOWN", ...; Docker takes the bounding
 * set): the archMap entry of HOST's architecture becomes "architectures",
 * and each syscalls rule is kept or left out by its "includes" and
 * "excludes" (arches, caps, minKernel).  Every field is checked: a wrong
 * type, an unknown field, action, operator, architecture, capability or
 * flag is an error naming it, never a rule left out or widened.  A profile
 * with no defaultAction is refused (Docker takes "{}" as unconfined: ask
 * for that by name).  *OUT: the linux.seccomp object; the caller frees it. */
int run_seccomp_resolve(const cJSON *profile, const char *what, const run_seccomp_host_t *host,
			const char *const *caps, size_t ncaps, cJSON **out, ctrk_error_t *err);

/* Set CONFIG's linux.seccomp from O's --security-opt seccomp=SPEC (NULL
 * when not given): "unconfined" sets none; a path, that profile; else the
 * built-in one, or none with --privileged.  The capabilities are CONFIG's
 * process.capabilities.bounding.  For crun, the filter compiled ahead too,
 * in the annotation run.oci.seccomp_bpf_data.  Resolved and compiled once
 * per distinct filter, then taken from $CTRK_RUN/seccomp/ (seccomp_bpf.h);
 * linux.seccomp is then the cached text (a cJSON_Raw node). */
int run_seccomp_add(cJSON *config, const run_opts_t *o, ctrk_error_t *err);

#endif
