/* ctrk-run's seccomp profile resolution: the built-in profile for several
 * architectures, capability sets and kernels; Docker's include and exclude
 * rules (arches any-of, caps all-of to include and any-of to exclude,
 * minKernel); the output's shape; and the profiles refused, each naming
 * its field. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctrk-run/seccomp.h"
#include "cleanup.h"
#include "json.h"
#include "tap.h"

#define NOCAPS NULL, 0
#define CAPS(...) (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)

/* Docker's default set (ctrk-run/caps.c). */
#define DEFAULT_CAPS                                                                                        \
	CAPS("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", \
	     "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD",               \
	     "CAP_AUDIT_WRITE", "CAP_SETFCAP")

static const run_seccomp_host_t amd64 = {"amd64", "SCMP_ARCH_X86_64", 6, 1};
static const run_seccomp_host_t arm64 = {"arm64", "SCMP_ARCH_AARCH64", 6, 1};
static const run_seccomp_host_t unknown = {NULL, NULL, 6, 1};

static cJSON *
resolve_doc(const cJSON *p, const run_seccomp_host_t *h, const char *const *caps, size_t ncaps, ctrk_error_t *err)
{
	cJSON *out = NULL;
	if (run_seccomp_resolve(p, "profile", h, caps, ncaps, &out, err) < 0)
		return NULL;
	return out;
}

static cJSON *
resolve_text(const char *text, const run_seccomp_host_t *h, const char *const *caps, size_t ncaps,
	     ctrk_error_t *err)
{
	cleanup_json cJSON *p = ctrk_json_parse(text, strlen(text), "profile", err);
	return p ? resolve_doc(p, h, caps, ncaps, err) : NULL;
}

/* The first rule naming NAME, or NULL. */
static const cJSON *
rule_for(const cJSON *out, const char *name)
{
	const cJSON *r, *n;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(out, "syscalls")) {
		cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(r, "names")) {
			if (strcmp(n->valuestring, name) == 0)
				return r;
		}
	}
	return NULL;
}

static const char *
action_of(const cJSON *out, const char *name)
{
	const cJSON *r = rule_for(out, name);
	return r ? cJSON_GetObjectItemCaseSensitive(r, "action")->valuestring : NULL;
}

static char *
compact(const cJSON *j)
{
	return j ? cJSON_PrintUnformatted(j) : NULL;
}

