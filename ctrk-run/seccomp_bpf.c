/* The seccomp filter compiled ahead for crun (see seccomp_bpf.h).
 *
 * The program must be the one crun would make from linux.seccomp, byte
 * for byte, or the filter would depend on the runtime: the same libseccomp
 * calls in the same order (crun's src/libcrun/seccomp.c,
 * libcrun_generate_seccomp, 1.8): seccomp_init with the default action,
 * each architecture added, then each rule whose action is not the default
 * one, name by name (names libseccomp does not know skipped), with its
 * arguments in one rule, or one rule per argument when an argument index
 * repeats.  tests/bats/046-run-seccomp*.bats compares the two programs.
 *
 * The cache file holds a header and the program: "ctrk-bpf 1\n", the
 * program's sha256 in hex and "\n".  A file that does not match its hash
 * is compiled again: a torn or damaged program could be a valid filter
 * that allows more. */
#include "seccomp_bpf.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"
#include "json.h"
#include "paths.h"
#include "statedir.h"

#define MAGIC "ctrk-bpf 1\n"
#define HEADER_LEN (sizeof MAGIC - 1 + CTRK_DIGEST_HEX_LEN + 1)
/* A BPF program has at most 4096 instructions of 8 bytes (BPF_MAXINSNS). */
#define PROGRAM_MAX (4096 * 8)
/* Cache entries kept: one per distinct filter (capability sets, profiles). */
#define CACHE_MAX 64

/* The libseccomp functions used, from dlopen: ctrk-run does not load
 * libseccomp at each start for the few that miss the cache. */
typedef struct scmp {
	void *lib;
	scmp_filter_ctx (*init)(uint32_t);
	void (*release)(scmp_filter_ctx);
	int (*arch_add)(scmp_filter_ctx, uint32_t);
	uint32_t (*arch_resolve_name)(const char *);
	int (*syscall_resolve_name)(const char *);
	int (*rule_add_array)(scmp_filter_ctx, uint32_t, int, unsigned int, const struct scmp_arg_cmp *);
	int (*export_bpf)(const scmp_filter_ctx, int);
} scmp_t;

