/* The seccomp program ctrk-run hands crun (libseccomp's binary tree,
 * RUN_SECCOMP_TREE) gives the same action as crun's own (the linear
 * layout crun 1.8 compiles, RUN_SECCOMP_LINEAR) for every call: both run
 * in a classic BPF emulator, seccomp_data in, action out.
 *
 * What is compared, for the x86 architectures Docker's archMap filters on
 * amd64 (x86_64, x86 as AUDIT_ARCH_I386, x32 as x86_64 with the x32 bit in
 * the number), each call number from 0 to NR_SWEEP-1, numbers out of range
 * (negative, huge, the x32 bit on i386) and other architectures:
 *   - each with all arguments 0, and the emulator notes whether either
 *     program looked at an argument (or the instruction pointer).  When
 *     neither did, no argument can change their path: equal actions there
 *     are equal actions for every argument;
 *   - where one did (personality, clone, ... : the conditional rules),
 *     each argument in turn set to each value that matters to the rules
 *     (their values and masks, each bit of a mask, the values next to
 *     them, with and without high 32 bits; personality's, clone's
 *     namespace flags, socket families), the other arguments 0 or all
 *     ones, and every pair of arguments set to the rules' values.
 * Deliberately changed programs (an action, an architecture, a value, a
 * mask bit) must be found different: the comparison can fail.
 *
 * `test-run-seccomp-bpf --compare A B [CONFIG]` compares two program files
 * the same way, taking the values from CONFIG's linux.seccomp (046 uses it
 * on the program crun compiles itself); exit 0 when they are equivalent.
 * `test-run-seccomp-bpf --linear CONFIG OUT` writes CONFIG's linux.seccomp
 * compiled in the linear layout, the reference here: 046 checks that it is
 * crun's own program byte for byte. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctrk-run/seccomp.h"
#include "ctrk-run/seccomp_bpf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "tap.h"

#define NR_SWEEP 4096
#define X32_BIT 0x40000000u
#define SECCOMP_DATA_LEN 64 /* sizeof(struct seccomp_data) */
#define ACT_ALLOW 0x7fff0000u
#define ACT_ERRNO(e) (0x00050000u | (e))

/* ---- the emulator ----------------------------------------------------- */

typedef struct prog {
	const struct sock_filter *insn;
	size_t len;
} prog_t;

/* When set, bpf_run marks each instruction it runs. */
static bool *ran;

/* PROG run on D, as the kernel's seccomp runs a classic BPF filter (the
 * instructions seccomp_check_filter allows).  *RET: the action; *ARGS set
 * when the program loaded anything past the call number and architecture.
 * -1: the program is one the kernel would refuse (a jump out of it, a
 * load out of seccomp_data, an unknown instruction, no return). */
static int
bpf_run(prog_t p, const struct seccomp_data *d, uint32_t *ret, bool *args)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
	unsigned char data[SECCOMP_DATA_LEN];
	memcpy(data, d, sizeof data);
	for (size_t pc = 0; pc < p.len; pc++) {
		const struct sock_filter *f = &p.insn[pc];
		if (ran)
			ran[pc] = true;
		uint32_t k = f->k, src = BPF_SRC(f->code) == BPF_X ? x : k;
		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t v;
			if (f->code == (BPF_LD | BPF_W | BPF_ABS)) {
				if (k >= SECCOMP_DATA_LEN || k % 4)
					return -1;
				memcpy(&v, data + k, 4);
				*args |= k >= 8;
			} else if (BPF_SIZE(f->code) != BPF_W)
				return -1;
			else if (BPF_MODE(f->code) == BPF_IMM)
				v = k;
			else if (BPF_MODE(f->code) == BPF_LEN)
				v = SECCOMP_DATA_LEN;
			else if (BPF_MODE(f->code) == BPF_MEM && k < BPF_MEMWORDS)
				v = mem[k];
			else
				return -1;
			if (BPF_CLASS(f->code) == BPF_LD)
				a = v;
			else
				x = v;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			if (f->code != BPF_CLASS(f->code) || k >= BPF_MEMWORDS)
				return -1;
			mem[k] = BPF_CLASS(f->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_MUL: a *= src; break;
			case BPF_DIV:
				if (src == 0)
					return -1;
				a /= src;
				break;
			case BPF_MOD:
				if (src == 0)
					return -1;
				a %= src;
				break;
			case BPF_OR: a |= src; break;
			case BPF_AND: a &= src; break;
			case BPF_XOR: a ^= src; break;
			case BPF_LSH: a = src < 32 ? a << src : 0; break;
			case BPF_RSH: a = src < 32 ? a >> src : 0; break;
			case BPF_NEG: a = -a; break;
			default: return -1;
			}
			break;
		case BPF_JMP: {
			bool taken;
			size_t to;
			switch (BPF_OP(f->code)) {
			case BPF_JA:
				to = pc + 1 + k;
				if (to >= p.len || to <= pc)
					return -1;
				pc = to - 1;
				continue;
			case BPF_JEQ: taken = a == src; break;
			case BPF_JGT: taken = a > src; break;
			case BPF_JGE: taken = a >= src; break;
			case BPF_JSET: taken = (a & src) != 0; break;
			default: return -1;
			}
			to = pc + 1 + (taken ? f->jt : f->jf);
			if (to >= p.len)
				return -1;
			pc = to - 1;
			break;
		}
		case BPF_RET:
			if (BPF_RVAL(f->code) == BPF_K)
				*ret = k;
			else if (BPF_RVAL(f->code) == BPF_A)
				*ret = a;
			else
				return -1;
			return 0;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				x = a;
			else if (BPF_MISCOP(f->code) == BPF_TXA)
				a = x;
			else
				return -1;
			break;
		}
	}
	return -1;
}

