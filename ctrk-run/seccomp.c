/* The container's seccomp filter (see seccomp.h).
 *
 * A profile is checked as strictly as the descriptor: it decides which
 * system calls a hostile image may make, so a field ctrk-run did not
 * understand must not be skipped (a misspelt "excludes" would keep a rule
 * Docker leaves out), and nothing is passed on that the runtime would read
 * differently (a number a double cannot hold). */
#include "seccomp.h"

#include <cap-ng.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "paths.h"
#include "seccomp_bpf.h"
#include "statedir.h"

/* seccomp_profile.c: seccomp-default.json as it is in the tree. */
extern const char run_seccomp_default_json[], run_seccomp_default_json_end[];

/* A profile file larger than this is refused: Docker's is 14 KB. */
#define PROFILE_MAX (4u << 20)
/* The kernel's largest errno (MAX_ERRNO): a larger errnoRet is no error. */
#define ERRNO_MAX 4095
/* 2^53: the largest integer up to which a double holds every one. */
#define VALUE_MAX 9007199254740992LL

static const char *const scmp_arches[] = {
	"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
	"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
	"SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
	"SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
	NULL,
};
static const char *const filter_flags[] = {
	"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL,
};
/* libseccomp's names, which Docker's "arches" conditions use (Docker
 * 20.10's profile names the mips ones as Go's table spells them, with the
 * typo "mips3l64n32"). */
static const char *const native_arches[] = {
	"x86", "amd64", "x32", "arm", "arm64", "mips", "mipsel", "mips64", "mipsel64", "mips64n32",
	"mipsel64n32", "mips3l64n32", "ppc", "ppc64", "ppc64le", "s390", "s390x", "parisc", "parisc64",
	"riscv64", "loong64", "loongarch64", NULL,
};

/* The fields each object of a profile may have: Docker's Seccomp, Syscall,
 * Filter and the runtime-spec's LinuxSeccompArg. */
static const char *const profile_keys[] = {
	"defaultAction", "defaultErrnoRet", "architectures", "archMap", "flags", "listenerPath",
	"listenerMetadata", "syscalls", NULL,
};
static const char *const archmap_keys[] = {"architecture", "subArchitectures", NULL};
static const char *const syscall_keys[] = {"name", "names", "action", "errnoRet", "args", "comment",
					   "includes", "excludes", NULL};
static const char *const filter_keys[] = {"caps", "arches", "minKernel", NULL};
static const char *const arg_keys[] = {"index", "value", "valueTwo", "op", NULL};

static bool
in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static char *
base64(const unsigned char *p, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = ctrk_xcalloc(1, (n + 2) / 3 * 4 + 1), *o = out;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		*o++ = t[v >> 18 & 63];
		*o++ = t[v >> 12 & 63];
		*o++ = i + 1 < n ? t[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? t[v & 63] : '=';
	}
	return out;
}

/* ---- the host --------------------------------------------------------- */

void
run_seccomp_host(run_seccomp_host_t *host)
{
	*host = (run_seccomp_host_t){0};
#if defined(__x86_64__) && defined(__ILP32__)
	host->arch = "x32", host->scmp_arch = "SCMP_ARCH_X32";
#elif defined(__x86_64__)
	host->arch = "amd64", host->scmp_arch = "SCMP_ARCH_X86_64";
#elif defined(__i386__)
	host->arch = "x86", host->scmp_arch = "SCMP_ARCH_X86";
#elif defined(__aarch64__)
	host->arch = "arm64", host->scmp_arch = "SCMP_ARCH_AARCH64";
#elif defined(__arm__)
	host->arch = "arm", host->scmp_arch = "SCMP_ARCH_ARM";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	host->arch = "ppc64le", host->scmp_arch = "SCMP_ARCH_PPC64LE";
#elif defined(__powerpc64__)
	host->arch = "ppc64", host->scmp_arch = "SCMP_ARCH_PPC64";
#elif defined(__s390x__)
	host->arch = "s390x", host->scmp_arch = "SCMP_ARCH_S390X";
#elif defined(__riscv) && __riscv_xlen == 64
	host->arch = "riscv64", host->scmp_arch = "SCMP_ARCH_RISCV64";
#elif defined(__loongarch64)
	host->arch = "loongarch64", host->scmp_arch = "SCMP_ARCH_LOONGARCH64";
#endif
	struct utsname u;
	if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &host->kernel, &host->major) != 2)
		host->kernel = host->major = 0;
}