static void
test_builtin(void)
{
	ctrk_error_t err = {0};
	cleanup_json cJSON *p = run_seccomp_default(&err);
	ok(p != NULL, "the built-in profile parses strictly (%s)", p ? "" : err.msg);
	if (!p)
		return;

	cleanup_json cJSON *out = resolve_doc(p, &amd64, DEFAULT_CAPS, &err);
	ok(out != NULL, "amd64, the default capabilities: resolves (%s)", out ? "" : err.msg);
	cleanup_free char *arches = compact(cJSON_GetObjectItemCaseSensitive(out, "architectures"));
	is_str(arches, "[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]",
	       "amd64: its archMap entry and subarchitectures");
	is_str(cJSON_GetObjectItemCaseSensitive(out, "defaultAction")->valuestring, "SCMP_ACT_ERRNO",
	       "the default action is ERRNO");
	is_str(action_of(out, "read"), "SCMP_ACT_ALLOW", "read is allowed");
	is_str(action_of(out, "arch_prctl"), "SCMP_ACT_ALLOW", "amd64: arch_prctl (arches amd64, x32) is allowed");
	ok(!rule_for(out, "arm_fadvise64_64"), "amd64: arm_fadvise64_64 (arches arm, arm64) is not");
	ok(!rule_for(out, "unshare") && !rule_for(out, "mount") && !rule_for(out, "setns"),
	   "without CAP_SYS_ADMIN: no unshare, mount, setns");
	ok(!rule_for(out, "keyctl") && !rule_for(out, "add_key") && !rule_for(out, "kexec_load"),
	   "keyctl, add_key, kexec_load are in no rule");
	ok(!rule_for(out, "clock_settime"), "without CAP_SYS_TIME: no clock_settime");
	cleanup_free char *clone3 = compact(rule_for(out, "clone3"));
	is_str(clone3, "{\"names\":[\"clone3\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}",
	       "without CAP_SYS_ADMIN: clone3 is ENOSYS (excludes caps), the non-mips rule");
	cleanup_free char *personality = compact(rule_for(out, "personality"));
	is_str(personality,
	       "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":0,"
	       "\"op\":\"SCMP_CMP_EQ\"}]}",
	       "personality: args are passed on, an empty comment, includes and excludes are not");

	cleanup_json cJSON *admin = resolve_doc(p, &amd64, CAPS("CAP_CHOWN", "CAP_SYS_ADMIN"), &err);
	is_str(action_of(admin, "unshare"), "SCMP_ACT_ALLOW", "with CAP_SYS_ADMIN: unshare is allowed");
	is_str(action_of(admin, "clone3"), "SCMP_ACT_ALLOW", "with CAP_SYS_ADMIN: clone3 too, the ENOSYS rule gone");
	ok(!rule_for(admin, "clock_settime"), "with CAP_SYS_ADMIN alone: still no clock_settime");
	cleanup_json cJSON *time_ = resolve_doc(p, &amd64, CAPS("CAP_SYS_TIME"), &err);
	is_str(action_of(time_, "clock_settime"), "SCMP_ACT_ALLOW", "with CAP_SYS_TIME: clock_settime is allowed");

	cleanup_json cJSON *arm = resolve_doc(p, &arm64, DEFAULT_CAPS, &err);
	cleanup_free char *arm_arches = compact(cJSON_GetObjectItemCaseSensitive(arm, "architectures"));
	is_str(arm_arches, "[\"SCMP_ARCH_AARCH64\",\"SCMP_ARCH_ARM\"]", "arm64: its archMap entry");
	is_str(action_of(arm, "arm_fadvise64_64"), "SCMP_ACT_ALLOW", "arm64: arm_fadvise64_64 is allowed");
	ok(!rule_for(arm, "arch_prctl"), "arm64: arch_prctl is not");

	cleanup_json cJSON *none = resolve_doc(p, &unknown, DEFAULT_CAPS, &err);
	ok(none && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(none, "architectures")) == 0,
	   "an architecture the profile does not map: no architectures (the runtime takes the native one)");
	ok(none && !rule_for(none, "arch_prctl") && rule_for(none, "read"), "and no rule tied to an architecture");

	/* ptrace: includes minKernel 4.8 (and a CAP_SYS_PTRACE rule). */
	run_seccomp_host_t old = amd64;
	old.kernel = 4, old.major = 7;
	cleanup_json cJSON *k47 = resolve_doc(p, &old, DEFAULT_CAPS, &err);
	ok(!rule_for(k47, "ptrace"), "kernel 4.7: ptrace (minKernel 4.8) is left out");
	old.major = 8;
	cleanup_json cJSON *k48 = resolve_doc(p, &old, DEFAULT_CAPS, &err);
	ok(rule_for(k48, "ptrace") != NULL, "kernel 4.8: it is in");
	old.kernel = 10, old.major = 0;
	cleanup_json cJSON *k10 = resolve_doc(p, &old, DEFAULT_CAPS, &err);
	ok(rule_for(k10, "ptrace") != NULL, "kernel 10.0: it is in (numbers, not strings, compared)");
}