/* ---- the comparison --------------------------------------------------- */

/* The argument values that matter to a filter's rules. */
typedef struct values {
	uint64_t *v;
	size_t n, cap;
	size_t nrule; /* the first NRULE are the rules' own values */
} values_t;

static void
values_add(values_t *vs, uint64_t v)
{
	for (size_t i = 0; i < vs->n; i++)
		if (vs->v[i] == v)
			return;
	if (vs->n == vs->cap) {
		vs->cap = vs->cap ? 2 * vs->cap : 64;
		vs->v = realloc(vs->v, vs->cap * sizeof *vs->v);
		if (!vs->v)
			abort();
	}
	vs->v[vs->n++] = v;
}

/* The values of SECCOMP's rules (its args' value and valueTwo), then
 * around them, then the ones that matter to the calls Docker's profile
 * and others test (personality's, clone's, socket's). */
static values_t
values_of(const cJSON *seccomp)
{
	values_t vs = {0};
	const cJSON *r, *a;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(seccomp, "syscalls")) {
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(r, "args")) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "value");
			const cJSON *two = cJSON_GetObjectItemCaseSensitive(a, "valueTwo");
			values_add(&vs, cJSON_IsNumber(v) ? (uint64_t)v->valuedouble : 0);
			if (cJSON_IsNumber(two))
				values_add(&vs, (uint64_t)two->valuedouble);
		}
	}
	vs.nrule = vs.n;
	for (size_t i = 0; i < vs.nrule; i++) {
		uint64_t v = vs.v[i];
		values_add(&vs, v + 1);
		values_add(&vs, v - 1);
		values_add(&vs, ~v);
		values_add(&vs, v | 1ull << 32);
		values_add(&vs, v | 0xffffffff00000000ull);
		values_add(&vs, v << 32);
		values_add(&vs, v & 0xffffffffu);
		for (int b = 0; b < 64; b++)
			if (v >> b & 1)
				values_add(&vs, 1ull << b);
	}
	static const uint64_t known[] = {
		0, 1, 0xffffffff, 0xffffffffffffffffull, 0x100000000ull, 0x80000000, 0x7fffffff,
		/* personality: PER_LINUX, PER_LINUX32, UNAME26, both, query, PER_BSD, ADDR_NO_RANDOMIZE */
		0x0, 0x8, 0x20000, 0x20008, 0x6, 0x0040000, 0x0040008,
		/* clone: fork's and a thread's flags, each namespace flag, with and without */
		0x1200011, 0x3d0f00, CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
		CLONE_NEWNET, CLONE_NEWCGROUP, 0x1200011 | CLONE_NEWUSER, 0x3d0f00 | CLONE_NEWNS,
		0x1200011 | CLONE_NEWNET | CLONE_NEWPID,
		/* socket families: AF_UNIX, INET, INET6, NETLINK, PACKET, ALG, VSOCK, and types */
		AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_ALG, AF_VSOCK, SOCK_STREAM, SOCK_RAW,
		SOCK_DGRAM | SOCK_CLOEXEC,
	};
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		values_add(&vs, known[i]);
	return vs;
}

typedef struct compare {
	prog_t a, b;
	const values_t *vs;
	size_t inputs, differ, deep; /* inputs run, inputs whose actions differ, (arch, nr) swept deep */
	bool quiet;                  /* the differences are expected: not printed */
} compare_t;

static void
report(compare_t *c, const struct seccomp_data *d, int ra, uint32_t a, int rb, uint32_t b)
{
	if (++c->differ > 5 || c->quiet)
		return;
	printf("#   arch %#x nr %#x args %#llx %#llx %#llx %#llx %#llx %#llx: %s%#x vs %s%#x\n", d->arch,
	       (unsigned)d->nr, (unsigned long long)d->args[0], (unsigned long long)d->args[1],
	       (unsigned long long)d->args[2], (unsigned long long)d->args[3], (unsigned long long)d->args[4],
	       (unsigned long long)d->args[5], ra < 0 ? "invalid " : "", a, rb < 0 ? "invalid " : "", b);
}

