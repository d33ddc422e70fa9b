/* The container's capabilities (see caps.h).
 *
 * Sets are bit masks: the kernel's capability sets are 64 bits wide
 * (_LINUX_CAPABILITY_VERSION_3), so no capability number reaches 64.
 * Docker's rules, which these follow except where caps.h says otherwise:
 * https://github.com/moby/moby/blob/master/oci/caps/utils.go */
#include "caps.h"

#include <cap-ng.h>
#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>

#include "cleanup.h"
#include "fsutil.h"

#define CAPS_MAX 64
#define BIT(n) (UINT64_C(1) << (n))

/* https://github.com/moby/moby/blob/master/oci/caps/defaults.go */
static const unsigned default_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW, CAP_SETGID,
	CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE,
};

/* The highest capability number the running kernel knows: its own answer
 * (Linux 3.2 and later), else the headers'. */
static unsigned
kernel_last_cap(void)
{
	cleanup_free char *buf = NULL;
	size_t len;
	ctrk_error_t ignored;
	unsigned long last = CAP_LAST_CAP;
	if (ctrk_read_file("/proc/sys/kernel/cap_last_cap", 32, &buf, &len, &ignored) == 0) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(buf, &end, 10);
		if (end != buf && (*end == '\n' || *end == '\0') && errno == 0)
			last = v;
	}
	return last < CAPS_MAX ? (unsigned)last : CAPS_MAX - 1;
}

/* libcap-ng's name of capability N ("chown"), or NULL when there is none.
 * Above the kernel's last capability it answers NULL; for a number the
 * kernel knows but libcap-ng's table does not, "cap_N", which is no name
 * (runc would refuse "CAP_CAP_N"), so that number is left out as Docker
 * leaves out what its library cannot name. */
static const char *
cap_name(unsigned n)
{
	const char *name = capng_capability_to_name(n);
	if (!name || capng_name_to_capability(name) != (int)n)
		return NULL;
	return name;
}

/* Every capability the running kernel knows and libcap-ng can name, and
 * that ctrk-run has in its own bounding set: a runtime cannot give more
 * than it has (a VM or an outer container may hold some back, such as
 * CAP_SYS_RESOURCE), so "ALL" and --privileged mean all that can be had,
 * as in podman. */
static uint64_t
known_caps(void)
{
	unsigned last = kernel_last_cap();
	uint64_t set = 0;
	for (unsigned n = 0; n <= last; n++)
		if (cap_name(n) && prctl(PR_CAPBSET_READ, n, 0, 0, 0) == 1)
			set |= BIT(n);
	return set;
}

static uint64_t
default_set(void)
{
	uint64_t set = 0;
	for (size_t i = 0; i < sizeof default_caps / sizeof *default_caps; i++)
		set |= BIT(default_caps[i]);
	return set;
}

/* NAMES into the set *SET, "ALL" into *ALL.  A capability outside KNOWN is
 * an error when ADDING; dropping it drops nothing. */
static int
parse_names(const char *const *names, size_t n, uint64_t known, bool adding, uint64_t *set, bool *all,
	    ctrk_error_t *err)
{
	*set = 0;
	*all = false;
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];
		/* Checked before the prefix goes: "CAP_ALL" is no capability. */
		if (strcasecmp(name, "ALL") == 0) {
			*all = true;
			continue;
		}
		/* libcap-ng compares without case but knows no prefix. */
		const char *bare = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;
		int cap = capng_name_to_capability(bare);
		if (cap < 0 || cap >= CAPS_MAX)
			return ctrk_error_set(err, 0, "unknown capability '%s'", name);
		if (known & BIT(cap))
			*set |= BIT(cap);
		else if (adding)
			return ctrk_error_set(err, 0,
					      "capability '%s' cannot be given: the running kernel or ctrk-run's "
					      "bounding set does not have it",
					      name);
	}
	return 0;
}

/* SET as "CAP_NAME" strings, lowest number first, NULL at the end. */
static char **
set_names(uint64_t set, size_t *n)
{
	char **names = ctrk_xcalloc((size_t)__builtin_popcountll(set) + 1, sizeof *names);
	size_t k = 0;
	for (unsigned c = 0; c < CAPS_MAX; c++) {
		if (!(set & BIT(c)))
			continue;
		char *s = ctrk_strdup_printf("CAP_%s", cap_name(c));
		for (char *p = s; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		names[k++] = s;
	}
	*n = k;
	return names;
}

int
run_caps_resolve(const char *const *add, size_t nadd, const char *const *drop, size_t ndrop, bool privileged,
		 char ***caps, size_t *ncaps, ctrk_error_t *err)
{
	uint64_t known = known_caps(), adds, drops;
	bool add_all, drop_all;
	*caps = NULL;
	*ncaps = 0;
	if (parse_names(add, nadd, known, true, &adds, &add_all, err) < 0 ||
	    parse_names(drop, ndrop, known, false, &drops, &drop_all, err) < 0)
		return -1;

	uint64_t set = privileged || add_all ? known : default_set() & known;
	if (drop_all)
		set = 0;
	set = (set | adds) & ~drops;
	*caps = set_names(set, ncaps);
	return 0;
}

void
run_caps_free(char **caps)
{
	if (!caps)
		return;
	for (char **p = caps; *p; p++)
		free(*p);
	free(caps);
}
