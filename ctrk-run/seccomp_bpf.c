/* The seccomp filter resolved and compiled once (see seccomp_bpf.h).
 *
 * The program is made with the libseccomp calls crun makes, in the same
 * order (crun's src/libcrun/seccomp.c, libcrun_generate_seccomp, 1.8):
 * seccomp_init with the default action, each architecture added, then
 * each rule whose action is not the default one, name by name (names
 * libseccomp does not know skipped), with its arguments in one rule, or
 * one rule per argument when an argument index repeats.  In the LINEAR
 * layout that is crun's own program byte for byte; in the TREE layout the
 * same rules are laid out as a binary tree, and the program must give the
 * same action as crun's for every call: tests/unit/test-run-seccomp-bpf.c
 * runs both in an emulator for every call number of each architecture and
 * the argument values the rules test, and tests/bats/046-run-seccomp*.bats
 * does so against the program crun compiles itself.
 *
 * A cache entry is a file named by its key: "ctrk-seccomp 1\n", then
 * "CHECK JSONLEN BPFLEN\n" (CHECK: 16 hex digits), the resolved filter's
 * JSON and its program (none when BPFLEN is 0: crun compiles it).  An
 * entry whose length or check does not match is made again: a torn or
 * damaged program could be a valid filter that allows more. */
#include "seccomp_bpf.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <link.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fsutil.h"

/* seccomp_profile.c: seccomp-default.json as it is in the tree. */
extern const char run_seccomp_default_json[], run_seccomp_default_json_end[];

#define MAGIC "ctrk-seccomp 1\n"
/* MAGIC, then "CHECK JSONLEN BPFLEN\n": 16 + 1 + 10 + 1 + 10 + 1 at most. */
#define HEADER_MAX (sizeof MAGIC - 1 + 39)
/* A BPF program has at most 4096 instructions of 8 bytes (BPF_MAXINSNS). */
#define PROGRAM_MAX (4096 * 8)
/* The resolved filter's JSON: a profile is at most 4 MiB (seccomp.c). */
#define JSON_MAX (8u << 20)
/* Cache entries kept: one per distinct filter (capability sets, profiles). */
#define CACHE_MAX 64

/* ---- compiling -------------------------------------------------------- */

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
	int (*attr_set)(scmp_filter_ctx, enum scmp_filter_attr, uint32_t);
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
	SYM(attr_set, "seccomp_attr_set");
#undef SYM
	if (!s->init || !s->release || !s->arch_add || !s->arch_resolve_name || !s->syscall_resolve_name ||
	    !s->rule_add_array || !s->export_bpf || !s->attr_set) {
		dlclose(s->lib);
		s->lib = NULL;
		return ctrk_error_set(err, 0, "libseccomp lacks a function ctrk-run needs");
	}
	return 0;
}

const char *const run_seccomp_actions[] = {
	"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
	"SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", NULL,
};
/* libseccomp's codes of run_seccomp_actions; ERRNO and TRACE take the
 * errno in their low 16 bits; CRUN_OWN: crun must handle it itself (a
 * listener).  (SCMP_ACT_KILL is 0.) */
#define CRUN_OWN UINT32_MAX
static const uint32_t action_codes[] = {
	SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO(0),
	SCMP_ACT_TRACE(0), SCMP_ACT_ALLOW, SCMP_ACT_LOG, CRUN_OWN,
};
const char *const run_seccomp_operators[] = {
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
	"SCMP_CMP_MASKED_EQ", NULL,
};
static const enum scmp_compare operator_codes[] = {
	SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ,
};
_Static_assert(sizeof run_seccomp_actions / sizeof *run_seccomp_actions ==
		       sizeof action_codes / sizeof *action_codes + 1,
	       "an action without its code");
_Static_assert(sizeof run_seccomp_operators / sizeof *run_seccomp_operators ==
		       sizeof operator_codes / sizeof *operator_codes + 1,
	       "an operator without its code");

/* The action NAME with ERRNO_RET, as libseccomp codes it; 1 when crun
 * must handle it itself (NOTIFY), or NAME is none. */
