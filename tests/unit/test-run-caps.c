/* ctrk-run's capability sets: Docker's default set, --privileged, --cap-add
 * and --cap-drop with and without ALL, names in any case and with or without
 * "CAP_", unknown names; the output sorted by number, without duplicates. */
#include <cap-ng.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "ctrk-run/caps.h"
#include "fsutil.h"
#include "tap.h"

#define NONE NULL, 0
#define LIST(...) (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)

/* By number: CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, FSETID 4, KILL 5, SETGID 6,
 * SETUID 7, SETPCAP 8, NET_BIND_SERVICE 10, NET_RAW 13, SYS_CHROOT 18,
 * MKNOD 27, AUDIT_WRITE 29, SETFCAP 31. */
#define DEFAULT_HEAD "CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP"
#define DEFAULT_TAIL "CAP_SYS_CHROOT CAP_MKNOD CAP_AUDIT_WRITE CAP_SETFCAP"
#define DEFAULT DEFAULT_HEAD " CAP_NET_BIND_SERVICE CAP_NET_RAW " DEFAULT_TAIL

static char *all_caps; /* every capability of the running kernel, as the result should list them */

static char *
joined(char **caps)
{
	size_t len = 1;
	for (char **p = caps; *p; p++)
		len += strlen(*p) + 1;
	char *s = ctrk_xcalloc(1, len);
	for (char **p = caps; *p; p++) {
		if (p != caps)
			strcat(s, " ");
		strcat(s, *p);
	}
	return s;
}

/* Every name is "CAP_" and libcap-ng's, numbers strictly increasing. */
static bool
well_formed(char **caps, size_t n)
{
	int prev = -1;
	size_t k = 0;
	for (char **p = caps; *p; p++, k++) {
		if (strncmp(*p, "CAP_", 4) != 0)
			return false;
		for (const char *c = *p; *c; c++)
			if (islower((unsigned char)*c))
				return false;
		int num = capng_name_to_capability(*p + 4);
		if (num <= prev)
			return false;
		prev = num;
	}
	return k == n;
}

static void
good(const char *what, const char *const *add, size_t nadd, const char *const *drop, size_t ndrop, bool privileged,
     const char *want)
{
	char **caps = NULL;
	size_t n = 99;
	ctrk_error_t err = {0};
	int rc = run_caps_resolve(add, nadd, drop, ndrop, privileged, &caps, &n, &err);
	ok(rc == 0 && caps, "%s: resolves", what);
	if (rc < 0 || !caps) {
		printf("#   error: %s\n", err.msg);
		return;
	}
	char *got = joined(caps);
	is_str(got, want, "%s: the set", what);
	ok(well_formed(caps, n), "%s: %zu names, sorted by number, no duplicates, NULL at the end", what, n);
	free(got);
	run_caps_free(caps);
}

static void
bad(const char *what, const char *const *add, size_t nadd, const char *const *drop, size_t ndrop, const char *why)
{
	char **caps = (char **)&caps; /* not NULL: it must become NULL */
	size_t n = 99;
	ctrk_error_t err = {0};
	int rc = run_caps_resolve(add, nadd, drop, ndrop, false, &caps, &n, &err);
	ok(rc == -1 && strcmp(err.msg, why) == 0, "%s: refused: %s", what, err.msg);
	if (rc == -1 && strcmp(err.msg, why) != 0)
		printf("#   want '%s'\n", why);
	ok(caps == NULL && n == 0, "%s: nothing returned", what);
	if (rc == 0)
		run_caps_free(caps);
}

/* Every capability the running kernel knows and this process may hand
 * on, computed here on its own: numbers from /proc and the bounding set,
 * names from libcap-ng.  *LAST counts those. */
