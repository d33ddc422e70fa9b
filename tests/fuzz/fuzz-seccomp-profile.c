/* libFuzzer target: a seccomp profile from --security-opt seccomp=FILE,
 * read strictly and resolved (ctrk-run/seccomp.c).  Whatever the bytes,
 * no crash, leak or out-of-bounds read; what is accepted resolves to a
 * linux.seccomp whose every rule has names and a known action, and
 * resolving the same profile twice gives the same result. */
/* fuzz-sources: ctrk-run/seccomp.c ctrk-run/seccomp_profile.c ctrk-run/seccomp_bpf.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctrk-run/seccomp.h"
#include "json.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const run_seccomp_host_t host = {"amd64", "SCMP_ARCH_X86_64", 6, 1};
	static const char *const caps[] = {"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_RAW"};
	ctrk_error_t err = {0};
	cJSON *doc = ctrk_json_parse((const char *)data, size, "fuzz", &err);
	if (!doc)
		return 0;
	cJSON *out = NULL, *again = NULL;
	if (run_seccomp_resolve(doc, "fuzz", &host, caps, 3, &out, &err) == 0) {
		const cJSON *r;
		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(out, "syscalls")) {
			if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "names")) < 1 ||
			    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "action")))
				abort();
		}
		if (run_seccomp_resolve(doc, "fuzz", &host, caps, 3, &again, &err) < 0 ||
		    !cJSON_Compare(out, again, true))
			abort();
	}
	cJSON_Delete(again);
	cJSON_Delete(out);
	cJSON_Delete(doc);
	return 0;
}
