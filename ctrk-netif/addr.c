/* Parsing what the caller gives (names, addresses, routes, MACs, sysctl
 * keys), and the settings made from inside a namespace: see link.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "cleanup.h"
#include "fsutil.h"
#include "link.h"

int
ifname_check(const char *name, const char *what, ctrk_error_t *err)
{
	size_t n = strlen(name);
	if (n == 0)
		return ctrk_error_set(err, 0, "%s: an interface name cannot be empty", what);
	if (n >= IFNAMSIZ)
		return ctrk_error_set(err, 0, "%s: interface name '%s' is %zu bytes, the kernel takes at most %d",
				      what, name, n, IFNAMSIZ - 1);
	if (ctrk_is_dot_or_dotdot(name))
		return ctrk_error_set(err, 0, "%s: '%s' is not a valid interface name", what, name);
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return ctrk_error_set(err, 0, "%s: interface name '%s' holds '%c', which the kernel refuses",
					      what, name, *p);
	return 0;
}

static int
family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

int
ip_parse(const char *s, bool need_prefix, ipaddr_t *a, const char *what, ctrk_error_t *err)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	memset(a, 0, sizeof *a);
	a->prefix = -1;
	if (n == 0 || n >= sizeof buf)
		return ctrk_error_set(err, 0, "%s: invalid address '%s'", what, s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->bytes) == 1)
		a->family = AF_INET6;
	else
		return ctrk_error_set(err, 0, "%s: invalid address '%s' (expected IPv4 or IPv6%s)", what, s,
				      need_prefix ? " with a prefix length, as 10.0.0.2/24" : "");
	if (!slash) {
		if (need_prefix)
			return ctrk_error_set(err, 0, "%s: '%s' has no prefix length (as in %s/%d)", what, s, buf,
					      a->family == AF_INET ? 24 : 64);
		return 0;
	}
	int max = family_bits(a->family);
	const char *p = slash + 1;
	long v = 0;
	if (!*p || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p) || (v = strtol(p, NULL, 10)) > max)
		return ctrk_error_set(err, 0, "%s: prefix length '%s' in '%s' is out of range (0-%d for %s)", what,
				      p, s, max, a->family == AF_INET ? "IPv4" : "IPv6");
	a->prefix = (int)v;
	return 0;
}

void
ip_format(const ipaddr_t *a, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	inet_ntop(a->family, a->bytes, ip, sizeof ip);
	if (a->prefix >= 0)
		snprintf(buf, size, "%s/%d", ip, a->prefix);
	else
		snprintf(buf, size, "%s", ip);
}

bool
ip_equal(const ipaddr_t *a, const ipaddr_t *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16) == 0 &&
	       (a->prefix < 0 || b->prefix < 0 || a->prefix == b->prefix);
}

bool
ip_is_network(const ipaddr_t *a)
{
	int bits = family_bits(a->family), prefix = a->prefix < 0 ? bits : a->prefix;
	for (int i = prefix; i < bits; i++)
		if (a->bytes[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

void
ip_default(int family, ipaddr_t *a)
{
	memset(a, 0, sizeof *a);
	a->family = family;
	a->prefix = 0;
}

/* A whole number in [MIN, MAX] written in decimal, nothing else. */
static int
parse_number(const char *s, long long min, long long max, long long *out)
{
	if (!*s || strlen(s) > 10 || strspn(s, "0123456789") != strlen(s))
		return -1;
	long long v = strtoll(s, NULL, 10);
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
route_parse(const char *s, route_spec_t *r, ctrk_error_t *err)
{
	char what[64 + 256];
	snprintf(what, sizeof what, "--route '%.256s'", s);
	memset(r, 0, sizeof *r);
	r->metric = r->table = -1;
	cleanup_free char *copy = ctrk_xstrdup(s);
	char *save = NULL, *tok = strtok_r(copy, ",", &save);
	if (!tok || s[0] == ',')
		return ctrk_error_set(err, 0, "%s: no destination (expected CIDR[,via=IP][,metric=N][,table=N])",
				      what);
	if (ip_parse(tok, true, &r->dst, what, err) < 0)
		return -1;
	if (!ip_is_network(&r->dst))
		return ctrk_error_set(err, 0, "%s: '%s' has host bits set past the prefix length", what, tok);
	while ((tok = strtok_r(NULL, ",", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return ctrk_error_set(err, 0, "%s: '%s' is not KEY=VALUE (via=, metric=, table=)", what, tok);
		*eq = '\0';
		const char *v = eq + 1;
		if (strcmp(tok, "via") == 0) {
			if (r->has_via)
				return ctrk_error_set(err, 0, "%s: via given twice", what);
			if (ip_parse(v, false, &r->via, what, err) < 0)
				return -1;
			if (r->via.prefix >= 0)
				return ctrk_error_set(err, 0, "%s: via=%s: a gateway has no prefix length", what, v);
			if (r->via.family != r->dst.family)
				return ctrk_error_set(err, 0, "%s: the gateway %s is not of the destination's family",
						      what, v);
			r->has_via = true;
		} else if (strcmp(tok, "metric") == 0) {
			if (r->metric >= 0)
				return ctrk_error_set(err, 0, "%s: metric given twice", what);
			if (parse_number(v, 0, UINT32_MAX, &r->metric) < 0)
				return ctrk_error_set(err, 0, "%s: metric '%s' is not a number from 0 to %u", what, v,
						      UINT32_MAX);
		} else if (strcmp(tok, "table") == 0) {
			if (r->table >= 0)
				return ctrk_error_set(err, 0, "%s: table given twice", what);
			/* 0 is "unspecified" and 255 the local table, which
			 * holds the kernel's own routes. */
			if (parse_number(v, 1, UINT32_MAX, &r->table) < 0 || r->table == 255)
				return ctrk_error_set(err, 0, "%s: table '%s' is not a number from 1 to %u (not 255)",
						      what, v, UINT32_MAX);
		} else {
			return ctrk_error_set(err, 0, "%s: unknown key '%s' (expected via=, metric=, table=)", what,
					      tok);
		}
	}
	size_t n = strlen(s);
	if (s[n - 1] == ',' || strstr(s, ",,"))
		return ctrk_error_set(err, 0, "%s: an empty part between commas", what);
	return 0;
}

int
mac_parse(const char *s, unsigned char mac[6], ctrk_error_t *err)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	if (strlen(s) != 17)
		goto bad;
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		if (!strchr(hex, p[0]) || !strchr(hex, p[1]) || !p[0] || !p[1] || (i < 5 && p[2] != ':'))
			goto bad;
		char pair[3] = {p[0], p[1], 0};
		mac[i] = (unsigned char)strtoul(pair, NULL, 16);
	}
	if (mac[0] & 1)
		return ctrk_error_set(err, 0, "--mac: '%s' is a multicast address (the first byte is odd)", s);
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return ctrk_error_set(err, 0, "--mac: '%s' is all zero", s);
	return 0;
bad:
	return ctrk_error_set(err, 0, "--mac: invalid MAC address '%s' (expected six hex pairs, as 02:00:0a:d5:00:02)",
			      s);
}

void
mac_format(const unsigned char *mac, size_t len, char *buf, size_t size)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < len && off + 3 < size; i++)
		off += (size_t)snprintf(buf + off, size - off, i ? ":%02x" : "%02x", mac[i]);
}

