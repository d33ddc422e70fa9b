/* The descriptor's "netif" record and the owner mark: see netif.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "netif.h"
#include "result.h"

void
netif_alias(char *buf, size_t size, const char *key)
{
	snprintf(buf, size, NETIF_ALIAS_PREFIX "key=%s created=%lld", key, (long long)time(NULL));
}

bool
netif_name_ok(const char *s, size_t max, const char *not_first)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t n = strlen(s);
	return n > 0 && n <= max && strspn(s, ok) == n && !strchr(not_first, s[0]);
}

/* The same rule as ctrk-run's container ids: a key names a container. */
bool
netif_key_ok(const char *key)
{
	return netif_name_ok(key, 128, ".-");
}

int
netif_alias_parse(const char *alias, char *key, size_t key_size, long long *created)
{
	size_t plen = strlen(NETIF_ALIAS_PREFIX "key=");
	if (strncmp(alias, NETIF_ALIAS_PREFIX "key=", plen) != 0)
		return -1;
	const char *k = alias + plen, *sp = strchr(k, ' ');
	if (!sp || (size_t)(sp - k) >= key_size || strncmp(sp, " created=", 9) != 0)
		return -1;
	memcpy(key, k, (size_t)(sp - k));
	key[sp - k] = '\0';
	char *end;
	errno = 0;
	long long t = strtoll(sp + 9, &end, 10);
	if (errno || end == sp + 9 || *end || t < 0 || !netif_key_ok(key))
		return -1;
	*created = t;
	return 0;
}

const char *
netif_key(const netif_opts_t *o, const cJSON *d, ctrk_error_t *err)
{
	const char *key = o->key, *from = "--key";
	const char *rec_key = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "netif"), "key"));
	const cJSON *obj;
	/* One descriptor has one owner: what --key would add, del (which
	 * checks the marks against netif.key) would leave behind. */
	if (key && rec_key && strcmp(key, rec_key) != 0)
		return ctrk_error_set(err, 0, "the owner key '%s' is not the descriptor's netif.key '%s'", key,
				      rec_key), NULL;
	if (!key && (key = rec_key))
		from = "the descriptor's netif.key";
	if (!key && (obj = cJSON_GetObjectItemCaseSensitive(d, "container")) &&
	    (key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "id"))))
		from = "the descriptor's container.id";
	if (!key && (obj = cJSON_GetObjectItemCaseSensitive(d, "snapshot")) &&
	    (key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "key"))))
		from = "the descriptor's snapshot.key";
	const cJSON *netns = cJSON_GetObjectItemCaseSensitive(d, "netns");
	if (cJSON_IsObject(netns)) /* {"path"}, as ctrk-run also reads it */
		netns = cJSON_GetObjectItemCaseSensitive(netns, "path");
	if (!key && (key = cJSON_GetStringValue(netns))) {
		const char *slash = strrchr(key, '/');
		key = slash ? slash + 1 : key;
		from = "the namespace's name";
	}
	if (!key)
		return ctrk_error_set(err, 0, "no owner key: give --key, or a descriptor with a container, "
					      "snapshot or netns"), NULL;
	if (!netif_key_ok(key))
		return ctrk_error_set(err, 0, "invalid owner key '%s' (from %s): use letters, digits, '_', "
					      "'.' and '-' (not first), at most 128", key, from), NULL;
	return key;
}

cJSON *
netif_record(cJSON *d, const char *key)
{
	cJSON *rec = cJSON_GetObjectItemCaseSensitive(d, "netif");
	if (cJSON_IsObject(rec))
		return rec;
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "key", key);
	cJSON_AddArrayToObject(rec, "added");
	ctrk_json_set(d, "netif", rec);
	return rec;
}

void
netif_record_add(cJSON *d, const char *key, cJSON *entry)
{
	cJSON *rec = netif_record(d, key);
	cJSON *added = cJSON_GetObjectItemCaseSensitive(rec, "added");
	if (!cJSON_IsArray(added)) {
		added = cJSON_CreateArray();
		ctrk_json_set(rec, "added", added);
	}
	cJSON_AddItemToArray(added, entry);
}

int
netif_descriptor_validate(const cJSON *d, ctrk_error_t *err)
{
	const char *s;
	const cJSON *network = NULL, *rec = NULL, *added = NULL, *a;
	const cJSON *netns = cJSON_GetObjectItemCaseSensitive(d, "netns");
	if (cJSON_IsObject(netns) ? ctrk_json_get_string(netns, "path", true, &s, "descriptor: netns", err) < 0
				  : ctrk_json_get_string(d, "netns", false, &s, "descriptor", err) < 0)
		return -1;
	if (ctrk_json_get_object(d, "network", false, &network, "descriptor", err) < 0 ||
	    ctrk_json_get_object(d, "netif", false, &rec, "descriptor", err) < 0)
		return -1;
	if (!rec)
		return 0;
	const cJSON *created = cJSON_GetObjectItemCaseSensitive(rec, "netns_created");
	if (created && !cJSON_IsBool(created))
		return ctrk_error_set(err, 0, "descriptor: field 'netif.netns_created': expected true or false");
	if (ctrk_json_get_string(rec, "key", true, &s, "netif", err) < 0 ||
	    ctrk_json_get_array(rec, "added", false, &added, "netif", err) < 0)
		return -1;
	if (!netif_key_ok(s))
		return ctrk_error_set(err, 0, "descriptor: field 'netif.key': invalid key '%s'", s);
	cJSON_ArrayForEach(a, added) {
		static const char *const fields[] = {"type", "ifname", "host", "bridge", "master",
						     "device", "conf", "network", "container_id", NULL};
		if (!cJSON_IsObject(a))
			return ctrk_error_set(err, 0, "descriptor: field 'netif.added': expected objects");
		for (const char *const *f = fields; *f; f++)
			if (ctrk_json_get_string(a, *f, f == fields, &s, "netif.added[]", err) < 0)
				return -1;
		/* cni: the chain's result, the prevResult of its DEL. */
		const cJSON *result = cJSON_GetObjectItemCaseSensitive(a, "result");
		if (result && result_validate(result, "descriptor: netif.added[].result", err) < 0)
			return -1;
	}
	return 0;
}
