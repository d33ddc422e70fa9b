/* ctrk-netif/result.c: the descriptor's "network", a CNI 1.0 result. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "ctrk-netif/result.h"
#include "tap.h"

static cJSON *
parse(const char *text)
{
	ctrk_error_t err = {0};
	cJSON *d = ctrk_json_parse(text, strlen(text), "test", &err);
	if (!d)
		printf("# parse failed: %s\n", err.msg);
	return d;
}

static void
refused(const char *text, const char *fragment)
{
	ctrk_error_t err = {0};
	cJSON *n = parse(text);
	int rc = result_validate(n, "network", &err);
	ok(rc < 0 && strstr(err.msg, fragment) != NULL, "refused: %s (%s)", text, err.msg);
	cJSON_Delete(n);
}

static void
accepted(const char *text)
{
	ctrk_error_t err = {0};
	cJSON *n = parse(text);
	ok(result_validate(n, "network", &err) == 0, "accepted: %s (%s)", text, err.msg);
	cJSON_Delete(n);
}

/* NETWORK rendered compactly equals WANT. */
static void
renders(const cJSON *network, const char *want, const char *name)
{
	char *got = ctrk_json_render(network, false);
	is_str(got, want, "%s", name);
	free(got);
}

static void
test_validate(void)
{
	accepted("{\"cniVersion\":\"1.0.0\"}");
	accepted("{\"cniVersion\":\"1.0.0\",\"interfaces\":[],\"ips\":[],\"routes\":[],\"dns\":{}}");
	accepted("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"br0\",\"mac\":\"aa:bb:cc:dd:ee:ff\"},"
		 "{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:dd:ee:00\",\"mtu\":1500,\"sandbox\":\"/run/netns/x\"}],"
		 "\"ips\":[{\"address\":\"10.213.0.2/24\",\"gateway\":\"10.213.0.1\",\"interface\":1},"
		 "{\"address\":\"fd00:213::2/64\",\"interface\":0},{\"address\":\"10.0.0.1/32\"}],"
		 "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.213.0.1\"},{\"dst\":\"::/0\",\"priority\":5,\"table\":100}],"
		 "\"dns\":{\"nameservers\":[\"10.0.0.53\"],\"domain\":\"x\",\"search\":[\"a\"],\"options\":[\"ndots:2\"]}}");
	/* A 0.4.0 result, as a conf with that version gets: "version" is extra. */
	accepted("{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":\"10.1.0.2/16\"}]}");

	refused("[]", "network: expected a CNI result");
	refused("{}", "missing field 'cniVersion'");
	refused("{\"cniVersion\":1}", "field 'cniVersion' must be a string");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":{}}", "field 'interfaces' must be an array");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":[\"eth0\"]}", "field 'interfaces[0]' must be an object");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"a\"},{}]}", "missing field 'interfaces[1].name'");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":7}]}", "field 'interfaces[0].name' must be a string");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"a\",\"mac\":[]}]}",
		"field 'interfaces[0].mac' must be a string");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"a\",\"mtu\":\"1500\"}]}",
		"field 'interfaces[0].mtu' must be an integer");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"a\",\"mtu\":1500.5}]}",
		"field 'interfaces[0].mtu' must be an integer");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"a\",\"mtu\":-1}]}",
		"field 'interfaces[0].mtu' must be an integer");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"a\",\"mtu\":1e300}]}",
		"field 'interfaces[0].mtu' must be an integer");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"a\",\"sandbox\":false}]}",
		"field 'interfaces[0].sandbox' must be a string");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":{\"address\":\"10.0.0.1/8\"}}", "field 'ips' must be an array");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":[{}]}", "missing field 'ips[0].address'");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":10}]}", "field 'ips[0].address' must be a string");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1\"}]}", "field 'ips[0].address' must be an address with a prefix");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/33\"}]}", "'ips[0].address'");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"fd00::1/129\"}]}", "'ips[0].address'");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/-1\"}]}", "'ips[0].address'");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/024\"}]}", "'ips[0].address'");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/24x\"}]}", "'ips[0].address'");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.256/24\"}]}", "'ips[0].address'");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"/24\"}]}", "'ips[0].address'");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/24\",\"gateway\":1}]}",
		"field 'ips[0].gateway' must be a string");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/24\",\"gateway\":\"10.0.0.1/24\"}]}",
		"field 'ips[0].gateway' must be an IP address");
	refused("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.2/24\",\"interface\":0}]}",
		"'ips[0].interface' given, but there are no interfaces");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"a\"}],"
		"\"ips\":[{\"address\":\"10.0.0.2/24\",\"interface\":1}]}",
		"field 'ips[0].interface' must be an integer from 0 to 0");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"a\"}],"
		"\"ips\":[{\"address\":\"10.0.0.2/24\",\"interface\":-1}]}", "'ips[0].interface'");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"a\"}],"
		"\"ips\":[{\"address\":\"10.0.0.2/24\",\"interface\":\"0\"}]}", "'ips[0].interface'");
	refused("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"a\"}],"
		"\"ips\":[{\"address\":\"10.0.0.2/24\",\"interface\":0.5}]}", "'ips[0].interface'");
	refused("{\"cniVersion\":\"1.0.0\",\"routes\":[{\"gw\":\"10.0.0.1\"}]}", "missing field 'routes[0].dst'");
	refused("{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"default\"}]}", "field 'routes[0].dst' must be a destination");
	refused("{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"x\"}]}",
		"field 'routes[0].gw' must be an IP address");
	refused("{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":[]}]}",
		"field 'routes[0].gw' must be a string");
	refused("{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"table\":4294967296}]}",
		"field 'routes[0].table'");
	refused("{\"cniVersion\":\"1.0.0\",\"routes\":[7]}", "field 'routes[0]' must be an object");
	refused("{\"cniVersion\":\"1.0.0\",\"dns\":[]}", "field 'dns' must be an object");
	refused("{\"cniVersion\":\"1.0.0\",\"dns\":{\"nameservers\":[1]}}", "field 'nameservers' must be an array of strings");
	refused("{\"cniVersion\":\"1.0.0\",\"dns\":{\"domain\":1}}", "field 'domain' must be a string");

	ctrk_error_t err = {0};
	ok(result_validate(NULL, "network", &err) < 0, "refused: no result at all");
}