static char *
kernel_caps(int *last)
{
	char *buf = NULL;
	size_t len;
	*last = -1;
	if (ctrk_read_file("/proc/sys/kernel/cap_last_cap", 32, &buf, &len, NULL) == 0)
		*last = atoi(buf);
	free(buf);
	char *s = ctrk_xcalloc(1, 64 * 32);
	int count = 0;
	for (int i = 0; i <= *last; i++) {
		if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) != 1) {
			printf("# capability %d is not in the bounding set: left out\n", i);
			continue;
		}
		const char *name = capng_capability_to_name((unsigned)i);
		if (!name || capng_name_to_capability(name) != i) {
			printf("# capability %d has no name in libcap-ng: left out\n", i);
			continue;
		}
		if (*s)
			strcat(s, " ");
		strcat(s, "CAP_");
		for (char *p = s + strlen(s); *name; name++)
			*p++ = (char)toupper((unsigned char)*name);
		count++;
	}
	*last = count - 1;
	return s;
}

static char *
all_but(const char *without)
{
	char *s = ctrk_xstrdup(all_caps);
	char *hit = strstr(s, without);
	if (hit) {
		size_t n = strlen(without) + (hit[strlen(without)] == ' ');
		memmove(hit, hit + n, strlen(hit + n) + 1);
	}
	return s;
}

static void
test_default(void)
{
	good("default", NONE, NONE, false, DEFAULT);
	/* Docker's 14, no more */
	char **caps;
	size_t n;
	ok(run_caps_resolve(NONE, NONE, false, &caps, &n, NULL) == 0 && n == 14 && caps[14] == NULL,
	   "default: 14 capabilities");
	run_caps_free(caps);
}

static void
test_add_drop(void)
{
	good("add NET_ADMIN", LIST("NET_ADMIN"), NONE, false,
	     DEFAULT_HEAD " CAP_NET_BIND_SERVICE CAP_NET_ADMIN CAP_NET_RAW " DEFAULT_TAIL);
	good("add in every form", LIST("sys_admin", "CAP_SYS_PTRACE", "Sys_Time", "cap_sys_nice", "Cap_Sys_Boot"),
	     NONE, false,
	     DEFAULT_HEAD " CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_SYS_CHROOT CAP_SYS_PTRACE CAP_SYS_ADMIN CAP_SYS_BOOT"
			  " CAP_SYS_NICE CAP_SYS_TIME CAP_MKNOD CAP_AUDIT_WRITE CAP_SETFCAP");
	good("drop in every form", NONE, LIST("chown", "CAP_NET_RAW", "Mknod", "cap_setfcap"), false,
	     "CAP_DAC_OVERRIDE CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP"
	     " CAP_NET_BIND_SERVICE CAP_SYS_CHROOT CAP_AUDIT_WRITE");
	good("drop one not in the set", NONE, LIST("SYS_ADMIN"), false, DEFAULT);
	good("add one already in the set", LIST("CHOWN", "chown"), NONE, false, DEFAULT);
	good("add one thrice", LIST("NET_ADMIN", "net_admin", "CAP_NET_ADMIN"), LIST("SYS_ADMIN", "sys_admin"), false,
	     DEFAULT_HEAD " CAP_NET_BIND_SERVICE CAP_NET_ADMIN CAP_NET_RAW " DEFAULT_TAIL);
	good("add and drop: drop wins", LIST("NET_ADMIN", "CHOWN"), LIST("net_admin", "CAP_CHOWN"), false,
	     "CAP_DAC_OVERRIDE CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP"
	     " CAP_NET_BIND_SERVICE CAP_NET_RAW " DEFAULT_TAIL);
	/* The kernel's own numbering decides the order, not the arguments'. */
	good("order of the arguments", LIST("SYSLOG", "AUDIT_CONTROL", "LEASE"), NONE, false,
	     DEFAULT_HEAD " CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_SYS_CHROOT CAP_MKNOD CAP_LEASE CAP_AUDIT_WRITE"
			  " CAP_AUDIT_CONTROL CAP_SETFCAP CAP_SYSLOG");
}