/* ---- checking fields -------------------------------------------------- */

static int
check_keys(const cJSON *obj, const char *const *keys, const char *what, ctrk_error_t *err)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, obj) {
		if (!in_list(keys, c->string))
			return ctrk_error_set(err, 0, "%s: unknown field '%s'", what, c->string);
	}
	return 0;
}

/* OBJ[KEY], a string from LIST, into *OUT (left alone when absent). */
static int
get_name(const cJSON *obj, const char *key, bool required, const char *const *list, const char *kind,
	 const char **out, const char *what, ctrk_error_t *err)
{
	const char *s = NULL;
	if (ctrk_json_get_string(obj, key, required, &s, what, err) < 0)
		return -1;
	if (s && !in_list(list, s))
		return ctrk_error_set(err, 0, "%s: field '%s': unknown %s '%s'", what, key, kind, s);
	if (s)
		*out = s;
	return 0;
}

/* OBJ[KEY], an array of strings each from LIST (any string when LIST is
 * NULL), into *OUT (left alone when absent or null). */
static int
get_names(const cJSON *obj, const char *key, const char *const *list, const char *kind, const cJSON **out,
	  const char *what, ctrk_error_t *err)
{
	const cJSON *a = NULL, *s;
	if (ctrk_json_get_string_array(obj, key, false, &a, what, err) < 0)
		return -1;
	cJSON_ArrayForEach(s, a) {
		if (list && !in_list(list, s->valuestring))
			return ctrk_error_set(err, 0, "%s: field '%s': unknown %s '%s'", what, key, kind,
					      s->valuestring);
	}
	if (a)
		*out = a;
	return 0;
}

/* OBJ[KEY], an integer in [0, MAX], into *OUT; *GIVEN says whether there
 * was one. */
static int
get_uint(const cJSON *obj, const char *key, long long max, long long *out, bool *given, const char *what,
	 ctrk_error_t *err)
{
	long long v = -1;
	if (ctrk_json_get_int64(obj, key, false, &v, what, err) < 0)
		return -1;
	*given = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(obj, key));
	if (*given && (v < 0 || v > max))
		return ctrk_error_set(err, 0, "%s: field '%s' must be an integer from 0 to %lld", what, key, max);
	if (*given)
		*out = v;
	return 0;
}

/* "CAP_SYS_ADMIN": a name libcap-ng knows, with the prefix and in capitals
 * as config.json has them. */