static void
test_build(void)
{
	cJSON *d = cJSON_CreateObject();
	cJSON *n = result_get(d);
	ok(n == cJSON_GetObjectItemCaseSensitive(d, "network"), "result_get puts network in the descriptor");
	ok(result_get(d) == n, "result_get returns the one there");
	renders(n, "{\"cniVersion\":\"1.0.0\",\"interfaces\":[],\"ips\":[],\"routes\":[],\"dns\":{}}", "an empty result");

	int host = result_add_interface(n, "ck1", "aa:bb:cc:dd:ee:01", 1500, NULL);
	int eth0 = result_add_interface(n, "eth0", "aa:bb:cc:dd:ee:02", 1400, "/run/netns/c1");
	int eth1 = result_add_interface(n, "eth1", NULL, 0, "/run/netns/c1");
	ok(host == 0 && eth0 == 1 && eth1 == 2, "interfaces get their indexes");
	result_add_ip(n, "10.213.0.2/24", "10.213.0.1", eth0);
	result_add_ip(n, "fd00:213::2/64", NULL, eth0);
	result_add_ip(n, "10.214.0.2/24", NULL, eth1);
	result_add_route(n, "0.0.0.0/0", "10.213.0.1", -1, -1);
	result_add_route(n, "10.9.0.0/16", NULL, 10, 100);
	ctrk_error_t err = {0};
	ok(result_validate(n, "network", &err) == 0, "what is built is valid (%s)", err.msg);
	renders(n, "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"ck1\",\"mac\":\"aa:bb:cc:dd:ee:01\",\"mtu\":1500},"
		   "{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:dd:ee:02\",\"mtu\":1400,\"sandbox\":\"/run/netns/c1\"},"
		   "{\"name\":\"eth1\",\"sandbox\":\"/run/netns/c1\"}],"
		   "\"ips\":[{\"address\":\"10.213.0.2/24\",\"gateway\":\"10.213.0.1\",\"interface\":1},"
		   "{\"address\":\"fd00:213::2/64\",\"interface\":1},{\"address\":\"10.214.0.2/24\",\"interface\":2}],"
		   "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.213.0.1\"},"
		   "{\"dst\":\"10.9.0.0/16\",\"priority\":10,\"table\":100}],\"dns\":{}}",
		"interfaces, addresses and routes in CNI's shape");

	ok(result_find_interface(n, "eth0", "/run/netns/c1") == 1, "find eth0 in the sandbox");
	ok(result_find_interface(n, "eth0", NULL) == -1, "eth0 is not on the host");
	ok(result_find_interface(n, "ck1", NULL) == 0, "find the host side");
	ok(result_find_interface(n, "ck1", "/run/netns/c1") == -1, "the host side is not in the sandbox");
	ok(result_find_interface(n, "eth9", "/run/netns/c1") == -1, "no eth9");

	/* Removing eth0 drops its two addresses and renumbers eth1's. */
	result_remove_interface(n, eth0);
	renders(cJSON_GetObjectItemCaseSensitive(n, "ips"), "[{\"address\":\"10.214.0.2/24\",\"interface\":1}]",
		"remove: its addresses go, later ones are renumbered");
	ok(result_find_interface(n, "eth1", "/run/netns/c1") == 1, "eth1 moved down");
	ok(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(n, "routes")) == 2, "remove leaves routes");
	result_remove_interface(n, 7);
	result_remove_interface(n, -1);
	ok(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(n, "interfaces")) == 2, "an index out of range is ignored");
	ok(result_validate(n, "network", &err) == 0, "still valid after removal (%s)", err.msg);
	cJSON_Delete(d);

	/* A result of some other tool with no arrays at all gets them. */
	cJSON *bare = parse("{\"cniVersion\":\"1.0.0\"}");
	ok(result_add_interface(bare, "x", NULL, 0, "") == 0, "add to a result with no interfaces");
	ok(result_find_interface(bare, "x", NULL) == 0, "an empty sandbox is the host");
	result_add_ip(bare, "10.0.0.1/8", NULL, 0);
	result_add_route(bare, "::/0", "fd00::1", -1, -1);
	ok(result_validate(bare, "network", &err) == 0, "valid (%s)", err.msg);
	cJSON_Delete(bare);
}