static void
test_all(void)
{
	good("add ALL", LIST("ALL"), NONE, false, all_caps);
	good("add all", LIST("all"), NONE, false, all_caps);
	char *s = all_but("CAP_SYS_ADMIN");
	good("add ALL, drop SYS_ADMIN", LIST("All", "NET_ADMIN"), LIST("SYS_ADMIN"), false, s);
	free(s);
	good("drop ALL", NONE, LIST("ALL"), false, "");
	good("drop ALL, add one", LIST("NET_BIND_SERVICE"), LIST("ALL"), false, "CAP_NET_BIND_SERVICE");
	good("drop ALL, add two, drop one of them", LIST("NET_BIND_SERVICE", "CHOWN"), LIST("ALL", "chown"), false,
	     "CAP_NET_BIND_SERVICE");
	good("add ALL, drop ALL: drop wins", LIST("ALL"), LIST("ALL"), false, "");
	good("add ALL and one, drop ALL: the one", LIST("ALL", "KILL"), LIST("all"), false, "CAP_KILL");
}

static void
test_privileged(int last)
{
	good("privileged", NONE, NONE, true, all_caps);
	good("privileged, add ALL and one", LIST("ALL", "CHOWN"), NONE, true, all_caps);
	char *s = all_but("CAP_NET_RAW");
	good("privileged, drop NET_RAW", NONE, LIST("net_raw"), true, s);
	free(s);
	good("privileged, drop ALL, add one", LIST("KILL"), LIST("ALL"), true, "CAP_KILL");

	char **caps;
	size_t n;
	if (run_caps_resolve(NONE, NONE, true, &caps, &n, NULL) == 0) {
		ok(last < 0 || n == (size_t)last + 1, "privileged: %zu capabilities, as many as can be had (%d)", n, last);
		ok(n > 0 && strcmp(caps[0], "CAP_CHOWN") == 0, "privileged: CAP_CHOWN first");
		bool admin = false;
		for (size_t i = 0; i < n; i++)
			admin |= strcmp(caps[i], "CAP_SYS_ADMIN") == 0;
		ok(admin, "privileged: CAP_SYS_ADMIN among them");
		run_caps_free(caps);
	} else {
		ok(0, "privileged resolves");
	}
}

static void
test_unknown(void)
{
	bad("unknown add", LIST("NOPE"), NONE, "unknown capability 'NOPE'");
	bad("unknown drop", NONE, LIST("CAP_NOPE"), "unknown capability 'CAP_NOPE'");
	bad("unknown after good ones", LIST("CHOWN", "KILL", "cap_nope"), NONE, "unknown capability 'cap_nope'");
	bad("empty", LIST(""), NONE, "unknown capability ''");
	bad("prefix only", LIST("CAP_"), NONE, "unknown capability 'CAP_'");
	bad("CAP_ALL", LIST("CAP_ALL"), NONE, "unknown capability 'CAP_ALL'");
	bad("a number", LIST("0"), NONE, "unknown capability '0'");
	bad("a space", NONE, LIST("chown "), "unknown capability 'chown '");
	bad("no underscore", LIST("CAPCHOWN"), NONE, "unknown capability 'CAPCHOWN'");
	bad("prefix twice", LIST("CAP_CAP_CHOWN"), NONE, "unknown capability 'CAP_CAP_CHOWN'");
	bad("libcap-ng's name for a nameless number", LIST("cap_41"), NONE, "unknown capability 'cap_41'");
	/* A NULL error is allowed. */
	char **caps = NULL;
	size_t n;
	ok(run_caps_resolve(LIST("NOPE"), NONE, false, &caps, &n, NULL) == -1 && !caps, "no error struct: still -1");
	run_caps_free(NULL);
	ok(1, "run_caps_free(NULL) is harmless");
}

int
main(void)
{
	int last;
	all_caps = kernel_caps(&last);
	printf("# kernel's last capability: %d\n", last);
	test_default();
	test_add_drop();
	test_all();
	test_privileged(last);
	test_unknown();
	free(all_caps);
	return done_testing();
}