/* Docker's conditions one by one, on a profile of one rule per case. */
static void
test_conditions(void)
{
	static const char profile[] = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
				      "\"architectures\":[\"SCMP_ARCH_X86_64\"],\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],"
				      "\"listenerPath\":\"/run/l.sock\",\"syscalls\":["
				      "{\"names\":[\"inc_arch\"],\"action\":\"SCMP_ACT_ALLOW\","
				      " \"includes\":{\"arches\":[\"arm64\",\"amd64\"]}},"
				      "{\"names\":[\"exc_arch\"],\"action\":\"SCMP_ACT_ALLOW\","
				      " \"excludes\":{\"arches\":[\"s390x\",\"amd64\"]}},"
				      "{\"names\":[\"inc_caps\"],\"action\":\"SCMP_ACT_ALLOW\","
				      " \"includes\":{\"caps\":[\"CAP_SYS_ADMIN\",\"CAP_NET_ADMIN\"]}},"
				      "{\"names\":[\"exc_caps\"],\"action\":\"SCMP_ACT_ALLOW\","
				      " \"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\",\"CAP_NET_ADMIN\"]}},"
				      "{\"names\":[\"exc_kernel\"],\"action\":\"SCMP_ACT_ALLOW\","
				      " \"excludes\":{\"minKernel\":\"5.4\"}},"
				      "{\"names\":[\"inc_both\"],\"action\":\"SCMP_ACT_ALLOW\","
				      " \"includes\":{\"arches\":[\"amd64\"],\"minKernel\":\"6.2\"}},"
				      "{\"name\":\"old_name\",\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13,"
				      " \"comment\":\"x\",\"includes\":{\"minKernel\":\"\"}}]}";
	ctrk_error_t err = {0};
	cleanup_json cJSON *none = resolve_text(profile, &amd64, NOCAPS, &err);
	ok(none != NULL, "the conditions profile resolves (%s)", none ? "" : err.msg);
	ok(rule_for(none, "inc_arch") && !rule_for(none, "exc_arch"), "arches: any listed one includes, excludes");
	ok(!rule_for(none, "inc_caps") && rule_for(none, "exc_caps"), "no capabilities: caps rules as for none");
	cleanup_json cJSON *one = resolve_text(profile, &amd64, CAPS("CAP_NET_ADMIN"), &err);
	ok(!rule_for(one, "inc_caps"), "includes caps: one of two is not enough");
	ok(!rule_for(one, "exc_caps"), "excludes caps: one of two is enough");
	cleanup_json cJSON *both = resolve_text(profile, &amd64, CAPS("CAP_SYS_ADMIN", "CAP_NET_ADMIN"), &err);
	ok(rule_for(both, "inc_caps") != NULL, "includes caps: both there, the rule is in");
	ok(!rule_for(none, "exc_kernel"), "excludes minKernel 5.4 on 6.1: left out");
	ok(!rule_for(none, "inc_both"), "includes amd64 and minKernel 6.2 on amd64 6.1: left out (all must hold)");
	run_seccomp_host_t k = amd64;
	k.kernel = 5, k.major = 3;
	cleanup_json cJSON *k53 = resolve_text(profile, &k, NOCAPS, &err);
	ok(rule_for(k53, "exc_kernel") != NULL, "excludes minKernel 5.4 on 5.3: in");
	k.kernel = 6, k.major = 2;
	cleanup_json cJSON *k62 = resolve_text(profile, &k, NOCAPS, &err);
	ok(rule_for(k62, "inc_both") != NULL, "includes amd64 and minKernel 6.2 on amd64 6.2: in");
	cleanup_json cJSON *arm = resolve_text(profile, &arm64, NOCAPS, &err);
	ok(rule_for(arm, "exc_arch") && rule_for(arm, "inc_arch"), "arm64: exc_arch stays, inc_arch too");

	cleanup_free char *old = compact(rule_for(none, "old_name"));
	is_str(old, "{\"names\":[\"old_name\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}",
	       "\"name\" becomes \"names\"; errnoRet kept; comment dropped; minKernel \"\" is no condition");
	cleanup_json cJSON *top = cJSON_Duplicate(none, true);
	cJSON_DeleteItemFromObjectCaseSensitive(top, "syscalls");
	cleanup_free char *head = compact(top);
	is_str(head,
	       "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,\"architectures\":[\"SCMP_ARCH_X86_64\"],"
	       "\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],\"listenerPath\":\"/run/l.sock\"}",
	       "defaultErrnoRet, architectures, flags, listenerPath passed on");
}

static void
refused(const char *text, const char *want)
{
	ctrk_error_t err = {0};
	cleanup_json cJSON *out = resolve_text(text, &amd64, DEFAULT_CAPS, &err);
	ok(!out && strstr(err.msg, want), "refused: %s (%s)", text, err.msg);
	if (out || !strstr(err.msg, want))
		printf("#   want a message holding '%s'\n", want);
}

#define RULE(x) "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[" x "]}"