/* Both programs on D; *ARGS: either looked past the number and arch. */
static void
run_both(compare_t *c, const struct seccomp_data *d, bool *args)
{
	uint32_t a = 0, b = 0;
	bool la = false, lb = false;
	int ra = bpf_run(c->a, d, &a, &la), rb = bpf_run(c->b, d, &b, &lb);
	c->inputs++;
	if (ra < 0 || rb < 0 || a != b)
		report(c, d, ra, a, rb, b);
	if (args)
		*args = la || lb;
}

/* Call NR of ARCH with the argument values that matter. */
static void
sweep_args(compare_t *c, uint32_t arch, uint32_t nr)
{
	const values_t *vs = c->vs;
	struct seccomp_data d = {.nr = (int)nr, .arch = arch};
	c->deep++;
	for (int rest = 0; rest < 2; rest++)
		for (int i = 0; i < 6; i++)
			for (size_t k = 0; k < vs->n; k++) {
				for (int j = 0; j < 6; j++)
					d.args[j] = rest ? ~0ull : 0;
				d.args[i] = vs->v[k];
				run_both(c, &d, NULL);
			}
	for (int i = 0; i < 6; i++)
		for (int j = i + 1; j < 6; j++)
			for (size_t k = 0; k < vs->nrule; k++)
				for (size_t l = 0; l < vs->nrule; l++) {
					memset(d.args, 0, sizeof d.args);
					d.args[i] = vs->v[k];
					d.args[j] = vs->v[l];
					run_both(c, &d, NULL);
				}
	memset(d.args, 0, sizeof d.args);
	d.instruction_pointer = ~0ull;
	run_both(c, &d, NULL);
}

static void
sweep_call(compare_t *c, uint32_t arch, uint32_t nr)
{
	struct seccomp_data d = {.nr = (int)nr, .arch = arch};
	bool args = false;
	run_both(c, &d, &args);
	if (args)
		sweep_args(c, arch, nr);
}

/* The number of inputs on which A and B differ (the first few printed
 * unless QUIET). */
static size_t
compare(prog_t a, prog_t b, const values_t *vs, bool quiet, size_t *inputs, size_t *deep)
{
	compare_t c = {.a = a, .b = b, .vs = vs, .quiet = quiet};
	static const uint32_t odd_nrs[] = {0xffffffff, 0xfffffffe, 0x7fffffff, 0x80000000, 0xbfffffff,
					   0xc0000000, 0x3fffffff, 0x40000000 | 0x3fffffff, 0x10000, 0xffff};
	static const uint32_t other_arches[] = {AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_X86_64 ^ 1, 0,
						0xffffffff};
	for (uint32_t nr = 0; nr < NR_SWEEP; nr++) {
		sweep_call(&c, AUDIT_ARCH_X86_64, nr);
		sweep_call(&c, AUDIT_ARCH_X86_64, X32_BIT | nr);
		sweep_call(&c, AUDIT_ARCH_I386, nr);
		sweep_call(&c, AUDIT_ARCH_I386, X32_BIT | nr);
	}
	for (size_t i = 0; i < sizeof odd_nrs / sizeof *odd_nrs; i++) {
		sweep_call(&c, AUDIT_ARCH_X86_64, odd_nrs[i]);
		sweep_call(&c, AUDIT_ARCH_I386, odd_nrs[i]);
	}
	for (size_t i = 0; i < sizeof other_arches / sizeof *other_arches; i++)
		for (uint32_t nr = 0; nr < 512; nr++)
			sweep_call(&c, other_arches[i], nr);
	if (inputs)
		*inputs = c.inputs;
	if (deep)
		*deep = c.deep;
	return c.differ;
}

static prog_t
prog_of(const char *bpf, size_t len)
{
	return (prog_t){(const struct sock_filter *)bpf, len / sizeof(struct sock_filter)};
}

/* ---- the cases -------------------------------------------------------- */

#define CAPS(...) (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)
#define DEFAULT_CAPS_LIST                                                                               \
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", \
		"CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD",          \
		"CAP_AUDIT_WRITE", "CAP_SETFCAP"

static const run_seccomp_host_t amd64 = {"amd64", "SCMP_ARCH_X86_64", 6, 1};

/* A filter resolved and compiled both ways. */
typedef struct filter {
	cJSON *seccomp;
	char *linear, *tree;
	size_t linear_len, tree_len;
} filter_t;

static void
filter_free(filter_t *f)
{
	cJSON_Delete(f->seccomp);
	free(f->linear);
	free(f->tree);
}

