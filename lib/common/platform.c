/* Platforms "os/arch[/variant]", normalised as containerd's platforms
 * package does (https://github.com/containerd/platforms, database.go):
 * x86_64 is amd64, aarch64 is arm64, arm64/v8 is plain arm64, arm without a
 * variant is arm/v7.  Every ctrk_platform_t this file hands out is already
 * normalised and lowercase; ctrk_platform_match() normalises again so that a
 * struct filled by hand compares the same way. */
#include "platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"

/* containerd's specifierRe, [A-Za-z0-9_-]+; a variant may also hold '.'
 * as in "v8.0", which normalise_arch() knows. */
static bool
valid_component(const char *s, bool dot)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') && c != '_' &&
		    c != '-' && !(dot && c == '.'))
			return false;
	}
	return true;
}

static bool
eq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

static const char *
normalise_os(const char *os)
{
	return eq(os, "macos") ? "darwin" : os;
}

/* The canonical ARCH and VARIANT for the given pair.  The results point to
 * string literals or to the inputs, so they are valid as long as the inputs;
 * a NULL or empty variant is "none" and comes back as NULL. */
static void
normalise_arch(const char *arch, const char *variant, const char **out_arch, const char **out_variant)
{
	if (variant && !*variant)
		variant = NULL;
	*out_arch = arch;
	*out_variant = variant;

	if (eq(arch, "386") || eq(arch, "i386") || eq(arch, "i486") || eq(arch, "i586") || eq(arch, "i686")) {
		*out_arch = "386";
		*out_variant = NULL;
	} else if (eq(arch, "amd64") || eq(arch, "x86_64") || eq(arch, "x86-64")) {
		*out_arch = "amd64";
		if (variant && eq(variant, "v1"))
			*out_variant = NULL;
	} else if (eq(arch, "arm64") || eq(arch, "aarch64")) {
		*out_arch = "arm64";
		/* v8 is the baseline of arm64: the same as no variant. */
		if (variant && (eq(variant, "8") || eq(variant, "v8") || eq(variant, "v8.0")))
			*out_variant = NULL;
		else if (variant && (eq(variant, "9") || eq(variant, "9.0") || eq(variant, "v9.0")))
			*out_variant = "v9";
	} else if (eq(arch, "armhf")) {
		*out_arch = "arm";
		*out_variant = "v7";
	} else if (eq(arch, "armel")) {
		*out_arch = "arm";
		*out_variant = "v6";
	} else if (eq(arch, "arm")) {
		*out_arch = "arm";
		if (!variant || eq(variant, "7"))
			*out_variant = "v7";
		else if (eq(variant, "5"))
			*out_variant = "v5";
		else if (eq(variant, "6"))
			*out_variant = "v6";
		else if (eq(variant, "8"))
			*out_variant = "v8";
	}
}