int
sysctl_parse(const char *kv, char *path, size_t size, const char **value, ctrk_error_t *err)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return ctrk_error_set(err, 0, "--sysctl '%s': expected KEY=VALUE, as net.ipv4.ip_forward=1", kv);
	size_t klen = (size_t)(eq - kv);
	if (klen + 1 > size || klen > 255)
		return ctrk_error_set(err, 0, "--sysctl: key '%.*s...' is too long", 64, kv);
	if (strlen(eq + 1) > 1024 || strchr(eq + 1, '\n'))
		return ctrk_error_set(err, 0, "--sysctl '%.*s': the value is over 1024 bytes or holds a newline",
				      (int)klen, kv);
	/* sysctl(8)'s two spellings: with '/' (for names holding a dot, as
	 * eth0.100) or with '.'. */
	char sep = memchr(kv, '/', klen) ? '/' : '.';
	memcpy(path, kv, klen);
	path[klen] = '\0';
	size_t ncomp = 0;
	for (char *p = path, *next; p; p = next, ncomp++) {
		char *end = strchr(p, sep);
		next = end ? end + 1 : NULL;
		if (end)
			*end = '\0';
		size_t n = strlen(p);
		bool ok = n > 0 && !ctrk_is_dot_or_dotdot(p);
		for (const char *c = p; ok && *c; c++)
			ok = isalnum((unsigned char)*c) || strchr("_-.@+", *c);
		if (!ok || (ncomp == 0 && strcmp(p, "net") != 0))
			return ctrk_error_set(err, 0, "--sysctl '%.*s': not a key under net (as net.ipv4.conf.eth0.rp_filter)",
					      (int)klen, kv);
		if (end)
			*end = '/';
	}
	if (ncomp < 2)
		return ctrk_error_set(err, 0, "--sysctl '%.*s': not a key under net (as net.ipv4.conf.eth0.rp_filter)",
				      (int)klen, kv);
	*value = eq + 1;
	return 0;
}

