/* libFuzzer target: what ctrk-netif reads from people it does not trust.
 * Input starting with '{' is a descriptor: its netns, network (a CNI
 * result) and netif record are validated as `ctrk-netif del` would, and a
 * valid network appended to itself must stay valid.  Any other input is
 * one option value, the first byte choosing the parser (interface name,
 * address, route, MAC, sysctl).  Whatever the bytes: no crash, leak or
 * out-of-bounds read; an accepted address formats and parses back to
 * itself; an accepted sysctl key stays under net/. */
/* fuzz-sources: ctrk-netif/record.c ctrk-netif/result.c ctrk-netif/addr.c ctrk-netif/link.c ctrk-netif/nl.c */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctrk-netif/link.h"
#include "ctrk-netif/netif.h"
#include "ctrk-netif/result.h"
#include "json.h"

static void
descriptor(const uint8_t *data, size_t size)
{
	ctrk_error_t err = {0};
	cJSON *d = ctrk_json_parse((const char *)data, size, "fuzz", &err);
	if (!d)
		return;
	const cJSON *network = cJSON_GetObjectItemCaseSensitive(d, "network");
	if (netif_descriptor_validate(d, &err) == 0 && network && result_validate(network, "network", &err) == 0) {
		cJSON *twice = cJSON_Duplicate(network, true);
		if (result_append(twice, network, &err) == 0 && result_validate(twice, "network", &err) < 0)
			abort();
		cJSON_Delete(twice);
	}
	cJSON_Delete(d);
}

/* PATH is "net/..." with no empty, "." or ".." component. */
static bool
under_net(const char *path)
{
	if (strncmp(path, "net/", 4) != 0)
		return false;
	for (const char *c = path; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/' && !*++c)
			return false; /* a trailing '/' */
	}
	return true;
}

static void
option(const uint8_t *data, size_t size)
{
	ctrk_error_t err = {0};
	char *s = strndup((const char *)data + 1, size - 1);
	if (!s)
		return;
	ipaddr_t a, b;
	route_spec_t r;
	unsigned char mac[6];
	char path[256], text[IPADDR_STRLEN];
	const char *value;
	switch (data[0] % 5) {
	case 0:
		ifname_check(s, "--ifname", &err);
		break;
	case 1:
		if (ip_parse(s, data[0] & 8, &a, "--addr", &err) == 0) {
			ip_format(&a, text, sizeof text);
			if (ip_parse(text, false, &b, "again", &err) < 0 || !ip_equal(&a, &b) || a.prefix != b.prefix)
				abort();
		}
		break;
	case 2:
		route_parse(s, &r, &err);
		break;
	case 3:
		mac_parse(s, mac, &err);
		break;
	case 4:
		if (sysctl_parse(s, path, sizeof path, &value, &err) == 0 && !under_net(path))
			abort();
		break;
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] == '{')
		descriptor(data, size);
	else
		option(data, size);
	return 0;
}