static int
filter_make(const cJSON *profile, const char *const *caps, size_t ncaps, filter_t *f, const char *name)
{
	ctrk_error_t err = {0};
	*f = (filter_t){0};
	if (run_seccomp_resolve(profile, name, &amd64, caps, ncaps, &f->seccomp, &err) < 0 ||
	    run_seccomp_compile(f->seccomp, RUN_SECCOMP_LINEAR, &f->linear, &f->linear_len, &err) != 0 ||
	    run_seccomp_compile(f->seccomp, RUN_SECCOMP_TREE, &f->tree, &f->tree_len, &err) != 0) {
		ok(0, "%s: resolves and compiles (%s)", name, err.msg);
		return -1;
	}
	return 0;
}

/* F's tree program, equivalent to its linear one; TREE: in the tree
 * layout (else the linear program itself, byte for byte). */
static void
check_filter(filter_t *f, bool tree, const char *name)
{
	values_t vs = values_of(f->seccomp);
	size_t inputs, deep;
	size_t differ = compare(prog_of(f->linear, f->linear_len), prog_of(f->tree, f->tree_len), &vs, false,
				&inputs, &deep);
	ok(differ == 0, "%s: the same action for each of %zu inputs (%zu calls swept by argument; %zu vs %zu "
			"instructions)",
	   name, inputs, deep, f->linear_len / 8, f->tree_len / 8);
	bool same = f->linear_len == f->tree_len && memcmp(f->linear, f->tree, f->linear_len) == 0;
	if (tree)
		ok(!same && deep > 0, "%s: the tree layout is used, and calls were swept by argument", name);
	else
		ok(same, "%s: %s rules or fewer: the linear program, byte for byte", name,
		   "RUN_SECCOMP_TREE_MIN");
	free(vs.v);
}

static void
test_builtin(void)
{
	ctrk_error_t err = {0};
	cleanup_json cJSON *p = run_seccomp_default(&err);
	ok(p != NULL, "the built-in profile parses (%s)", p ? "" : err.msg);
	if (!p)
		return;
	filter_t f;
	if (filter_make(p, CAPS(DEFAULT_CAPS_LIST), &f, "built-in, default capabilities") == 0) {
		check_filter(&f, true, "built-in, default capabilities");
		filter_free(&f);
	}
	if (filter_make(p, CAPS(DEFAULT_CAPS_LIST, "CAP_SYS_ADMIN"), &f, "built-in, + SYS_ADMIN") == 0) {
		check_filter(&f, true, "built-in, + CAP_SYS_ADMIN (clone unconditional, mount, unshare...)");
		filter_free(&f);
	}
	if (filter_make(p,
			CAPS(DEFAULT_CAPS_LIST, "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_TIME", "CAP_SYS_MODULE",
			     "CAP_SYS_BOOT", "CAP_SYS_RAWIO", "CAP_SYS_PACCT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
			     "CAP_SYS_TTY_CONFIG", "CAP_DAC_READ_SEARCH", "CAP_BPF", "CAP_PERFMON", "CAP_SYSLOG",
			     "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_CONTROL", "CAP_NET_ADMIN"),
			&f, "built-in, all capabilities") == 0) {
		check_filter(&f, true, "built-in, every capability the profile names");
		filter_free(&f);
	}
}

/* More than RUN_SECCOMP_TREE_MIN names allowed, then RULES. */
static cJSON *
profile_with(const char *def, const char *rules)
{
	static const char *const names[] = {
		"read", "write", "close", "fstat", "lseek", "mmap", "mprotect", "munmap", "brk", "rt_sigaction",
		"rt_sigprocmask", "rt_sigreturn", "ioctl", "pread64", "pwrite64", "readv", "writev", "access",
		"pipe", "select", "sched_yield", "mremap", "msync", "mincore", "madvise", "dup", "dup2", "pause",
		"nanosleep", "getpid", "sendfile", "connect", "accept", "exit_group", "execve", "openat", "newfstatat",
		"no_such_call"};
	cleanup_free char *list = ctrk_xstrdup("");
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char *l = ctrk_strdup_printf("%s%s\"%s\"", list, i ? "," : "", names[i]);
		free(list);
		list = l;
	}
	cleanup_free char *text = ctrk_strdup_printf(
		"{%s,\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\","
		"\"SCMP_ARCH_X32\"]}],\"syscalls\":[{\"names\":[%s],\"action\":\"SCMP_ACT_ALLOW\"}%s%s]}",
		def, list, *rules ? "," : "", rules);
	ctrk_error_t err = {0};
	cJSON *p = ctrk_json_parse(text, strlen(text), "profile", &err);
	if (!p)
		printf("# %s\n", err.msg);
	return p;
}

