/* The descriptor's "network": a CNI 1.0 result (see result.h).
 *
 * The shape is the CNI spec's "Success" result:
 * https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 * Everything read from it is checked first (result_validate), since it may
 * come from a descriptor or a plugin that nothing vouches for. */
#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "result.h"

cJSON *
result_get(cJSON *d)
{
	cJSON *network = cJSON_GetObjectItemCaseSensitive(d, "network");
	if (cJSON_IsObject(network))
		return network;
	network = cJSON_CreateObject();
	cJSON_AddStringToObject(network, "cniVersion", RESULT_CNI_VERSION);
	cJSON_AddArrayToObject(network, "interfaces");
	cJSON_AddArrayToObject(network, "ips");
	cJSON_AddArrayToObject(network, "routes");
	cJSON_AddObjectToObject(network, "dns");
	ctrk_json_set(d, "network", network);
	return network;
}

/* NETWORK[KEY] as an array, made when absent (a plugin's result may omit
 * the ones it has nothing for). */
static cJSON *
array_of(cJSON *network, const char *key)
{
	cJSON *a = cJSON_GetObjectItemCaseSensitive(network, key);
	if (!cJSON_IsArray(a)) {
		a = cJSON_CreateArray();
		ctrk_json_set(network, key, a);
	}
	return a;
}

/* ---- Validation ---- */

/* An IPv4 or IPv6 address in text; *FAMILY gets AF_INET or AF_INET6. */
static bool
ip_ok(const char *s, int *family)
{
	unsigned char buf[16];
	if (inet_pton(AF_INET, s, buf) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

/* ADDRESS/PREFIX with the prefix in range for the family; digits only, no
 * sign or leading zeros beyond "0", so that one text means one prefix. */
static bool
cidr_ok(const char *s)
{
	const char *slash = strchr(s, '/');
	char addr[INET6_ADDRSTRLEN];
	int family;
	if (!slash || (size_t)(slash - s) >= sizeof addr)
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (!ip_ok(addr, &family))
		return false;
	const char *p = slash + 1;
	size_t n = strspn(p, "0123456789");
	if (n == 0 || n > 3 || p[n] != '\0' || (n > 1 && p[0] == '0'))
		return false;
	return atoi(p) <= (family == AF_INET ? 32 : 128);
}

/* The field WHAT: field 'ARRAY[I].KEY', as a string (REQUIRED or not);
 * CHECK, when given, judges its text (KIND names what it must be). */
static int
field_string(const cJSON *obj, const char *array, int i, const char *key, bool required,
	     bool (*check)(const char *), const char *kind, const char **out, const char *what,
	     ctrk_error_t *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v) {
		if (required)
			return ctrk_error_set(err, 0, "%s: missing field '%s[%d].%s'", what, array, i, key);
		return 0;
	}
	if (!cJSON_IsString(v))
		return ctrk_error_set(err, 0, "%s: field '%s[%d].%s' must be a string", what, array, i, key);
	if (check && !check(v->valuestring))
		return ctrk_error_set(err, 0, "%s: field '%s[%d].%s' must be %s, not '%s'", what, array, i,
				      key, kind, v->valuestring);
	if (out)
		*out = v->valuestring;
	return 0;
}

/* An integer in [MIN, MAX] at ARRAY[I].KEY, when present. */
static int
field_int(const cJSON *obj, const char *array, int i, const char *key, long long min, long long max,
	  long long *out, const char *what, ctrk_error_t *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return 0;
	/* The range first: converting a double outside long long's is
	 * undefined. */
	double x = cJSON_IsNumber(v) ? v->valuedouble : 0.5;
	if (!(x >= (double)min && x <= (double)max) || x != (double)(long long)x)
		return ctrk_error_set(err, 0, "%s: field '%s[%d].%s' must be an integer from %lld to %lld", what,
				      array, i, key, min, max);
	if (out)
		*out = (long long)x;
	return 0;
}

static bool
ip_text_ok(const char *s)
{
	int family;
	return ip_ok(s, &family);
}

/* NETWORK[KEY]: absent, or an array of objects; *N gets its length. */
static int
array_field(const cJSON *network, const char *key, const cJSON **out, int *n, const char *what,
	    ctrk_error_t *err)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(network, key), *e;
	*out = NULL;
	*n = 0;
	if (!a)
		return 0;
	if (!cJSON_IsArray(a))
		return ctrk_error_set(err, 0, "%s: field '%s' must be an array", what, key);
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsObject(e))
			return ctrk_error_set(err, 0, "%s: field '%s[%d]' must be an object", what, key, *n);
		if (*n == INT_MAX)
			return ctrk_error_set(err, 0, "%s: field '%s' is too long", what, key);
		(*n)++;
	}
	*out = a;
	return 0;
}

