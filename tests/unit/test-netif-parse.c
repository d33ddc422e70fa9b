/* ctrk-netif/addr.c: the parsers of interface names, addresses, routes,
 * MACs and sysctl keys; record.c: the rule of owner keys, namespace and
 * CNI network names, and the owner mark's alias. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "ctrk-netif/link.h"
#include "tap.h"

static void
name_ok(const char *name, int want)
{
	ctrk_error_t err = {0};
	int rc = ifname_check(name, "--ifname", &err);
	ok((rc == 0) == want, "ifname '%s' %s (%s)", name, want ? "taken" : "refused", err.msg);
}

/* ip_parse then ip_format gives WANT (NULL: refused, with FRAGMENT in the
 * message). */
static void
ip_case(const char *s, bool need_prefix, const char *want, const char *fragment)
{
	ctrk_error_t err = {0};
	ipaddr_t a;
	char buf[IPADDR_STRLEN] = "";
	int rc = ip_parse(s, need_prefix, &a, "--addr", &err);
	if (rc == 0)
		ip_format(&a, buf, sizeof buf);
	if (want)
		is_str(rc == 0 ? buf : err.msg, want, "address '%s'", s);
	else
		ok(rc < 0 && strstr(err.msg, fragment), "address '%s' refused (%s)", s, err.msg);
}

static void
route_refused(const char *s, const char *fragment)
{
	ctrk_error_t err = {0};
	route_spec_t r;
	int rc = route_parse(s, &r, &err);
	ok(rc < 0 && strstr(err.msg, fragment), "route '%s' refused (%s)", s, err.msg);
}

static void
mac_case(const char *s, const char *fragment)
{
	ctrk_error_t err = {0};
	unsigned char mac[6];
	char buf[32];
	int rc = mac_parse(s, mac, &err);
	if (!fragment) {
		mac_format(mac, 6, buf, sizeof buf);
		ok(rc == 0 && strcasecmp(buf, s) == 0, "MAC '%s' taken (%s)", s, rc == 0 ? buf : err.msg);
	} else {
		ok(rc < 0 && strstr(err.msg, fragment), "MAC '%s' refused (%s)", s, err.msg);
	}
}

static void
sysctl_case(const char *kv, const char *want_path)
{
	ctrk_error_t err = {0};
	char path[256] = "";
	const char *value = NULL;
	int rc = sysctl_parse(kv, path, sizeof path, &value, &err);
	if (want_path)
		is_str(rc == 0 ? path : err.msg, want_path, "sysctl '%s'", kv);
	else
		ok(rc < 0 && strstr(err.msg, "--sysctl"), "sysctl '%s' refused (%s)", kv, err.msg);
}