static int
action_code(const char *name, unsigned errno_ret, uint32_t *code)
{
	for (size_t i = 0; run_seccomp_actions[i]; i++)
		if (strcmp(name, run_seccomp_actions[i]) == 0) {
			bool with_errno = action_codes[i] == SCMP_ACT_ERRNO(0) || action_codes[i] == SCMP_ACT_TRACE(0);
			*code = action_codes[i] | (with_errno ? errno_ret & 0xffff : 0);
			return action_codes[i] == CRUN_OWN ? 1 : 0;
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
	for (size_t i = 0; run_seccomp_operators[i]; i++)
		if (strcmp(name, run_seccomp_operators[i]) == 0) {
			*op = operator_codes[i];
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

/* One rule: every name of R with action CODE and R's arguments; *ADDED
 * counts the rules libseccomp took. */
static int
add_rule(const scmp_t *s, scmp_filter_ctx ctx, const cJSON *r, uint32_t code, unsigned *added, ctrk_error_t *err)
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
		(*added)++;
	}
	return 0;
}

/* SECCOMP compiled in LAYOUT into the memory file FD. */
static int
compile(const scmp_t *s, const cJSON *seccomp, run_seccomp_layout_t layout, int fd, ctrk_error_t *err)
{
	const cJSON *def = cJSON_GetObjectItemCaseSensitive(seccomp, "defaultAction"), *a, *r;
	uint32_t def_code, code;
	unsigned added = 0;
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
		int ret = token ? s->arch_add(ctx, token) : -EINVAL;
		if (ret < 0 && ret != -EEXIST) {
			rc = ctrk_error_set(err, -ret, "libseccomp: cannot add architecture '%s'", a->valuestring);
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
			rc = add_rule(s, ctx, r, code, &added, err);
	}
	/* A libseccomp without the attribute (before 2.5.0) refuses it: the
	 * program is then crun's own, which is as good, only slower to load. */
	if (rc == 0 && layout == RUN_SECCOMP_TREE && added > RUN_SECCOMP_TREE_MIN)
		(void)s->attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc == 0 && (rc = s->export_bpf(ctx, fd)) < 0)
		rc = ctrk_error_set(err, -rc, "libseccomp: cannot export the filter");
	s->release(ctx);
	return rc;
}

int
run_seccomp_compile(const cJSON *seccomp, run_seccomp_layout_t layout, char **bpf, size_t *len, ctrk_error_t *err)
{
	*bpf = NULL;
	*len = 0;
	if (cJSON_GetObjectItemCaseSensitive(seccomp, "listenerPath"))
		return 1;
	scmp_t s;
	if (scmp_open(&s, err) < 0)
		return -1;
	int fd = memfd_create("ctrk-seccomp", MFD_CLOEXEC);
	int rc = fd < 0 ? ctrk_error_errno(err, "memfd_create") : compile(&s, seccomp, layout, fd, err);
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
	*len = size;
	*bpf = steal_pointer(&prog);
	return 0;
}

/* ---- the cache -------------------------------------------------------- */

void
run_seccomp_entry_free(run_seccomp_entry_t *e)
{
	free(e->json);
	free(e->bpf);
	*e = (run_seccomp_entry_t){0};
}

/* The GNU build-id note of PT_NOTE segment P of the object INFO. */
static int
build_id_in(const struct dl_phdr_info *info, const ElfW(Phdr) *p, char *hex, size_t size)
{
	size_t align = p->p_align > 4 ? p->p_align : 4, off = 0;
	const unsigned char *notes = (const unsigned char *)(info->dlpi_addr + p->p_vaddr);
	while (off + sizeof(ElfW(Nhdr)) <= p->p_memsz) {
		const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)(notes + off);
		size_t name = off + sizeof *n, desc = name + ((n->n_namesz + align - 1) & ~(align - 1));
		off = desc + ((n->n_descsz + align - 1) & ~(align - 1));
		if (off > p->p_memsz)
			break;
		if (n->n_type != NT_GNU_BUILD_ID || n->n_namesz != 4 || memcmp(notes + name, "GNU", 4) != 0 ||
		    n->n_descsz == 0 || n->n_descsz * 2 >= size)
			continue;
		for (size_t i = 0; i < n->n_descsz; i++)
			snprintf(hex + 2 * i, 3, "%02x", notes[desc + i]);
		return 1;
	}
	return 0;
}

/* dl_iterate_phdr's first object is the program itself. */
static int
build_id_of_program(struct dl_phdr_info *info, size_t size, void *hex)
{
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_NOTE && build_id_in(info, &info->dlpi_phdr[i], hex, 129))
			break;
	return 1;
}

/* What an entry depends on, hashed:
 *   - ctrk-run itself, by its GNU build-id: the linker's hash of its code,
 *     the built-in profile included, so that a rebuild (a change of how
 *     it resolves or compiles, or of the profile) starts new entries; a
 *     binary linked without one is named by its version, and its profile
 *     is hashed;
 *   - the machine and the kernel (minKernel conditions; libseccomp asks
 *     the kernel what it supports), as crun's own cache key has them;
 *   - the capabilities, in their order, and the profile of a file, whole.
 * Not libseccomp's version, which would mean loading it at every start:
 * a program an older one made is what crun made with it. */
char *
run_seccomp_cache_key(const char *profile, size_t len, const char *const *caps, size_t ncaps)
{
	char id[129] = "";
	struct utsname u = {0};
	bool builtin = profile == NULL;
	dl_iterate_phdr(build_id_of_program, id);
	uname(&u);
	if (builtin && !*id) {
		profile = run_seccomp_default_json;
		len = (size_t)(run_seccomp_default_json_end - run_seccomp_default_json);
	}
	size_t ncap_bytes = 0;
	for (size_t i = 0; i < ncaps; i++)
		ncap_bytes += strlen(caps[i]) + 1;
	cleanup_free char *head = ctrk_strdup_printf("%s%s %s\n%s\n%s\n%s\n%zu\n", MAGIC, *id ? "build-id" : "version",
						   *id ? id : CTRK_VERSION, u.machine, u.release, u.version, ncaps);
	size_t hlen = strlen(head), plen = builtin && *id ? 0 : len;
	cleanup_free char *all = ctrk_xcalloc(1, hlen + ncap_bytes + 16 + plen);
	char *p = all;
	memcpy(p, head, hlen);
	p += hlen;
	for (size_t i = 0; i < ncaps; i++)
		p = stpcpy(p, caps[i]) + 1; /* each with its NUL: no two lists join alike */
	p += sprintf(p, "%s\n", builtin ? "built-in" : "file");
	if (plen)
		memcpy(p, profile, plen);
	char digest[CTRK_DIGEST_LEN + 1];
	ctrk_digest_bytes(all, (size_t)(p - all) + plen, digest);
	return ctrk_xstrdup(ctrk_digest_hex(digest));
}