static int
dns_validate(const cJSON *network, const char *what, ctrk_error_t *err)
{
	const cJSON *dns = NULL, *a;
	const char *s;
	if (ctrk_json_get_object(network, "dns", false, &dns, what, err) < 0)
		return -1;
	if (!dns)
		return 0;
	char dns_what[128];
	snprintf(dns_what, sizeof dns_what, "%s's dns", what);
	if (ctrk_json_get_string(dns, "domain", false, &s, dns_what, err) < 0 ||
	    ctrk_json_get_string_array(dns, "nameservers", false, &a, dns_what, err) < 0 ||
	    ctrk_json_get_string_array(dns, "search", false, &a, dns_what, err) < 0 ||
	    ctrk_json_get_string_array(dns, "options", false, &a, dns_what, err) < 0)
		return -1;
	return 0;
}

int
result_validate(const cJSON *network, const char *what, ctrk_error_t *err)
{
	const cJSON *interfaces, *ips, *routes, *e;
	const char *s;
	int nif, nips, nroutes, i;

	if (!cJSON_IsObject(network))
		return ctrk_error_set(err, 0, "%s: expected a CNI result (an object)", what);
	if (ctrk_json_get_string(network, "cniVersion", true, &s, what, err) < 0)
		return -1;
	if (array_field(network, "interfaces", &interfaces, &nif, what, err) < 0 ||
	    array_field(network, "ips", &ips, &nips, what, err) < 0 ||
	    array_field(network, "routes", &routes, &nroutes, what, err) < 0)
		return -1;

	i = 0;
	cJSON_ArrayForEach(e, interfaces) {
		if (field_string(e, "interfaces", i, "name", true, NULL, NULL, NULL, what, err) < 0 ||
		    field_string(e, "interfaces", i, "mac", false, NULL, NULL, NULL, what, err) < 0 ||
		    field_int(e, "interfaces", i, "mtu", 0, INT_MAX, NULL, what, err) < 0 ||
		    field_string(e, "interfaces", i, "sandbox", false, NULL, NULL, NULL, what, err) < 0)
			return -1;
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(e, ips) {
		if (field_string(e, "ips", i, "address", true, cidr_ok, "an address with a prefix (CIDR)", NULL,
				 what, err) < 0 ||
		    field_string(e, "ips", i, "gateway", false, ip_text_ok, "an IP address", NULL, what, err) < 0)
			return -1;
		/* An index into interfaces: a plugin may omit it (no
		 * interface), but one given must name an interface. */
		if (cJSON_GetObjectItemCaseSensitive(e, "interface") && nif == 0)
			return ctrk_error_set(err, 0, "%s: field 'ips[%d].interface' given, but there are no "
						      "interfaces", what, i);
		if (field_int(e, "ips", i, "interface", 0, nif - 1, NULL, what, err) < 0)
			return -1;
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(e, routes) {
		if (field_string(e, "routes", i, "dst", true, cidr_ok, "a destination with a prefix (CIDR)",
				 NULL, what, err) < 0 ||
		    field_string(e, "routes", i, "gw", false, ip_text_ok, "an IP address", NULL, what, err) < 0 ||
		    field_int(e, "routes", i, "priority", 0, UINT32_MAX, NULL, what, err) < 0 ||
		    field_int(e, "routes", i, "table", 0, UINT32_MAX, NULL, what, err) < 0)
			return -1;
		i++;
	}
	return dns_validate(network, what, err);
}

/* ---- Building ---- */

int
result_add_interface(cJSON *network, const char *name, const char *mac, int mtu, const char *sandbox)
{
	cJSON *interfaces = array_of(network, "interfaces");
	cJSON *iface = cJSON_CreateObject();
	cJSON_AddStringToObject(iface, "name", name);
	if (mac)
		cJSON_AddStringToObject(iface, "mac", mac);
	if (mtu > 0)
		cJSON_AddNumberToObject(iface, "mtu", mtu);
	if (sandbox)
		cJSON_AddStringToObject(iface, "sandbox", sandbox);
	cJSON_AddItemToArray(interfaces, iface);
	return cJSON_GetArraySize(interfaces) - 1;
}

int
result_find_interface(const cJSON *network, const char *name, const char *sandbox)
{
	const cJSON *iface;
	int i = 0;
	cJSON_ArrayForEach(iface, cJSON_GetObjectItemCaseSensitive(network, "interfaces")) {
		const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(iface, "name"));
		const char *sb = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(iface, "sandbox"));
		/* CNI writes "" or no sandbox for a host-side interface. */
		if (sb && !*sb)
			sb = NULL;
		if (n && strcmp(n, name) == 0 &&
		    (sandbox ? sb && strcmp(sb, sandbox) == 0 : sb == NULL))
			return i;
		i++;
	}
	return -1;
}

void
result_add_ip(cJSON *network, const char *cidr, const char *gateway, int ifindex)
{
	cJSON *ip = cJSON_CreateObject();
	cJSON_AddStringToObject(ip, "address", cidr);
	if (gateway)
		cJSON_AddStringToObject(ip, "gateway", gateway);
	cJSON_AddNumberToObject(ip, "interface", ifindex);
	cJSON_AddItemToArray(array_of(network, "ips"), ip);
}