static bool
cap_known(const char *name)
{
	if (strncmp(name, "CAP_", 4) != 0 || capng_name_to_capability(name + 4) < 0)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

/* A system call's name: what the runtimes look up in libseccomp's table. */
static bool
syscall_name_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* ---- conditions ------------------------------------------------------- */

/* A filter's conditions as they hold here. */
typedef struct cond {
	bool arch_listed, arch_match; /* "arches" given; HOST's among them */
	bool caps_listed, caps_all, caps_any;
	bool kernel_listed, kernel_reached;
} cond_t;

static bool
has_cap(const char *cap, const char *const *caps, size_t ncaps)
{
	for (size_t i = 0; i < ncaps; i++)
		if (strcmp(caps[i], cap) == 0)
			return true;
	return false;
}

/* "4.8": Docker's "<kernel>.<major>", each below 256, not 0.0. */
static int
parse_min_kernel(const char *s, unsigned *kernel, unsigned *major)
{
	char *end;
	unsigned long k, m;
	if (*s < '0' || *s > '9')
		return -1;
	k = strtoul(s, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return -1;
	m = strtoul(end + 1, &end, 10);
	if (*end || k > 255 || m > 255 || (k == 0 && m == 0))
		return -1;
	*kernel = (unsigned)k;
	*major = (unsigned)m;
	return 0;
}

/* The "includes" or "excludes" object OBJ[KEY], checked, as it holds for
 * HOST and CAPS; *GIVEN says whether there is one. */
static int
read_filter(const cJSON *obj, const char *key, const run_seccomp_host_t *host, const char *const *caps,
	    size_t ncaps, cond_t *c, bool *given, const char *what, ctrk_error_t *err)
{
	const cJSON *f = NULL, *arches = NULL, *fcaps = NULL, *s;
	const char *min = NULL;
	*c = (cond_t){.caps_all = true};
	if (ctrk_json_get_object(obj, key, false, &f, what, err) < 0)
		return -1;
	*given = f != NULL;
	if (!f)
		return 0;
	cleanup_free char *fwhat = ctrk_strdup_printf("%s.%s", what, key);
	if (check_keys(f, filter_keys, fwhat, err) < 0 ||
	    get_names(f, "arches", native_arches, "architecture", &arches, fwhat, err) < 0 ||
	    get_names(f, "caps", NULL, NULL, &fcaps, fwhat, err) < 0 ||
	    ctrk_json_get_string(f, "minKernel", false, &min, fwhat, err) < 0)
		return -1;
	cJSON_ArrayForEach(s, arches) {
		c->arch_listed = true;
		c->arch_match |= host->arch && strcmp(s->valuestring, host->arch) == 0;
	}
	cJSON_ArrayForEach(s, fcaps) {
		if (!cap_known(s->valuestring))
			return ctrk_error_set(err, 0, "%s: field 'caps': unknown capability '%s'", fwhat,
					      s->valuestring);
		bool has = has_cap(s->valuestring, caps, ncaps);
		c->caps_listed = true;
		c->caps_all &= has;
		c->caps_any |= has;
	}
	/* "" is Docker's "no condition". */
	if (min && *min) {
		unsigned k, m;
		if (parse_min_kernel(min, &k, &m) < 0)
			return ctrk_error_set(err, 0, "%s: field 'minKernel': '%s' is not a version \"KERNEL.MAJOR\"",
					      fwhat, min);
		c->kernel_listed = true;
		c->kernel_reached = host->kernel > k || (host->kernel == k && host->major >= m);
	}
	return 0;
}

/* Whether rule R is in the filter here: Docker's setupSeccomp.  An
 * exclusion holds when HOST's architecture is listed, or any listed
 * capability is in CAPS, or the kernel is at least minKernel; an inclusion
 * needs each that is given: the architecture listed, every capability,
 * the kernel. */
static int
rule_applies(const cJSON *r, const run_seccomp_host_t *host, const char *const *caps, size_t ncaps, bool *applies,
	     const char *what, ctrk_error_t *err)
{
	cond_t inc, exc;
	bool has_inc, has_exc;
	if (read_filter(r, "includes", host, caps, ncaps, &inc, &has_inc, what, err) < 0 ||
	    read_filter(r, "excludes", host, caps, ncaps, &exc, &has_exc, what, err) < 0)
		return -1;
	bool excluded = has_exc && ((exc.arch_listed && exc.arch_match) || (exc.caps_listed && exc.caps_any) ||
				    (exc.kernel_listed && exc.kernel_reached));
	bool included = !has_inc || ((!inc.arch_listed || inc.arch_match) && (!inc.caps_listed || inc.caps_all) &&
				     (!inc.kernel_listed || inc.kernel_reached));
	*applies = !excluded && included;
	return 0;
}

/* ---- rules ------------------------------------------------------------ */

/* ARGS (an array of {index, value, valueTwo, op}) checked and copied. */
static int
args_build(const cJSON *args, cJSON **out, const char *what, ctrk_error_t *err)
{
	cleanup_json cJSON *a = cJSON_CreateArray();
	const cJSON *arg;
	size_t i = 0;
	cJSON_ArrayForEach(arg, args) {
		cleanup_free char *awhat = ctrk_strdup_printf("%s.args[%zu]", what, i++);
		long long index = 0, value = 0, two = 0;
		bool given_index, given_value, given_two;
		const char *op = NULL;
		if (!cJSON_IsObject(arg))
			return ctrk_error_set(err, 0, "%s: must be an object", awhat);
		if (check_keys(arg, arg_keys, awhat, err) < 0 ||
		    get_uint(arg, "index", 5, &index, &given_index, awhat, err) < 0 ||
		    get_uint(arg, "value", VALUE_MAX, &value, &given_value, awhat, err) < 0 ||
		    get_uint(arg, "valueTwo", VALUE_MAX, &two, &given_two, awhat, err) < 0 ||
		    get_name(arg, "op", true, run_seccomp_operators, "operator", &op, awhat, err) < 0)
			return -1;
		if (!given_index || !given_value)
			return ctrk_error_set(err, 0, "%s: missing field '%s'", awhat, given_index ? "value" : "index");
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "index", (double)index);
		cJSON_AddNumberToObject(o, "value", (double)value);
		if (given_two)
			cJSON_AddNumberToObject(o, "valueTwo", (double)two);
		cJSON_AddStringToObject(o, "op", op);
		cJSON_AddItemToArray(a, o);
	}
	*out = steal_pointer(&a);
	return 0;
}

/* Rule R (syscalls[I]) checked; into SYSCALLS when it applies here. */
static int
rule_build(const cJSON *r, size_t i, const run_seccomp_host_t *host, const char *const *caps, size_t ncaps,
	   cJSON *syscalls, const char *what, ctrk_error_t *err)
{
	cleanup_free char *rwhat = ctrk_strdup_printf("%s: syscalls[%zu]", what, i);
	const cJSON *names = NULL, *args = NULL, *s;
	const char *name = NULL, *action = NULL, *comment = NULL;
	long long errno_ret = 0;
	bool given_errno, applies;
	if (!cJSON_IsObject(r))
		return ctrk_error_set(err, 0, "%s: must be an object", rwhat);
	if (check_keys(r, syscall_keys, rwhat, err) < 0 || ctrk_json_get_string(r, "name", false, &name, rwhat, err) < 0 ||
	    get_names(r, "names", NULL, NULL, &names, rwhat, err) < 0 ||
	    get_name(r, "action", true, run_seccomp_actions, "action", &action, rwhat, err) < 0 ||
	    get_uint(r, "errnoRet", ERRNO_MAX, &errno_ret, &given_errno, rwhat, err) < 0 ||
	    ctrk_json_get_array(r, "args", false, &args, rwhat, err) < 0 ||
	    ctrk_json_get_string(r, "comment", false, &comment, rwhat, err) < 0)
		return -1;
	if (name && *name && cJSON_GetArraySize(names))
		return ctrk_error_set(err, 0, "%s: both 'name' and 'names' given", rwhat);
	if (!(name && *name) && !cJSON_GetArraySize(names))
		return ctrk_error_set(err, 0, "%s: no 'names'", rwhat);
	cJSON_ArrayForEach(s, names) {
		if (!syscall_name_ok(s->valuestring))
			return ctrk_error_set(err, 0, "%s: field 'names': '%s' is no system call name", rwhat,
					      s->valuestring);
	}
	if (name && *name && !syscall_name_ok(name))
		return ctrk_error_set(err, 0, "%s: field 'name': '%s' is no system call name", rwhat, name);
	if (given_errno && strcmp(action, "SCMP_ACT_ERRNO") != 0 && strcmp(action, "SCMP_ACT_TRACE") != 0)
		return ctrk_error_set(err, 0, "%s: field 'errnoRet' is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE",
				      rwhat);
	cJSON *oargs = NULL;
	if (rule_applies(r, host, caps, ncaps, &applies, rwhat, err) < 0 || args_build(args, &oargs, rwhat, err) < 0)
		return -1;
	if (!applies) {
		cJSON_Delete(oargs);
		return 0;
	}
	cJSON *o = cJSON_CreateObject();
	if (names)
		cJSON_AddItemToObject(o, "names", cJSON_Duplicate(names, true));
	else
		cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "names"), cJSON_CreateString(name));
	cJSON_AddStringToObject(o, "action", action);
	if (given_errno)
		cJSON_AddNumberToObject(o, "errnoRet", (double)errno_ret);
	if (cJSON_GetArraySize(oargs))
		cJSON_AddItemToObject(o, "args", oargs);
	else
		cJSON_Delete(oargs);
	cJSON_AddItemToArray(syscalls, o);
	return 0;
}