static char *
lower_dup(const char *s)
{
	char *d = ctrk_xstrdup(s);
	for (char *c = d; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return d;
}

/* Fill P with the normalised, lowercase form of the three parts. */
static void
platform_set(ctrk_platform_t *p, const char *os, const char *arch, const char *variant)
{
	const char *a, *v;

	normalise_arch(arch, variant, &a, &v);
	p->os = lower_dup(normalise_os(os));
	p->arch = lower_dup(a);
	p->variant = v ? lower_dup(v) : NULL;
}

int
ctrk_platform_parse(const char *s, ctrk_platform_t *p, ctrk_error_t *err)
{
	memset(p, 0, sizeof *p);
	if (!s)
		s = "";

	cleanup_free char *copy = ctrk_xstrdup(s);
	char *parts[3] = { NULL, NULL, NULL };
	size_t n = 0;
	char *c = copy;
	for (;;) {
		if (n == 3)
			return ctrk_error_set(err, 0, "invalid platform '%s': expected OS/ARCH[/VARIANT]", s);
		parts[n++] = c;
		char *slash = strchr(c, '/');
		if (!slash)
			break;
		*slash = '\0';
		c = slash + 1;
	}
	if (n < 2 || !*parts[0] || !*parts[1] || (parts[2] && !*parts[2]))
		return ctrk_error_set(err, 0, "invalid platform '%s': expected OS/ARCH[/VARIANT]", s);
	for (size_t i = 0; i < n; i++)
		if (!valid_component(parts[i], i == 2))
			return ctrk_error_set(err, 0, "invalid platform '%s': '%s' must be letters, digits, %s'_' or '-'",
					      s, parts[i], i == 2 ? "'.', " : "");

	platform_set(p, parts[0], parts[1], parts[2]);
	return 0;
}

/* uname's machine names to GOARCH-style names: "armv7l" is arm/v7, the
 * rest (x86_64, aarch64, i686) normalise_arch() knows, and ppc64le, s390x
 * or riscv64 are spelt the same in both. */
void
ctrk_platform_host(ctrk_platform_t *p)
{
	struct utsname u;
	const char *os = "linux";
	const char *arch;
	char variant[8] = "";

	memset(p, 0, sizeof *p);
	if (uname(&u) < 0) {
		/* uname(2) has no failure a running process can meet; fall back
		 * to what this binary was built for all the same. */
#if defined(__x86_64__)
		snprintf(u.machine, sizeof u.machine, "x86_64");
#elif defined(__aarch64__)
		snprintf(u.machine, sizeof u.machine, "aarch64");
#elif defined(__i386__)
		snprintf(u.machine, sizeof u.machine, "i686");
#elif defined(__arm__)
		snprintf(u.machine, sizeof u.machine, "armv7l");
#else
		snprintf(u.machine, sizeof u.machine, "unknown");
#endif
		snprintf(u.sysname, sizeof u.sysname, "linux");
	}
	if (valid_component(u.sysname, false))
		os = u.sysname;
	arch = u.machine;
	if (strncmp(u.machine, "armv", 4) == 0 && u.machine[4] >= '1' && u.machine[4] <= '9') {
		/* "armv7l", "armv6l", "armv5tel": arm with the digit as variant. */
		arch = "arm";
		variant[0] = 'v';
		variant[1] = u.machine[4];
	} else if (strcmp(u.machine, "loongarch64") == 0) {
		arch = "loong64";
	}
	platform_set(p, os, arch, variant[0] ? variant : NULL);
}

int
ctrk_platform_from_json(const cJSON *j, ctrk_platform_t *p, ctrk_error_t *err)
{
	const char *os = NULL, *arch = NULL, *variant = NULL;

	memset(p, 0, sizeof *p);
	if (!cJSON_IsObject(j))
		return ctrk_error_set(err, 0, "platform: expected an object");
	if (ctrk_json_get_string(j, "os", true, &os, "platform", err) < 0 ||
	    ctrk_json_get_string(j, "architecture", true, &arch, "platform", err) < 0 ||
	    ctrk_json_get_string(j, "variant", false, &variant, "platform", err) < 0)
		return -1;
	if (!valid_component(os, false))
		return ctrk_error_set(err, 0, "platform: invalid os '%s'", os);
	if (!valid_component(arch, false))
		return ctrk_error_set(err, 0, "platform: invalid architecture '%s'", arch);
	if (variant && *variant && !valid_component(variant, true))
		return ctrk_error_set(err, 0, "platform: invalid variant '%s'", variant);

	platform_set(p, os, arch, variant);
	return 0;
}

/* The simple rule: os and arch equal; a variant in WANT must be equal, no
 * variant in WANT accepts any.  containerd goes further and lets arm/v7
 * run arm/v6 images; ctrk does not guess at that. */
bool
ctrk_platform_match(const ctrk_platform_t *want, const ctrk_platform_t *candidate)
{
	const char *want_arch, *want_variant, *cand_arch, *cand_variant;

	if (!want->os || !want->arch || !candidate->os || !candidate->arch)
		return false;
	if (!eq(normalise_os(want->os), normalise_os(candidate->os)))
		return false;
	normalise_arch(want->arch, want->variant, &want_arch, &want_variant);
	normalise_arch(candidate->arch, candidate->variant, &cand_arch, &cand_variant);
	if (!eq(want_arch, cand_arch))
		return false;
	if (!want_variant)
		return true;
	return cand_variant && eq(want_variant, cand_variant);
}

cJSON *
ctrk_platform_to_json(const ctrk_platform_t *p)
{
	cJSON *j = cJSON_CreateObject();

	if (!j)
		return NULL;
	if (!cJSON_AddStringToObject(j, "os", p->os) || !cJSON_AddStringToObject(j, "architecture", p->arch) ||
	    (p->variant && !cJSON_AddStringToObject(j, "variant", p->variant))) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

char *
ctrk_platform_string(const ctrk_platform_t *p)
{
	if (p->variant)
		return ctrk_strdup_printf("%s/%s/%s", p->os, p->arch, p->variant);
	return ctrk_strdup_printf("%s/%s", p->os, p->arch);
}

void
ctrk_platform_free(ctrk_platform_t *p)
{
	if (!p)
		return;
	free(p->os);
	free(p->arch);
	free(p->variant);
	memset(p, 0, sizeof *p);
}