static void
test_refused(void)
{
	refused("[]", "profile: the document must be an object");
	refused("{}", "profile: missing field 'defaultAction'");
	refused("{\"defaultAction\":\"SCMP_ACT_KILL\",\"defaultAction\":\"SCMP_ACT_ALLOW\"}",
		"key 'defaultAction' appears twice");
	refused("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":\"1\"}",
		"field 'defaultErrnoRet' must be a number");
	refused("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":4096}",
		"field 'defaultErrnoRet' must be an integer from 0 to 4095");
	refused("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":1}",
		"field 'defaultErrnoRet' is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE");
	refused("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultaction\":\"SCMP_ACT_ALLOW\"}",
		"profile: unknown field 'defaultaction'");
	refused("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"flags\":[\"SECCOMP_FILTER_FLAG_NONE\"]}",
		"field 'flags': unknown flag 'SECCOMP_FILTER_FLAG_NONE'");
	refused("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
		"\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\"}]}",
		"both 'architectures' and 'archMap' given");
	refused("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[\"SCMP_ARCH_X86_64\"]}",
		"profile: archMap[0]: must be an object");
	refused("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":\"SCMP_ARCH_ARM\","
		"\"subArchitectures\":[\"arm\"]}]}",
		"archMap[0]: field 'subArchitectures': unknown architecture 'arm'");
	refused("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":{}}", "field 'syscalls' must be an array");
	refused(RULE("\"read\""), "syscalls[0]: must be an object");
	refused(RULE("{\"names\":[\"read\"]}"), "syscalls[0]: missing field 'action'");
	refused(RULE("{\"action\":\"SCMP_ACT_ALLOW\"}"), "syscalls[0]: no 'names'");
	refused(RULE("{\"names\":[],\"action\":\"SCMP_ACT_ALLOW\"}"), "syscalls[0]: no 'names'");
	refused(RULE("{\"name\":\"read\",\"names\":[\"write\"],\"action\":\"SCMP_ACT_ALLOW\"}"),
		"syscalls[0]: both 'name' and 'names' given");
	refused(RULE("{\"names\":[\"read\",1],\"action\":\"SCMP_ACT_ALLOW\"}"),
		"field 'names' must be an array of strings");
	refused(RULE("{\"names\":[\"read; rm\"],\"action\":\"SCMP_ACT_ALLOW\"}"),
		"field 'names': 'read; rm' is no system call name");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"errnoRet\":1}"),
		"syscalls[0]: field 'errnoRet' is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":-1}"),
		"field 'errnoRet' must be an integer from 0 to 4095");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"x\"],\"action\":\"ALLOW\"}"),
		"syscalls[1]: field 'action': unknown action 'ALLOW'");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":[]}"),
		"syscalls[0]: field 'includes' must be an object");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"cap\":[]}}"),
		"syscalls[0].excludes: unknown field 'cap'");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"SYS_ADMIN\"]}}"),
		"syscalls[0].includes: field 'caps': unknown capability 'SYS_ADMIN'");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_sys_admin\"]}}"),
		"unknown capability 'CAP_sys_admin'");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":[\"x86_64\"]}}"),
		"syscalls[0].includes: field 'arches': unknown architecture 'x86_64'");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"4\"}}"),
		"field 'minKernel': '4' is not a version");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"0.0\"}}"),
		"field 'minKernel': '0.0' is not a version");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"minKernel\":\"4.8.1\"}}"),
		"field 'minKernel': '4.8.1' is not a version");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"minKernel\":4.8}}"),
		"syscalls[0].excludes: field 'minKernel' must be a string");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":{}}"),
		"syscalls[0]: field 'args' must be an array");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_EQ\"}]}"),
		"syscalls[0].args[0]: missing field 'value'");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1}]}"),
		"syscalls[0].args[0]: missing field 'op'");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
		     "\"args\":[{\"index\":0,\"value\":18446744073709551615,\"op\":\"SCMP_CMP_EQ\"}]}"),
		"field 'value' must be an integer");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
		     "\"args\":[{\"index\":0,\"value\":1.5,\"op\":\"SCMP_CMP_EQ\"}]}"),
		"field 'value' must be an integer");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
		     "\"args\":[{\"index\":0,\"value\":1,\"valueTwo\":-2,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}"),
		"field 'valueTwo' must be an integer from 0 to");
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\","
		     "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\",\"vaule\":2}]}"),
		"syscalls[0].args[0]: unknown field 'vaule'");
	/* Refused also where the rule would be left out here: the profile is
	 * wrong wherever it runs. */
	refused(RULE("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALOW\",\"includes\":{\"arches\":[\"s390x\"]}}"),
		"unknown action 'SCMP_ACT_ALOW'");
}

int
main(void)
{
	test_builtin();
	test_conditions();
	test_refused();
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