/* "architectures" of the profile, or of HOST's archMap entry: the
 * architecture and its subArchitectures (none when HOST's is not there:
 * the runtime then filters the native one alone, as with Docker). */
static int
arches_build(const cJSON *p, const run_seccomp_host_t *host, cJSON *out, const char *what, ctrk_error_t *err)
{
	const cJSON *arches = NULL, *map = NULL, *m, *s;
	if (get_names(p, "architectures", scmp_arches, "architecture", &arches, what, err) < 0 ||
	    ctrk_json_get_array(p, "archMap", false, &map, what, err) < 0)
		return -1;
	if (cJSON_GetArraySize(arches) && cJSON_GetArraySize(map))
		return ctrk_error_set(err, 0, "%s: both 'architectures' and 'archMap' given", what);
	cJSON_ArrayForEach(s, arches)
		cJSON_AddItemToArray(out, cJSON_CreateString(s->valuestring));
	size_t i = 0;
	bool found = false;
	cJSON_ArrayForEach(m, map) {
		cleanup_free char *mwhat = ctrk_strdup_printf("%s: archMap[%zu]", what, i++);
		const char *arch = NULL;
		const cJSON *subs = NULL;
		if (!cJSON_IsObject(m))
			return ctrk_error_set(err, 0, "%s: must be an object", mwhat);
		if (check_keys(m, archmap_keys, mwhat, err) < 0 ||
		    get_name(m, "architecture", true, scmp_arches, "architecture", &arch, mwhat, err) < 0 ||
		    get_names(m, "subArchitectures", scmp_arches, "architecture", &subs, mwhat, err) < 0)
			return -1;
		if (found || !host->scmp_arch || strcmp(arch, host->scmp_arch) != 0)
			continue;
		found = true;
		cJSON_AddItemToArray(out, cJSON_CreateString(arch));
		cJSON_ArrayForEach(s, subs)
			cJSON_AddItemToArray(out, cJSON_CreateString(s->valuestring));
	}
	return 0;
}