static int
scmp_open(scmp_t *s, ctrk_error_t *err)
{
	*s = (scmp_t){0};
	s->lib = dlopen("libseccomp.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!s->lib)
		return ctrk_error_set(err, 0, "cannot load libseccomp: %s", dlerror());
	/* POSIX's way from void * to a function pointer. */
#define SYM(field, name) *(void **)&s->field = dlsym(s->lib, name)
	SYM(init, "seccomp_init");
	SYM(release, "seccomp_release");
	SYM(arch_add, "seccomp_arch_add");
	SYM(arch_resolve_name, "seccomp_arch_resolve_name");
	SYM(syscall_resolve_name, "seccomp_syscall_resolve_name");
	SYM(rule_add_array, "seccomp_rule_add_array");
	SYM(export_bpf, "seccomp_export_bpf");
#undef SYM
	if (!s->init || !s->release || !s->arch_add || !s->arch_resolve_name || !s->syscall_resolve_name ||
	    !s->rule_add_array || !s->export_bpf) {
		dlclose(s->lib);
		s->lib = NULL;
		return ctrk_error_set(err, 0, "libseccomp lacks a function ctrk-run needs");
	}
	return 0;
}

/* The action NAME with ERRNO_RET, as libseccomp codes it; 1 when crun
 * must handle it itself (NOTIFY). */
static int
action_code(const char *name, unsigned errno_ret, uint32_t *code)
{
	static const struct {
		const char *name;
		uint32_t code;
	} plain[] = {
		{"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},		{"SCMP_ACT_KILL", SCMP_ACT_KILL},
		{"SCMP_ACT_TRAP", SCMP_ACT_TRAP},		{"SCMP_ACT_LOG", SCMP_ACT_LOG},
		{"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS}, {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
	};
	if (strcmp(name, "SCMP_ACT_ERRNO") == 0) {
		*code = SCMP_ACT_ERRNO(errno_ret);
		return 0;
	}
	if (strcmp(name, "SCMP_ACT_TRACE") == 0) {
		*code = SCMP_ACT_TRACE(errno_ret);
		return 0;
	}
	for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
		if (strcmp(name, plain[i].name) == 0) {
			*code = plain[i].code;
			return 0;
		}
	return 1;
}

static unsigned
errno_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(v) ? (unsigned)v->valuedouble : EPERM;
}

static int
op_code(const char *name, enum scmp_compare *op)
{
	static const char *const names[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
					    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
	static const enum scmp_compare codes[] = {SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE,       SCMP_CMP_EQ,
						  SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcmp(name, names[i]) == 0) {
			*op = codes[i];
			return 0;
		}
	return -1;
}

static double
number(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* One rule: every name of R with action CODE and R's arguments. */
static int
add_rule(const scmp_t *s, scmp_filter_ctx ctx, const cJSON *r, uint32_t code, ctrk_error_t *err)
{
	struct scmp_arg_cmp cmp[6];
	unsigned n = 0, count[6] = {0};
	bool repeated = false;
	const cJSON *a, *name;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(r, "args")) {
		if (n == 6)
			break;
		unsigned index = (unsigned)number(a, "index");
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(a, "op");
		if (index >= 6 || !cJSON_IsString(op) || op_code(op->valuestring, &cmp[n].op) < 0)
			return ctrk_error_set(err, 0, "a seccomp rule's argument is not as checked");
		repeated |= ++count[index] > 1;
		cmp[n].arg = index;
		cmp[n].datum_a = (uint64_t)number(a, "value");
		cmp[n].datum_b = (uint64_t)number(a, "valueTwo");
		n++;
	}
	cJSON_ArrayForEach(name, cJSON_GetObjectItemCaseSensitive(r, "names")) {
		int nr = s->syscall_resolve_name(name->valuestring);
		if (nr == __NR_SCMP_ERROR)
			continue; /* a call this libseccomp does not know: crun skips it too */
		int rc = 0;
		if (!repeated)
			rc = s->rule_add_array(ctx, code, nr, n, cmp);
		for (unsigned i = 0; repeated && i < n && rc == 0; i++)
			rc = s->rule_add_array(ctx, code, nr, 1, &cmp[i]);
		if (rc < 0)
			return ctrk_error_set(err, -rc, "libseccomp refused the rule for '%s'", name->valuestring);
	}
	return 0;
}

/* SECCOMP compiled into the memory file FD. */
static int
compile(const scmp_t *s, const cJSON *seccomp, int fd, ctrk_error_t *err)
{
	const cJSON *def = cJSON_GetObjectItemCaseSensitive(seccomp, "defaultAction"), *a, *r;
	uint32_t def_code, code;
	if (!cJSON_IsString(def) || action_code(def->valuestring, errno_of(seccomp, "defaultErrnoRet"), &def_code))
		return 1;
	scmp_filter_ctx ctx = s->init(def_code);
	if (!ctx)
		return ctrk_error_set(err, 0, "libseccomp: seccomp_init failed");
	int rc = 0;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(seccomp, "architectures")) {
		char lower[32] = {0};
		const char *arch = a->valuestring + (strncmp(a->valuestring, "SCMP_ARCH_", 10) == 0 ? 10 : 0);
		for (size_t i = 0; arch[i] && i < sizeof lower - 1; i++)
			lower[i] = (char)tolower((unsigned char)arch[i]);
		uint32_t token = s->arch_resolve_name(lower);
		int added = token ? s->arch_add(ctx, token) : -EINVAL;
		if (added < 0 && added != -EEXIST) {
			rc = ctrk_error_set(err, -added, "libseccomp: cannot add architecture '%s'", a->valuestring);
			break;
		}
	}
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(seccomp, "syscalls")) {
		if (rc != 0)
			break;
		const cJSON *action = cJSON_GetObjectItemCaseSensitive(r, "action");
		if (!cJSON_IsString(action) || (rc = action_code(action->valuestring, errno_of(r, "errnoRet"), &code)))
			break;
		if (code != def_code)
			rc = add_rule(s, ctx, r, code, err);
	}
	if (rc == 0 && (rc = s->export_bpf(ctx, fd)) < 0)
		rc = ctrk_error_set(err, -rc, "libseccomp: cannot export the filter");
	s->release(ctx);
	return rc;
}

/* The cache file's name: what the program depends on, hashed: the filter,
 * the machine (libseccomp's tables are per architecture) and the kernel
 * (libseccomp asks it what it supports), as crun's own cache key has them;
 * ctrk's version too, so that a change of how it compiles starts a new
 * entry.  Not libseccomp's version, which would mean loading it at every
 * start: a program an older one made is what crun made with it. */
static char *
cache_key(const cJSON *seccomp)
{
	cleanup_free char *text = cJSON_PrintUnformatted(seccomp);
	struct utsname u = {0};
	uname(&u);
	cleanup_free char *all =
		ctrk_strdup_printf("%s\n%s\n%s\n%s\n%s", CTRK_VERSION, u.machine, u.release, u.version, text);
	char digest[CTRK_DIGEST_LEN + 1];
	ctrk_digest_bytes(all, strlen(all), digest);
	return ctrk_xstrdup(ctrk_digest_hex(digest));
}

/* The program in the cache file PATH, if it is there whole. */
static char *
cache_read(const char *path, size_t *len)
{
	cleanup_free char *buf = NULL;
	size_t n;
	ctrk_error_t ignored;
	if (ctrk_read_file(path, HEADER_LEN + PROGRAM_MAX, &buf, &n, &ignored) < 0 || n <= HEADER_LEN ||
	    memcmp(buf, MAGIC, sizeof MAGIC - 1) != 0 || buf[HEADER_LEN - 1] != '\n' || (n - HEADER_LEN) % 8)
		return NULL;
	char digest[CTRK_DIGEST_LEN + 1];
	ctrk_digest_bytes(buf + HEADER_LEN, n - HEADER_LEN, digest);
	if (memcmp(buf + sizeof MAGIC - 1, ctrk_digest_hex(digest), CTRK_DIGEST_HEX_LEN) != 0)
		return NULL;
	*len = n - HEADER_LEN;
	char *bpf = ctrk_xcalloc(1, *len);
	memcpy(bpf, buf + HEADER_LEN, *len);
	return bpf;
}

/* Keep the cache bounded: past CACHE_MAX entries, empty it but for KEEP
 * (what is gone is compiled again when next needed).  Temporary files of
 * writers that were killed before their rename (".NAME.XXXXXX") count and
 * go too. */
static void
cache_trim(const char *dir, const char *keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	if (!d)
		return;
	while ((e = readdir(d)))
		n += !ctrk_is_dot_or_dotdot(e->d_name);
	rewinddir(d);
	while (n > CACHE_MAX && (e = readdir(d)))
		if (!ctrk_is_dot_or_dotdot(e->d_name) && strcmp(e->d_name, keep) != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static int
cache_write(const char *dir, const char *name, const char *bpf, size_t len, ctrk_error_t *err)
{
	char digest[CTRK_DIGEST_LEN + 1];
	ctrk_digest_bytes(bpf, len, digest);
	cleanup_free char *data = ctrk_xcalloc(1, HEADER_LEN + len);
	memcpy(data, MAGIC, sizeof MAGIC - 1);
	memcpy(data + sizeof MAGIC - 1, ctrk_digest_hex(digest), CTRK_DIGEST_HEX_LEN);
	data[HEADER_LEN - 1] = '\n';
	memcpy(data + HEADER_LEN, bpf, len);
	cleanup_free char *path = ctrk_strdup_printf("%s/%s", dir, name);
	/* No fsync: a crash may forget an entry, and a torn one fails its hash. */
	if (ctrk_replace_file(path, data, HEADER_LEN + len, 0600, err) < 0)
		return -1;
	cache_trim(dir, name);
	return 0;
}

int
run_seccomp_bpf(const cJSON *seccomp, const char *cache_dir, char **bpf, size_t *len, ctrk_error_t *err)
{
	*bpf = NULL;
	*len = 0;
	if (cJSON_GetObjectItemCaseSensitive(seccomp, "listenerPath"))
		return 1;
	cleanup_free char *name = cache_key(seccomp);
	cleanup_free char *path = ctrk_strdup_printf("%s/%s", cache_dir, name);
	if ((*bpf = cache_read(path, len)))
		return 0;

	scmp_t s;
	if (scmp_open(&s, err) < 0)
		return -1;
	int fd = memfd_create("ctrk-seccomp", MFD_CLOEXEC);
	int rc = fd < 0 ? ctrk_error_errno(err, "memfd_create") : compile(&s, seccomp, fd, err);
	dlclose(s.lib);
	cleanup_close int mem = fd;
	if (rc != 0)
		return rc;
	cleanup_free char *prog = NULL;
	size_t size;
	if (lseek(mem, 0, SEEK_SET) != 0 || ctrk_read_all_fd(mem, PROGRAM_MAX, &prog, &size, err) < 0)
		return ctrk_error_wrap(err, "reading the compiled filter");
	if (size == 0 || size % 8)
		return ctrk_error_set(err, 0, "libseccomp made a program of %zu bytes", size);
	/* A program that cannot be cached is still good for this start. */
	ctrk_error_t cache_err = {0};
	if (cache_write(cache_dir, name, prog, size, &cache_err) < 0)
		ctrk_warn("not caching the seccomp filter: %s", cache_err.msg);
	*len = size;
	*bpf = steal_pointer(&prog);
	return 0;
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

void
run_seccomp_bpf_annotate(cJSON *config, const char *o_runtime)
{
	const char *rt = o_runtime && *o_runtime ? o_runtime : getenv("CTRK_RUNTIME");
	const char *base = rt ? strrchr(rt, '/') : NULL;
	if (!rt || strcmp(base ? base + 1 : rt, "crun") != 0)
		return;
	const cJSON *seccomp = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(config, "linux"),
								"seccomp");
	if (!seccomp)
		return;
	ctrk_error_t err = {0};
	cleanup_free char *bpf = NULL;
	size_t len;
	if (ctrk_private_dir(ctrk_default_run(), "seccomp", &err) < 0)
		return;
	cleanup_free char *dir = ctrk_strdup_printf("%s/seccomp", ctrk_default_run());
	if (run_seccomp_bpf(seccomp, dir, &bpf, &len, &err) != 0)
		return;
	cleanup_free char *b64 = base64((const unsigned char *)bpf, len);
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(config, "annotations");
	if (!cJSON_IsObject(ann))
		ctrk_json_set(config, "annotations", ann = cJSON_CreateObject());
	ctrk_json_set(ann, "run.oci.seccomp_bpf_data", cJSON_CreateString(b64));
}