void
result_add_route(cJSON *network, const char *dst, const char *gw, long priority, long table)
{
	cJSON *route = cJSON_CreateObject();
	cJSON_AddStringToObject(route, "dst", dst);
	if (gw)
		cJSON_AddStringToObject(route, "gw", gw);
	if (priority >= 0)
		cJSON_AddNumberToObject(route, "priority", (double)priority);
	if (table >= 0)
		cJSON_AddNumberToObject(route, "table", (double)table);
	cJSON_AddItemToArray(array_of(network, "routes"), route);
}

void
result_remove_interface(cJSON *network, int ifindex)
{
	cJSON *interfaces = cJSON_GetObjectItemCaseSensitive(network, "interfaces");
	cJSON *ips = cJSON_GetObjectItemCaseSensitive(network, "ips");
	if (!cJSON_IsArray(interfaces) || ifindex < 0 || ifindex >= cJSON_GetArraySize(interfaces))
		return;
	cJSON *ip = cJSON_IsArray(ips) ? ips->child : NULL;
	while (ip) {
		cJSON *next = ip->next;
		cJSON *idx = cJSON_GetObjectItemCaseSensitive(ip, "interface");
		if (cJSON_IsNumber(idx) && idx->valuedouble == ifindex)
			cJSON_Delete(cJSON_DetachItemViaPointer(ips, ip));
		else if (cJSON_IsNumber(idx) && idx->valuedouble > ifindex)
			cJSON_SetNumberValue(idx, idx->valuedouble - 1);
		ip = next;
	}
	cJSON_DeleteItemFromArray(interfaces, ifindex);
}

/* Add to LIST (an array of strings) each string of MORE it lacks. */
static void
merge_strings(cJSON *dns, const char *key, const cJSON *more)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, more) {
		cJSON *list = cJSON_GetObjectItemCaseSensitive(dns, key), *have;
		bool found = false;
		if (!list) {
			list = cJSON_CreateArray();
			cJSON_AddItemToObject(dns, key, list);
		}
		cJSON_ArrayForEach(have, list)
			found = found || strcmp(have->valuestring, s->valuestring) == 0;
		if (!found)
			cJSON_AddItemToArray(list, cJSON_CreateString(s->valuestring));
	}
}

/* ADD's dns into NETWORK's: a domain only when NETWORK has none; the
 * lists gain what they lack, in order. */
static void
merge_dns(cJSON *network, const cJSON *add)
{
	const cJSON *from = cJSON_GetObjectItemCaseSensitive(add, "dns");
	if (!from)
		return;
	cJSON *dns = cJSON_GetObjectItemCaseSensitive(network, "dns");
	if (!cJSON_IsObject(dns)) {
		dns = cJSON_CreateObject();
		ctrk_json_set(network, "dns", dns);
	}
	const cJSON *domain = cJSON_GetObjectItemCaseSensitive(from, "domain");
	if (domain && !cJSON_GetObjectItemCaseSensitive(dns, "domain"))
		cJSON_AddStringToObject(dns, "domain", domain->valuestring);
	merge_strings(dns, "nameservers", cJSON_GetObjectItemCaseSensitive(from, "nameservers"));
	merge_strings(dns, "search", cJSON_GetObjectItemCaseSensitive(from, "search"));
	merge_strings(dns, "options", cJSON_GetObjectItemCaseSensitive(from, "options"));
}

int
result_append(cJSON *network, const cJSON *add, ctrk_error_t *err)
{
	const cJSON *e;
	/* Both are checked first: nothing is appended from a result that is
	 * half wrong, and the indexes below are known to be in range. */
	if (result_validate(network, "network", err) < 0 || result_validate(add, "the result to append", err) < 0)
		return -1;
	cJSON *interfaces = array_of(network, "interfaces");
	int offset = cJSON_GetArraySize(interfaces);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(add, "interfaces"))
		cJSON_AddItemToArray(interfaces, cJSON_Duplicate(e, true));
	cJSON *ips = array_of(network, "ips");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(add, "ips")) {
		cJSON *ip = cJSON_Duplicate(e, true);
		cJSON *idx = cJSON_GetObjectItemCaseSensitive(ip, "interface");
		if (idx)
			cJSON_SetNumberValue(idx, idx->valuedouble + offset);
		/* CNI 0.3/0.4 results carry "version" ("4"/"6"), which 1.0
		 * dropped: the address says it. */
		cJSON_DeleteItemFromObjectCaseSensitive(ip, "version");
		cJSON_AddItemToArray(ips, ip);
	}
	cJSON *routes = array_of(network, "routes");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(add, "routes"))
		cJSON_AddItemToArray(routes, cJSON_Duplicate(e, true));
	merge_dns(network, add);
	return 0;
}