int
run_seccomp_resolve(const cJSON *p, const char *what, const run_seccomp_host_t *host, const char *const *caps,
		    size_t ncaps, cJSON **out, ctrk_error_t *err)
{
	const cJSON *syscalls = NULL, *flags = NULL, *r;
	const char *action = NULL, *listener = NULL, *metadata = NULL;
	long long errno_ret = 0;
	bool given_errno;
	*out = NULL;
	if (!cJSON_IsObject(p))
		return ctrk_error_set(err, 0, "%s: the document must be an object", what);
	if (check_keys(p, profile_keys, what, err) < 0 ||
	    get_name(p, "defaultAction", true, run_seccomp_actions, "action", &action, what, err) < 0 ||
	    get_uint(p, "defaultErrnoRet", ERRNO_MAX, &errno_ret, &given_errno, what, err) < 0 ||
	    get_names(p, "flags", filter_flags, "flag", &flags, what, err) < 0 ||
	    ctrk_json_get_string(p, "listenerPath", false, &listener, what, err) < 0 ||
	    ctrk_json_get_string(p, "listenerMetadata", false, &metadata, what, err) < 0 ||
	    ctrk_json_get_array(p, "syscalls", false, &syscalls, what, err) < 0)
		return -1;
	if (given_errno && strcmp(action, "SCMP_ACT_ERRNO") != 0 && strcmp(action, "SCMP_ACT_TRACE") != 0)
		return ctrk_error_set(err, 0,
				      "%s: field 'defaultErrnoRet' is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE", what);

	cleanup_json cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "defaultAction", action);
	if (given_errno)
		cJSON_AddNumberToObject(o, "defaultErrnoRet", (double)errno_ret);
	if (arches_build(p, host, cJSON_AddArrayToObject(o, "architectures"), what, err) < 0)
		return -1;
	if (flags)
		cJSON_AddItemToObject(o, "flags", cJSON_Duplicate(flags, true));
	if (listener && *listener)
		cJSON_AddStringToObject(o, "listenerPath", listener);
	if (metadata && *metadata)
		cJSON_AddStringToObject(o, "listenerMetadata", metadata);
	cJSON *rules = cJSON_AddArrayToObject(o, "syscalls");
	size_t i = 0;
	cJSON_ArrayForEach(r, syscalls) {
		if (rule_build(r, i++, host, caps, ncaps, rules, what, err) < 0)
			return -1;
	}
	*out = steal_pointer(&o);
	return 0;
}

cJSON *
run_seccomp_default(ctrk_error_t *err)
{
	return ctrk_json_parse(run_seccomp_default_json,
			       (size_t)(run_seccomp_default_json_end - run_seccomp_default_json),
			       "the built-in seccomp profile", err);
}

/* Is the runtime ctrk-run will use crun (O_RUNTIME: --runtime, else
 * $CTRK_RUNTIME)? */
static bool
runtime_is_crun(const char *o_runtime)
{
	const char *rt = o_runtime && *o_runtime ? o_runtime : getenv("CTRK_RUNTIME");
	const char *base = rt ? strrchr(rt, '/') : NULL;
	return rt && strcmp(base ? base + 1 : rt, "crun") == 0;
}

/* The cache entry for PROFILE (LEN bytes, WHAT names it; NULL: the
 * built-in one) and CAPS: resolved, and compiled for crun.  A filter that
 * cannot be compiled here is no failure: the runtime compiles it. */