/* Open what netns_configure needs while inside the namespace: the sysctl
 * files (their namespace is the opener's at open time) and a socket for
 * the ethtool ioctl (it acts on the socket's namespace). */
static int
open_inside(const ctrk_strlist_t *sysctls, int *fds, bool want_sock, int *sock, ctrk_error_t *err)
{
	char path[PATH_MAX], rel[256];
	const char *value;
	for (size_t i = 0; i < sysctls->n; i++) {
		if (sysctl_parse(sysctls->v[i], rel, sizeof rel, &value, err) < 0)
			return -1;
		snprintf(path, sizeof path, "/proc/sys/%s", rel);
		fds[i] = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fds[i] < 0) {
			if (errno == ENOENT)
				return ctrk_error_set(err, 0, "sysctl '%.*s': no such key in the namespace",
						      (int)(strchr(sysctls->v[i], '=') - sysctls->v[i]), sysctls->v[i]);
			return ctrk_error_errno(err, "sysctl: opening %s in the namespace", path);
		}
	}
	if (want_sock && (*sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return ctrk_error_errno(err, "making a socket in the namespace");
	return 0;
}

int
netns_configure(int netns_fd, const ctrk_strlist_t *sysctls, const char *ifname, bool no_tx_csum, ctrk_error_t *err)
{
	if (!sysctls->n && !no_tx_csum)
		return 0;
	int sock = -1, rc = -1;
	cleanup_free int *fds = ctrk_xcalloc(sysctls->n, sizeof *fds);
	for (size_t i = 0; i < sysctls->n; i++)
		fds[i] = -1;
	int home = netns_enter(netns_fd, err);
	if (home < 0)
		return -1;
	int opened = open_inside(sysctls, fds, no_tx_csum, &sock, err);
	netns_leave(home);
	if (opened < 0)
		goto out;
	for (size_t i = 0; i < sysctls->n; i++) {
		const char *kv = sysctls->v[i], *value = strchr(kv, '=') + 1;
		size_t n = strlen(value);
		if (write(fds[i], value, n) != (ssize_t)n) {
			ctrk_error_errno(err, "sysctl '%.*s': writing '%s'", (int)(value - 1 - kv), kv, value);
			goto out;
		}
	}
	if (no_tx_csum) {
		struct ethtool_value ev = {.cmd = ETHTOOL_STXCSUM, .data = 0};
		struct ifreq ifr = {0};
		snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
		ifr.ifr_data = (void *)&ev;
		if (ioctl(sock, SIOCETHTOOL, &ifr) < 0) {
			ctrk_error_errno(err, "turning off transmit checksumming of '%s'", ifname);
			goto out;
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < sysctls->n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (sock >= 0)
		close(sock);
	return rc;
}
