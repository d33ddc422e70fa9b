/* Platforms: "os/arch[/variant]", normalised as containerd does
 * (x86_64 is amd64, aarch64 is arm64, arm64 without a variant is v8). */
#ifndef CTRK_PLATFORM_H
#define CTRK_PLATFORM_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "error.h"

typedef struct ctrk_platform {
	char *os;
	char *arch;
	char *variant; /* NULL when none */
} ctrk_platform_t;

int ctrk_platform_parse(const char *s, ctrk_platform_t *p, ctrk_error_t *err);
/* The platform this process runs on. */
void ctrk_platform_host(ctrk_platform_t *p);
/* Read {"os":…, "architecture":…, "variant":…} (as in an index or config). */
int ctrk_platform_from_json(const cJSON *j, ctrk_platform_t *p, ctrk_error_t *err);
/* Does CANDIDATE satisfy WANT?  os and arch must be equal after
 * normalisation; a variant in WANT must be equal too. */
bool ctrk_platform_match(const ctrk_platform_t *want, const ctrk_platform_t *candidate);
cJSON *ctrk_platform_to_json(const ctrk_platform_t *p);
char *ctrk_platform_string(const ctrk_platform_t *p); /* "linux/arm64/v8" */
void ctrk_platform_free(ctrk_platform_t *p);

#endif
