#include "descriptor.h"

#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"

cJSON *
ctrk_descriptor_new(void)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "version", CTRK_DESCRIPTOR_VERSION);
	return d;
}

cJSON *
ctrk_descriptor_read(int fd, bool optional, ctrk_error_t *err)
{
	if (isatty(fd))
		return ctrk_descriptor_new();
	cleanup_free char *buf = NULL;
	size_t len = 0;
	if (ctrk_read_all_fd(fd, CTRK_DESCRIPTOR_MAX, &buf, &len, err) < 0) {
		ctrk_error_wrap(err, "reading the descriptor");
		return NULL;
	}
	if (optional && strspn(buf, " \t\r\n") == len)
		return ctrk_descriptor_new();
	/* In a pipeline, empty input means a step before this one failed. */
	if (strspn(buf, " \t\r\n") == len) {
		ctrk_error_set(err, 0, "no descriptor on stdin (empty input)");
		return NULL;
	}
	cleanup_json cJSON *d = ctrk_json_parse(buf, len, "descriptor", err);
	if (!d)
		return NULL;
	if (ctrk_descriptor_validate(d, err) < 0)
		return NULL;
	return steal_pointer(&d);
}

int
ctrk_mount_validate(const cJSON *m, const char *what, ctrk_error_t *err)
{
	const char *type = NULL, *target = NULL, *source = NULL;
	const cJSON *options = NULL;
	if (!cJSON_IsObject(m))
		return ctrk_error_set(err, 0, "%s: must be an object", what);
	if (ctrk_json_get_string(m, "type", true, &type, what, err) < 0 ||
	    ctrk_json_get_string(m, "source", false, &source, what, err) < 0 ||
	    ctrk_json_get_string(m, "target", true, &target, what, err) < 0 ||
	    ctrk_json_get_string_array(m, "options", false, &options, what, err) < 0)
		return -1;
	if (type[0] == '\0')
		return ctrk_error_set(err, 0, "%s: 'type' is empty", what);
	if (target[0] != '/')
		return ctrk_error_set(err, 0, "%s: 'target' must be an absolute path, not '%s'", what, target);
	return 0;
}

int
ctrk_image_config_validate(const cJSON *config, const char *what, ctrk_error_t *err)
{
	static const char *const string_arrays[] = {"Env", "Entrypoint", "Cmd", NULL};
	static const char *const strings[] = {"WorkingDir", "User", "StopSignal", NULL};
	static const char *const objects[] = {"Volumes", "ExposedPorts", "Labels", NULL};
	const cJSON *a;
	const char *s;
	if (!cJSON_IsObject(config))
		return ctrk_error_set(err, 0, "%s: must be an object", what);
	for (const char *const *k = string_arrays; *k; k++)
		if (ctrk_json_get_string_array(config, *k, false, &a, what, err) < 0)
			return -1;
	for (const char *const *k = strings; *k; k++)
		if (ctrk_json_get_string(config, *k, false, &s, what, err) < 0)
			return -1;
	for (const char *const *k = objects; *k; k++)
		if (ctrk_json_get_object(config, *k, false, &a, what, err) < 0)
			return -1;
	return 0;
}

int
ctrk_descriptor_validate(const cJSON *d, ctrk_error_t *err)
{
	static const char what[] = "descriptor";
	if (!cJSON_IsObject(d))
		return ctrk_error_set(err, 0, "descriptor: must be a JSON object");

	long long version = CTRK_DESCRIPTOR_VERSION;
	if (ctrk_json_get_int64(d, "version", false, &version, what, err) < 0)
		return -1;
	if (version != CTRK_DESCRIPTOR_VERSION)
		return ctrk_error_set(err, 0, "descriptor: version %lld is not supported (this is version %d)",
				      version, CTRK_DESCRIPTOR_VERSION);

	static const char *const objects[] = {"image", "snapshot", "layer", "container", "netif", NULL};
	static const char *const strings[] = {"rootfs", NULL};
	const cJSON *obj = NULL;
	const char *str = NULL;
	for (const char *const *k = objects; *k; k++)
		if (ctrk_json_get_object(d, *k, false, &obj, what, err) < 0)
			return -1;
	for (const char *const *k = strings; *k; k++)
		if (ctrk_json_get_string(d, *k, false, &str, what, err) < 0)
			return -1;
	/* netns: a path, or an object with "path" (ctrk-run reads both). */
	const cJSON *netns = cJSON_GetObjectItemCaseSensitive(d, "netns");
	if (cJSON_IsObject(netns) && ctrk_json_get_string(netns, "path", true, &str, "descriptor: netns", err) < 0)
		return -1;
	if (netns && !cJSON_IsObject(netns) && ctrk_json_get_string(d, "netns", false, &str, what, err) < 0)
		return -1;
	/* The run-time defaults ctrk-run acts on: a User that is a number, or
	 * a Cmd that is a string, is an error, never a default (root, the
	 * image's own) that grants more. */
	const cJSON *image = cJSON_GetObjectItemCaseSensitive(d, "image"), *config = NULL;
	if (ctrk_json_get_object(image, "config", false, &config, "descriptor: image", err) < 0 ||
	    (config && ctrk_image_config_validate(config, "descriptor: image.config", err) < 0))
		return -1;

	const cJSON *network = cJSON_GetObjectItemCaseSensitive(d, "network");
	if (network && !cJSON_IsObject(network) && !cJSON_IsArray(network) && !cJSON_IsNull(network))
		return ctrk_error_set(err, 0, "descriptor: field 'network' must be an object or an array");

	const cJSON *mounts = NULL, *m, *volumes = NULL;
	if (ctrk_json_get_array(d, "mounts", false, &mounts, what, err) < 0 ||
	    ctrk_json_get_array(d, "volumes", false, &volumes, what, err) < 0)
		return -1;
	int i = 0;
	cJSON_ArrayForEach(m, mounts)
	{
		char mwhat[64];
		snprintf(mwhat, sizeof mwhat, "descriptor: mounts[%d]", i++);
		if (ctrk_mount_validate(m, mwhat, err) < 0)
			return -1;
	}
	return 0;
}

cJSON *
ctrk_mount_new(const char *type, const char *source, const char *target, const char *const *options)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", type);
	cJSON_AddStringToObject(m, "source", source ? source : type);
	cJSON_AddStringToObject(m, "target", target);
	cJSON *opts = cJSON_AddArrayToObject(m, "options");
	for (; options && *options; options++)
		cJSON_AddItemToArray(opts, cJSON_CreateString(*options));
	return m;
}

static bool
is_rootfs_mount(const cJSON *m)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "target");
	return cJSON_IsString(t) && strcmp(t->valuestring, "/") == 0;
}

void
ctrk_descriptor_set_rootfs_mounts(cJSON *d, cJSON *mounts)
{
	cJSON *old = cJSON_DetachItemFromObjectCaseSensitive(d, "mounts");
	cJSON *m;
	/* Keep the other tools' mounts, in their order, after the rootfs. */
	while (old && (m = old->child)) {
		cJSON_DetachItemViaPointer(old, m);
		if (is_rootfs_mount(m))
			cJSON_Delete(m);
		else
			cJSON_AddItemToArray(mounts, m);
	}
	cJSON_Delete(old);
	cJSON_AddItemToObject(d, "mounts", mounts);
}

int
ctrk_descriptor_write(int fd, cJSON *d, ctrk_error_t *err)
{
	ctrk_json_set(d, "version", cJSON_CreateNumber(CTRK_DESCRIPTOR_VERSION));
	return ctrk_json_write_fd(fd, d, isatty(fd), err);
}