int
main(void)
{
	name_ok("eth0", 1);
	name_ok("abcdefghijklmno", 1);
	name_ok("abcdefghijklmnop", 0);
	name_ok("", 0);
	name_ok(".", 0);
	name_ok("..", 0);
	name_ok("a.b", 1);
	name_ok("a/b", 0);
	name_ok("a:b", 0);
	name_ok("a b", 0);
	name_ok("a\tb", 0);
	name_ok("a\x01", 0);

	ip_case("10.0.0.2/24", true, "10.0.0.2/24", NULL);
	ip_case("10.0.0.2/0", true, "10.0.0.2/0", NULL);
	ip_case("fd00:0:0::2/64", true, "fd00::2/64", NULL);
	ip_case("FD00::A/128", true, "fd00::a/128", NULL);
	ip_case("10.0.0.1", false, "10.0.0.1", NULL);
	ip_case("10.0.0.1", true, NULL, "has no prefix length");
	ip_case("10.0.0.1/33", true, NULL, "out of range (0-32 for IPv4)");
	ip_case("fd00::1/129", true, NULL, "out of range (0-128 for IPv6)");
	ip_case("10.0.0.1/024", true, "10.0.0.1/24", NULL);
	ip_case("10.0.0.1/0024", true, NULL, "out of range");
	ip_case("10.0.0.1/+4", true, NULL, "out of range");
	ip_case("10.0.0.1/ 4", true, NULL, "out of range");
	ip_case("10.0.0.1/24/1", true, NULL, "out of range");
	ip_case("10.0.0.256/24", true, NULL, "invalid address");
	ip_case("010.0.0.1/24", true, NULL, "invalid address");
	ip_case("/24", true, NULL, "invalid address");
	ip_case("", false, NULL, "invalid address");
	ip_case("::ffff:10.0.0.1/96", true, "::ffff:10.0.0.1/96", NULL);

	ctrk_error_t err = {0};
	route_spec_t r;
	char buf[IPADDR_STRLEN];
	ok(route_parse("10.1.0.0/16,via=10.0.0.1,metric=5,table=100", &r, &err) == 0 && r.has_via &&
		   r.metric == 5 && r.table == 100,
	   "a full route (%s)", err.msg);
	ip_format(&r.via, buf, sizeof buf);
	is_str(buf, "10.0.0.1", "its gateway");
	ok(route_parse("fd00:1::/64", &r, &err) == 0 && !r.has_via && r.metric == -1 && r.table == -1,
	   "a route without options (%s)", err.msg);
	ok(route_parse("0.0.0.0/0,via=10.0.0.1", &r, &err) == 0 && r.dst.prefix == 0, "a default route");
	ok(route_parse("10.1.0.0/16,metric=4294967295,table=4294967295", &r, &err) == 0 &&
		   r.metric == 4294967295LL && r.table == 4294967295LL,
	   "the largest metric and table");
	route_refused("10.1.0.1/16", "host bits set");
	route_refused("10.1.0.0", "no prefix length");
	route_refused("10.1.0.0/16,via=fd00::1", "not of the destination's family");
	route_refused("10.1.0.0/16,via=10.0.0.1/32", "a gateway has no prefix length");
	route_refused("10.1.0.0/16,metric=-1", "metric '-1'");
	route_refused("10.1.0.0/16,metric=4294967296", "metric '4294967296'");
	route_refused("10.1.0.0/16,metric=", "metric ''");
	route_refused("10.1.0.0/16,metric=1,metric=2", "metric given twice");
	route_refused("10.1.0.0/16,table=0", "table '0'");
	route_refused("10.1.0.0/16,table=255", "table '255'");
	route_refused("10.1.0.0/16,table=1,table=2", "table given twice");
	route_refused("10.1.0.0/16,scope=link", "unknown key 'scope'");
	route_refused("10.1.0.0/16,via", "is not KEY=VALUE");
	route_refused("10.1.0.0/16,", "empty part");
	route_refused("10.1.0.0/16,,via=10.0.0.1", "empty part");
	route_refused("", "no destination");
	route_refused(",", "no destination");

	mac_case("02:00:0a:d5:00:02", NULL);
	mac_case("AA:BB:CC:DD:EE:FE", NULL);
	mac_case("02:00:0a:d5:00", "invalid MAC");
	mac_case("02:00:0a:d5:00:02:03", "invalid MAC");
	mac_case("02-00-0a-d5-00-02", "invalid MAC");
	mac_case("0g:00:0a:d5:00:02", "invalid MAC");
	mac_case("2:00:0a:d5:00:002", "invalid MAC");
	mac_case("01:00:5e:00:00:01", "multicast");
	mac_case("00:00:00:00:00:00", "all zero");

	sysctl_case("net.ipv4.conf.eth0.rp_filter=1", "net/ipv4/conf/eth0/rp_filter");
	sysctl_case("net/ipv4/conf/eth0.100/rp_filter=1", "net/ipv4/conf/eth0.100/rp_filter");
	sysctl_case("net.ipv4.ip_local_port_range=1024 65000", "net/ipv4/ip_local_port_range");
	sysctl_case("net.core.somaxconn=", "net/core/somaxconn");
	sysctl_case("kernel.hostname=x", NULL);
	sysctl_case("net=1", NULL);
	sysctl_case("net..ipv4=1", NULL);
	sysctl_case("net/../kernel/x=1", NULL);
	sysctl_case("net/./ipv4/x=1", NULL);
	sysctl_case("/net/ipv4/x=1", NULL);
	sysctl_case("net.ipv4.x", NULL);
	sysctl_case("=1", NULL);
	sysctl_case("net.ipv4.x=1\n2", NULL);
	sysctl_case("net.ipv4.a*b=1", NULL);
	const char *value = NULL;
	char path[256];
	ok(sysctl_parse("net.ipv4.ip_forward=1", path, sizeof path, &value, &err) == 0 && strcmp(value, "1") == 0,
	   "the value after '='");

	/* One rule, three shapes. */
	ok(netif_key_ok("c1") && netif_key_ok("a_b.c-d") && netif_key_ok("_x"), "keys taken");
	ok(!netif_key_ok("") && !netif_key_ok(".x") && !netif_key_ok("-x") && !netif_key_ok("a/b") &&
	   !netif_key_ok("a b") && !netif_key_ok("a\nb"), "keys refused");
	char k129[130];
	memset(k129, 'k', 129);
	k129[129] = '\0';
	ok(!netif_key_ok(k129) && (k129[128] = '\0', netif_key_ok(k129)), "a key is at most 128 bytes");
	ok(netns_name_ok("-x") && netns_name_ok("_x") && !netns_name_ok(".x") && !netns_name_ok(".."),
	   "namespace names: not first '.' only");
	ok(netif_name_ok("x", 1, "") && !netif_name_ok("xy", 1, "") && !netif_name_ok("", 1, ""),
	   "netif_name_ok: 1 to MAX bytes");

	/* The alias: what netif_alias writes, netif_alias_parse reads; what
	 * it does not write is not a mark. */
	char alias[256], key[256];
	long long created = -1;
	netif_alias(alias, sizeof alias, "c1");
	ok(netif_alias_parse(alias, key, sizeof key, &created) == 0 && strcmp(key, "c1") == 0 && created > 0,
	   "alias round trip: '%s'", alias);
	ok(netif_alias_parse("ctrk-netif key=../x created=1", key, sizeof key, &created) < 0, "alias with a bad key");
	ok(netif_alias_parse("ctrk-netif key=c1 created=", key, sizeof key, &created) < 0, "alias without a time");
	ok(netif_alias_parse("ctrk-netif key=c1 created=1 ", key, sizeof key, &created) < 0, "alias with more");
	ok(netif_alias_parse("xctrk-netif key=c1 created=1", key, sizeof key, &created) < 0, "alias of another");
	ok(netif_alias_parse("ctrk-netif key=c1 created=1", key, 2, &created) < 0, "a key longer than the buffer");
	return done_testing();
}