static int
entry_build(const char *profile, size_t len, const char *what, const char *const *caps, size_t ncaps,
	    run_seccomp_entry_t *e, ctrk_error_t *err)
{
	cleanup_json cJSON *p = NULL;
	if (!profile)
		p = run_seccomp_default(err);
	else if (!(p = ctrk_json_parse(profile, len, what, err)))
		ctrk_error_wrap(err, "reading the seccomp profile");
	if (!p)
		return -1;
	run_seccomp_host_t host;
	run_seccomp_host(&host);
	cleanup_free char *swhat = profile ? ctrk_strdup_printf("seccomp profile '%s'", what) : NULL;
	cleanup_json cJSON *seccomp = NULL;
	if (run_seccomp_resolve(p, swhat ? swhat : "the built-in seccomp profile", &host, caps, ncaps, &seccomp,
				err) < 0)
		return -1;
	*e = (run_seccomp_entry_t){.json = cJSON_PrintUnformatted(seccomp)};
	if (!e->json)
		return ctrk_error_set(err, ENOMEM, "rendering the seccomp filter");
	ctrk_error_t compile_err = {0};
	int rc = run_seccomp_compile(seccomp, RUN_SECCOMP_TREE, &e->bpf, &e->bpf_len, &compile_err);
	return rc < 0 ? 1 : 0;
}

int
run_seccomp_add(cJSON *config, const run_opts_t *o, ctrk_error_t *err)
{
	const char *spec = o->seccomp;
	if (spec ? strcmp(spec, "unconfined") == 0 : o->privileged)
		return 0;
	cleanup_free char *profile = NULL;
	size_t len = 0;
	if (spec && ctrk_read_file(spec, PROFILE_MAX, &profile, &len, err) < 0)
		return ctrk_error_wrap(err, "reading the seccomp profile");

	/* The capabilities process_build put there; Docker too takes the
	 * bounding set. */
	const cJSON *process = cJSON_GetObjectItemCaseSensitive(config, "process");
	const cJSON *caps = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(process, "capabilities"), "bounding");
	size_t ncaps = 0;
	const cJSON *c;
	cleanup_free const char **names = ctrk_xcalloc((size_t)cJSON_GetArraySize(caps) + 1, sizeof *names);
	cJSON_ArrayForEach(c, caps) {
		if (cJSON_IsString(c))
			names[ncaps++] = c->valuestring;
	}

	/* The filter as an earlier start resolved and compiled it, else made
	 * now; a cache that cannot be used or kept only costs time. */
	ctrk_error_t cache_err = {0};
	cleanup_free char *dir = ctrk_private_dir(ctrk_default_run(), "seccomp", &cache_err) < 0
					 ? NULL
					 : ctrk_strdup_printf("%s/seccomp", ctrk_default_run());
	cleanup_free char *key = run_seccomp_cache_key(profile, len, names, ncaps);
	run_seccomp_entry_t e = {0};
	if (!dir || run_seccomp_cache_read(dir, key, &e) < 0) {
		int rc = entry_build(profile, len, spec, names, ncaps, &e, err);
		if (rc < 0)
			return -1;
		if (rc == 0 && dir && run_seccomp_cache_write(dir, key, &e, &cache_err) < 0)
			ctrk_warn("not caching the seccomp filter: %s", cache_err.msg);
	}

	/* The resolved filter goes into config.json as the text it was
	 * cached as: it is not read again here. */
	cJSON *linux_ = cJSON_GetObjectItemCaseSensitive(config, "linux");
	if (!cJSON_IsObject(linux_))
		ctrk_json_set(config, "linux", linux_ = cJSON_CreateObject());
	ctrk_json_set(linux_, "seccomp", cJSON_CreateRaw(e.json));
	if (e.bpf && runtime_is_crun(o->runtime)) {
		cleanup_free char *b64 = base64((const unsigned char *)e.bpf, e.bpf_len);
		cJSON *ann = cJSON_GetObjectItemCaseSensitive(config, "annotations");
		if (!cJSON_IsObject(ann))
			ctrk_json_set(config, "annotations", ann = cJSON_CreateObject());
		ctrk_json_set(ann, "run.oci.seccomp_bpf_data", cJSON_CreateString(b64));
	}
	run_seccomp_entry_free(&e);
	return 0;
}