static void
test_append(void)
{
	ctrk_error_t err = {0};
	cJSON *n = parse("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"ck1\"},{\"name\":\"eth0\",\"sandbox\":\"/n\"}],"
			 "\"ips\":[{\"address\":\"10.213.0.2/24\",\"interface\":1}],"
			 "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.213.0.1\"}],"
			 "\"dns\":{\"nameservers\":[\"10.0.0.53\"]}}");
	cJSON *add = parse("{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"br1\"},{\"name\":\"veth1\"},"
			   "{\"name\":\"net1\",\"sandbox\":\"/n\"}],"
			   "\"ips\":[{\"version\":\"4\",\"address\":\"10.214.0.2/24\",\"gateway\":\"10.214.0.1\",\"interface\":2},"
			   "{\"address\":\"10.215.0.2/24\"}],"
			   "\"routes\":[{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.214.0.1\"}],"
			   "\"dns\":{\"nameservers\":[\"10.0.0.53\",\"10.0.0.54\"],\"domain\":\"d\",\"search\":[\"s\"]}}");
	ok(result_append(n, add, &err) == 0, "append (%s)", err.msg);
	renders(n, "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"ck1\"},{\"name\":\"eth0\",\"sandbox\":\"/n\"},"
		   "{\"name\":\"br1\"},{\"name\":\"veth1\"},{\"name\":\"net1\",\"sandbox\":\"/n\"}],"
		   "\"ips\":[{\"address\":\"10.213.0.2/24\",\"interface\":1},"
		   "{\"address\":\"10.214.0.2/24\",\"gateway\":\"10.214.0.1\",\"interface\":4},"
		   "{\"address\":\"10.215.0.2/24\"}],"
		   "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.213.0.1\"},{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.214.0.1\"}],"
		   "\"dns\":{\"nameservers\":[\"10.0.0.53\",\"10.0.0.54\"],\"domain\":\"d\",\"search\":[\"s\"]}}",
		"append renumbers the indexes, drops 0.4's version, merges dns");
	ok(result_validate(n, "network", &err) == 0, "the sum is valid (%s)", err.msg);

	/* A bad result appends nothing. */
	char *before = ctrk_json_render(n, false);
	cJSON *bad = parse("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"x\"}],"
			   "\"ips\":[{\"address\":\"10.0.0.1/8\",\"interface\":3}]}");
	ok(result_append(n, bad, &err) < 0 && strstr(err.msg, "the result to append: field 'ips[0].interface'"),
	   "a result with a bad index is refused (%s)", err.msg);
	renders(n, before, "... and nothing of it is appended");
	free(before);

	/* Appending to an empty result made by result_get. */
	cJSON *d = cJSON_CreateObject();
	ok(result_append(result_get(d), add, &err) == 0, "append to an empty network (%s)", err.msg);
	ok(result_find_interface(result_get(d), "net1", "/n") == 2, "its interfaces keep their indexes");

	cJSON_Delete(d);
	cJSON_Delete(bad);
	cJSON_Delete(add);
	cJSON_Delete(n);
}

int
main(void)
{
	test_validate();
	test_build();
	test_append();
	return done_testing();
}