static void
test_custom(void)
{
	/* Arguments of every operator, 64-bit values (the high word is
	 * compared apart), a repeated argument index (one rule per
	 * argument), two arguments in one rule, errnoRet, a default errno. */
	cleanup_json cJSON *args = profile_with(
		"\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38",
		"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		" {\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]},"
		"{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		" {\"index\":0,\"value\":40,\"op\":\"SCMP_CMP_NE\"},"
		" {\"index\":1,\"value\":15,\"valueTwo\":1,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
		"{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		" {\"index\":0,\"value\":2114060288,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
		"{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		" {\"index\":1,\"value\":4294967296,\"op\":\"SCMP_CMP_LT\"}]},"
		"{\"names\":[\"tgkill\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		" {\"index\":2,\"value\":8589934593,\"op\":\"SCMP_CMP_GE\"}]},"
		"{\"names\":[\"fcntl\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		" {\"index\":1,\"value\":1030,\"op\":\"SCMP_CMP_LE\"},{\"index\":2,\"value\":1,\"op\":\"SCMP_CMP_GT\"}]},"
		"{\"names\":[\"keyctl\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13},"
		"{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_KILL\"},"
		"{\"names\":[\"uname\"],\"action\":\"SCMP_ACT_TRAP\"}");
	filter_t f;
	if (args && filter_make(args, NULL, 0, &f, "arguments") == 0) {
		check_filter(&f, true, "custom: every operator, 64-bit values, repeated and paired arguments");
		filter_free(&f);
	}
	/* The other way round: allow by default, deny a list.  (Actions
	 * libseccomp knows without asking the kernel, which valgrind does not
	 * let it: not LOG, not KILL_PROCESS.) */
	cleanup_json cJSON *deny = profile_with("\"defaultAction\":\"SCMP_ACT_ALLOW\"", "");
	cJSON *rule = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(deny, "syscalls"), 0);
	ctrk_json_set(rule, "action", cJSON_CreateString("SCMP_ACT_ERRNO"));
	if (deny && filter_make(deny, NULL, 0, &f, "deny list") == 0) {
		check_filter(&f, true, "custom: default ALLOW, a list denied");
		filter_free(&f);
	}
	/* A small filter keeps the linear layout. */
	static const char small[] =
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
		"\"syscalls\":[{\"names\":[\"read\",\"write\",\"exit_group\"],\"action\":\"SCMP_ACT_ALLOW\"}]}";
	ctrk_error_t err = {0};
	cleanup_json cJSON *s = ctrk_json_parse(small, strlen(small), "small", &err);
	if (s && filter_make(s, NULL, 0, &f, "small") == 0) {
		check_filter(&f, false, "custom: three calls");
		filter_free(&f);
	}
}

/* Each action's code in the program, as the kernel's ABI numbers them
 * (linux/seccomp.h), not as libseccomp's macros do. */
static void
test_actions(void)
{
	static const struct {
		const char *action;
		int errno_ret; /* -1: none */
		uint32_t ret;
	} cases[] = {
		{"SCMP_ACT_KILL", -1, 0x00000000},	      {"SCMP_ACT_KILL_THREAD", -1, 0x00000000},
		{"SCMP_ACT_KILL_PROCESS", -1, 0x80000000}, {"SCMP_ACT_TRAP", -1, 0x00030000},
		{"SCMP_ACT_ERRNO", -1, 0x00050001},	      {"SCMP_ACT_ERRNO", 13, 0x0005000d},
		{"SCMP_ACT_TRACE", 7, 0x7ff00007},	      {"SCMP_ACT_LOG", -1, 0x7ffc0000},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		cleanup_free char *errno_field = cases[i].errno_ret < 0
							 ? ctrk_xstrdup("")
							 : ctrk_strdup_printf(",\"errnoRet\":%d", cases[i].errno_ret);
		cleanup_free char *text = ctrk_strdup_printf(
			"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\"],"
			"\"syscalls\":[{\"names\":[\"getpid\"],\"action\":\"%s\"%s}]}",
			cases[i].action, errno_field);
		ctrk_error_t err = {0};
		cleanup_json cJSON *seccomp = ctrk_json_parse(text, strlen(text), "profile", &err);
		cleanup_free char *bpf = NULL;
		size_t len = 0;
		int rc = seccomp ? run_seccomp_compile(seccomp, RUN_SECCOMP_LINEAR, &bpf, &len, &err) : -1;
		bool kernel_asked = cases[i].ret == 0x80000000 || cases[i].ret == 0x7ffc0000;
		if (rc < 0 && strstr(err.msg, "refused") && kernel_asked) {
			ok(1, "action %s # SKIP libseccomp cannot ask the kernel (valgrind hides seccomp(2))",
			   cases[i].action);
			continue;
		}
		struct seccomp_data d = {.nr = SYS_getpid, .arch = AUDIT_ARCH_X86_64}, other = d;
		other.nr = SYS_getppid;
		uint32_t got = 1, rest = 1;
		bool args = false;
		prog_t prog = prog_of(bpf, len);
		ok(rc == 0 && bpf_run(prog, &d, &got, &args) == 0 && bpf_run(prog, &other, &rest, &args) == 0 &&
			   got == cases[i].ret && rest == ACT_ALLOW,
		   "action %s%s: getpid gets %#x (%#x), getppid the default ALLOW (%#x)", cases[i].action,
		   cases[i].errno_ret < 0 ? "" : " with errnoRet", cases[i].ret, got, rest);
	}
	static const char notify[] = "{\"defaultAction\":\"SCMP_ACT_ALLOW\","
				     "\"syscalls\":[{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}";
	ctrk_error_t err = {0};
	cleanup_json cJSON *seccomp = ctrk_json_parse(notify, strlen(notify), "profile", &err);
	cleanup_free char *bpf = NULL;
	size_t len = 0;
	ok(seccomp && run_seccomp_compile(seccomp, RUN_SECCOMP_LINEAR, &bpf, &len, &err) == 1 && !bpf,
	   "action SCMP_ACT_NOTIFY: left to crun (a listener)");
}

/* The first instruction of BPF with code CODE (-1: any) and K; with
 * ARCH, only one that a call of i386 runs: syscall numbers can have the
 * same value as an architecture's. */
static struct sock_filter *
find_insn(char *bpf, size_t len, int code, uint32_t k, bool arch)
{
	struct sock_filter *f = (struct sock_filter *)bpf;
	size_t n = len / sizeof *f;
	cleanup_free bool *marks = ctrk_xcalloc(n, sizeof *marks);
	if (arch) {
		struct seccomp_data d = {.nr = 0, .arch = AUDIT_ARCH_I386};
		uint32_t action = 0;
		bool args = false;
		ran = marks;
		bpf_run(prog_of(bpf, len), &d, &action, &args);
		ran = NULL;
	}
	for (size_t i = 0; i < n; i++)
		if ((code < 0 || f[i].code == code) && f[i].k == k && (!arch || marks[i]))
			return &f[i];
	return NULL;
}

/* The comparison finds a changed program. */
static void
test_changed(void)
{
	ctrk_error_t err = {0};
	cleanup_json cJSON *p = run_seccomp_default(&err);
	filter_t f;
	if (!p || filter_make(p, CAPS(DEFAULT_CAPS_LIST), &f, "built-in") < 0)
		return;
	values_t vs = values_of(f.seccomp);
	static const struct {
		const char *what;
		int code;
		uint32_t k, to;
		bool arch;
	} changes[] = {
		{"one ALLOW made ERRNO(EPERM)", BPF_RET | BPF_K, ACT_ALLOW, ACT_ERRNO(EPERM), false},
		{"the i386 architecture's number changed", BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, AUDIT_ARCH_ARM,
		 true},
		{"a call number changed (x32's close)", BPF_JMP | BPF_JEQ | BPF_K, X32_BIT | 3, X32_BIT | 4, false},
		{"personality's value 0x20008 made 0x20009", BPF_JMP | BPF_JEQ | BPF_K, 0x20008, 0x20009, false},
		{"clone's namespace mask without CLONE_NEWNS", -1, 0x7e020000, 0x7e000000, false},
		{"the default ERRNO(EPERM) made ERRNO(EACCES)", BPF_RET | BPF_K, ACT_ERRNO(EPERM), ACT_ERRNO(EACCES),
		 false},
	};
	for (size_t i = 0; i < sizeof changes / sizeof *changes; i++) {
		cleanup_free char *bad = ctrk_xcalloc(1, f.tree_len);
		memcpy(bad, f.tree, f.tree_len);
		struct sock_filter *insn = find_insn(bad, f.tree_len, changes[i].code, changes[i].k, changes[i].arch);
		if (!insn) {
			ok(0, "changed program: %s: no such instruction", changes[i].what);
			continue;
		}
		insn->k = changes[i].to;
		size_t differ =
			compare(prog_of(f.linear, f.linear_len), prog_of(bad, f.tree_len), &vs, true, NULL, NULL);
		ok(differ > 0, "changed program: %s: found (%zu inputs differ)", changes[i].what, differ);
	}
	/* And a program the kernel would refuse: a jump out of it. */
	cleanup_free char *bad = ctrk_xcalloc(1, f.tree_len);
	memcpy(bad, f.tree, f.tree_len);
	struct sock_filter *j = find_insn(bad, f.tree_len, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, false);
	if (j)
		j->jt = j->jf = 255;
	ok(j && compare(prog_of(f.linear, f.linear_len), prog_of(bad, f.tree_len), &vs, true, NULL, NULL) > 0,
	   "changed program: a jump past the end: found");
	free(vs.v);
	filter_free(&f);
}

/* The emulator agrees with the kernel: a child loads the tree program and
 * makes calls; each call's result is the action the emulator gives. */
static void
test_kernel(void)
{
	ctrk_error_t err = {0};
	cleanup_json cJSON *p = run_seccomp_default(&err);
	filter_t f;
	if (!p || filter_make(p, CAPS(DEFAULT_CAPS_LIST), &f, "built-in") < 0)
		return;
	static const struct {
		const char *what;
		long nr;
		uint64_t a0, a1;
	} calls[] = {
		{"getppid()", SYS_getppid, 0, 0},
		{"personality(0xffffffff)", SYS_personality, 0xffffffff, 0},
		{"personality(PER_BSD)", SYS_personality, 6, 0},
		{"keyctl(0)", SYS_keyctl, 0, 0},
		{"unshare(CLONE_NEWUSER)", SYS_unshare, CLONE_NEWUSER, 0},
		{"socket(AF_VSOCK, -1)", SYS_socket, AF_VSOCK, 0xffffffff},
		{"clone3(NULL, 0)", SYS_clone3, 0, 0},
	};
	for (size_t i = 0; i < sizeof calls / sizeof *calls; i++) {
		struct seccomp_data d = {.nr = (int)calls[i].nr, .arch = AUDIT_ARCH_X86_64,
					 .args = {calls[i].a0, calls[i].a1}};
		uint32_t action = 0;
		bool args = false;
		int rc = bpf_run(prog_of(f.tree, f.tree_len), &d, &action, &args);
		int pipefd[2];
		if (rc < 0 || pipe(pipefd) < 0) {
			ok(0, "kernel: %s: the emulator refused the program", calls[i].what);
			continue;
		}
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			struct sock_fprog fp = {(unsigned short)(f.tree_len / 8), (struct sock_filter *)f.tree};
			int e = -1;
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
			    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
				e = -1000 - errno;
			else
				e = syscall(calls[i].nr, calls[i].a0, calls[i].a1, 0, 0, 0, 0) < 0 ? errno : 0;
			if (write(pipefd[1], &e, sizeof e) != sizeof e)
				_exit(1);
			_exit(0);
		}
		int e = -2, status;
		close(pipefd[1]);
		if (read(pipefd[0], &e, sizeof e) != sizeof e)
			e = -2;
		close(pipefd[0]);
		waitpid(pid, &status, 0);
		if (e == -1000 - ENOSYS) {
			ok(1, "kernel: %s # SKIP no seccomp(2) here (valgrind answers ENOSYS)", calls[i].what);
			continue;
		}
		/* An ERRNO action shows as that errno; ALLOW as the kernel's
		 * own answer, which for these arguments is never EPERM. */
		bool agrees = (action & 0xffff0000u) == 0x00050000u ? e == (int)(action & 0xffff)
								     : action == ACT_ALLOW && e >= 0 && e != EPERM;
		ok(agrees, "kernel: %s: the emulator's action %#x, the kernel's result %s%d", calls[i].what, action,
		   e > 0 ? "errno " : "", e);
	}
	filter_free(&f);
}

/* The cache: an entry read back as written; a damaged, cut or lengthened
 * one is none; keys tell inputs apart. */
static void
test_cache(void)
{
	char dir[] = "/tmp/ctrk-test-seccomp-XXXXXX";
	if (!mkdtemp(dir)) {
		ok(0, "cache: mkdtemp: %s", strerror(errno));
		return;
	}
	static const char bpf[16] = "0123456789abcdef";
	run_seccomp_entry_t e = {.json = ctrk_xstrdup("{\"defaultAction\":\"SCMP_ACT_ERRNO\"}"),
				 .bpf = ctrk_xcalloc(1, sizeof bpf), .bpf_len = sizeof bpf};
	memcpy(e.bpf, bpf, sizeof bpf);
	ctrk_error_t err = {0};
	run_seccomp_entry_t got = {0};
	ok(run_seccomp_cache_write(dir, "k", &e, &err) == 0, "cache: an entry is written (%s)", err.msg);
	ok(run_seccomp_cache_read(dir, "k", &got) == 0 && strcmp(got.json, e.json) == 0 && got.bpf_len == sizeof bpf &&
		   memcmp(got.bpf, bpf, sizeof bpf) == 0,
	   "cache: and read back the same");
	run_seccomp_entry_free(&got);
	ok(run_seccomp_cache_read(dir, "other", &got) < 0 && !got.json, "cache: no entry of another key");
	run_seccomp_entry_t nobpf = {.json = e.json};
	ok(run_seccomp_cache_write(dir, "n", &nobpf, &err) == 0 && run_seccomp_cache_read(dir, "n", &got) == 0 &&
		   !got.bpf && got.bpf_len == 0,
	   "cache: an entry without a program (crun compiles it) reads back without one");
	run_seccomp_entry_free(&got);

	cleanup_free char *path = ctrk_strdup_printf("%s/k", dir);
	cleanup_free char *good = NULL;
	size_t n;
	if (ctrk_read_file(path, 1 << 16, &good, &n, &err) < 0) {
		ok(0, "cache: read %s: %s", path, err.msg);
		return;
	}
	/* Every single byte changed, one at a time, and every length cut. */
	size_t missed = 0, cut = 0;
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *bad = ctrk_xcalloc(1, n);
		memcpy(bad, good, n);
		bad[i] ^= 0x10;
		if (ctrk_replace_file(path, bad, n, 0600, &err) == 0 && run_seccomp_cache_read(dir, "k", &got) == 0) {
			missed++;
			run_seccomp_entry_free(&got);
		}
		if (ctrk_replace_file(path, good, i, 0600, &err) == 0 && run_seccomp_cache_read(dir, "k", &got) == 0) {
			cut++;
			run_seccomp_entry_free(&got);
		}
	}
	ok(missed == 0, "cache: an entry with any one byte changed is none (%zu of %zu taken)", missed, n);
	ok(cut == 0, "cache: an entry cut short anywhere is none (%zu taken)", cut);
	cleanup_free char *longer = ctrk_xcalloc(1, n + 1);
	memcpy(longer, good, n);
	longer[n] = '\n';
	ok(ctrk_replace_file(path, longer, n + 1, 0600, &err) == 0 && run_seccomp_cache_read(dir, "k", &got) < 0,
	   "cache: an entry with a byte more is none");

	/* Keys. */
	static const char *const caps[] = {"CAP_CHOWN", "CAP_KILL"}, *const swapped[] = {"CAP_KILL", "CAP_CHOWN"};
	static const char *const joined[] = {"CAP_CHOWNCAP_KILL"};
	cleanup_free char *k1 = run_seccomp_cache_key(NULL, 0, caps, 2);
	cleanup_free char *k2 = run_seccomp_cache_key(NULL, 0, caps, 2);
	cleanup_free char *k3 = run_seccomp_cache_key(NULL, 0, swapped, 2);
	cleanup_free char *k4 = run_seccomp_cache_key(NULL, 0, joined, 1);
	cleanup_free char *k5 = run_seccomp_cache_key("{}", 2, caps, 2);
	cleanup_free char *k6 = run_seccomp_cache_key("{ }", 3, caps, 2);
	cleanup_free char *k7 = run_seccomp_cache_key(NULL, 0, caps, 1);
	ok(strlen(k1) == 64 && strcmp(k1, k2) == 0, "key: the same inputs, the same key");
	ok(strcmp(k1, k3) && strcmp(k1, k4) && strcmp(k1, k5) && strcmp(k5, k6) && strcmp(k1, k7) && strcmp(k3, k4),
	   "key: another order or split of the capabilities, fewer of them, a profile file, another file: another key");
	run_seccomp_entry_free(&e);
	rm_rf(dir);
}

/* ---- --compare -------------------------------------------------------- */

static int
compare_files(const char *a, const char *b, const char *config)
{
	ctrk_error_t err = {0};
	cleanup_free char *pa = NULL, *pb = NULL;
	size_t la, lb;
	if (ctrk_read_file(a, 1 << 20, &pa, &la, &err) < 0 || ctrk_read_file(b, 1 << 20, &pb, &lb, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	cleanup_json cJSON *c = config ? ctrk_json_read_file(config, 16 << 20, &err) : cJSON_CreateObject();
	if (!c) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	const cJSON *linux_ = cJSON_GetObjectItemCaseSensitive(c, "linux");
	values_t vs = values_of(cJSON_GetObjectItemCaseSensitive(linux_, "seccomp"));
	size_t inputs, deep, differ = compare(prog_of(pa, la), prog_of(pb, lb), &vs, false, &inputs, &deep);
	printf("%zu of %zu inputs differ (%zu calls swept by argument; %zu and %zu instructions)\n", differ, inputs,
	       deep, la / 8, lb / 8);
	free(vs.v);
	return differ == 0 && la % 8 == 0 && lb % 8 == 0 && la && lb ? 0 : 1;
}

static int
compile_linear(const char *config, const char *out)
{
	ctrk_error_t err = {0};
	cleanup_json cJSON *c = ctrk_json_read_file(config, 16 << 20, &err);
	cleanup_free char *bpf = NULL;
	size_t len;
	const cJSON *linux_ = cJSON_GetObjectItemCaseSensitive(c, "linux");
	const cJSON *seccomp = cJSON_GetObjectItemCaseSensitive(linux_, "seccomp");
	if (!c || !seccomp || run_seccomp_compile(seccomp, RUN_SECCOMP_LINEAR, &bpf, &len, &err) != 0 ||
	    ctrk_replace_file(out, bpf, len, 0644, &err) < 0) {
		fprintf(stderr, "%s\n", c && seccomp ? err.msg : "no linux.seccomp");
		return 2;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--linear") == 0)
		return compile_linear(argv[2], argv[3]);
	if (argc >= 4 && strcmp(argv[1], "--compare") == 0)
		return compare_files(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
	test_builtin();
	test_custom();
	test_actions();
	test_changed();
	test_kernel();
	test_cache();
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