/* A check against damage, not against an attacker, who would need to be
 * root to write in the cache and could then replace ctrk-run itself: a
 * multiply-rotate hash of 8-byte words, with a last mix (MurmurHash3's).
 * Each step is a bijection of the state for a given word, so a change
 * within one word always shows; any other damage goes unseen with odds of
 * 2^-64.  The sha256 this replaces took 70 µs of each start for 17 KB
 * (mbedtls has no SHA-NI code); this takes a few. */
static uint64_t
damage_check(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0x9e3779b97f4a7c15u ^ len, w;
	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h ^= w;
		h *= 0x87c37b91114253d5u;
		h = h << 31 | h >> 33;
	}
	w = 0;
	memcpy(&w, p, len);
	h ^= w;
	h *= 0x4cf5ad432745937fu;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53u;
	return h ^ h >> 33;
}

/* "CHECK JSONLEN BPFLEN\n" at P: *HEADER its length. */
static int
parse_header(const char *p, uint64_t *check, size_t *json_len, size_t *bpf_len, size_t *header)
{
	const char *s = p;
	char *end;
	unsigned long long v[3];
	for (int i = 0; i < 3; i++) {
		if (!isxdigit((unsigned char)*s))
			return -1;
		errno = 0;
		v[i] = strtoull(s, &end, i == 0 ? 16 : 10);
		if (errno || *end != (i < 2 ? ' ' : '\n') || (i == 0 && end - s != 16))
			return -1;
		s = end + 1;
	}
	if (v[1] == 0 || v[1] > JSON_MAX || v[2] > PROGRAM_MAX || v[2] % 8)
		return -1;
	*check = v[0];
	*json_len = v[1];
	*bpf_len = v[2];
	*header = (size_t)(s - p);
	return 0;
}

int
run_seccomp_cache_read(const char *dir, const char *key, run_seccomp_entry_t *e)
{
	*e = (run_seccomp_entry_t){0};
	cleanup_free char *path = ctrk_strdup_printf("%s/%s", dir, key);
	cleanup_free char *buf = NULL;
	size_t n, json_len, bpf_len, header;
	uint64_t check;
	ctrk_error_t ignored;
	if (ctrk_read_file(path, HEADER_MAX + JSON_MAX + PROGRAM_MAX, &buf, &n, &ignored) < 0 ||
	    strncmp(buf, MAGIC, sizeof MAGIC - 1) != 0 ||
	    parse_header(buf + sizeof MAGIC - 1, &check, &json_len, &bpf_len, &header) < 0)
		return -1;
	const char *body = buf + sizeof MAGIC - 1 + header;
	if (n != (size_t)(body - buf) + json_len + bpf_len || damage_check(body, json_len + bpf_len) != check)
		return -1;
	e->json = ctrk_xcalloc(1, json_len + 1);
	memcpy(e->json, body, json_len);
	if (bpf_len) {
		e->bpf = ctrk_xcalloc(1, bpf_len);
		memcpy(e->bpf, body + json_len, bpf_len);
		e->bpf_len = bpf_len;
	}
	return 0;
}

/* Keep the cache bounded: past CACHE_MAX entries, empty it but for KEEP
 * (what is gone is made again when next needed).  Temporary files of
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

int
run_seccomp_cache_write(const char *dir, const char *key, const run_seccomp_entry_t *e, ctrk_error_t *err)
{
	size_t json_len = strlen(e->json), body = json_len + e->bpf_len;
	if (json_len > JSON_MAX)
		return ctrk_error_set(err, 0, "the resolved filter is over %u bytes", JSON_MAX);
	cleanup_free char *data = ctrk_xcalloc(1, HEADER_MAX + body + 1);
	memcpy(data + HEADER_MAX, e->json, json_len);
	if (e->bpf_len)
		memcpy(data + HEADER_MAX + json_len, e->bpf, e->bpf_len);
	char header[HEADER_MAX + 1];
	int hlen = snprintf(header, sizeof header, "%s%016" PRIx64 " %zu %zu\n", MAGIC,
			    damage_check(data + HEADER_MAX, body), json_len, e->bpf_len);
	char *start = data + HEADER_MAX - hlen;
	memcpy(start, header, (size_t)hlen);
	cleanup_free char *path = ctrk_strdup_printf("%s/%s", dir, key);
	if (ctrk_replace_file(path, start, (size_t)hlen + body, 0600, err) < 0)
		return -1;
	cache_trim(dir, key);
	return 0;
}
