/* The descriptor contract: validation, pass-through, rootfs mounts. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "descriptor.h"
#include "json.h"
#include "tap.h"

static cJSON *
read_text(const char *text, bool optional, ctrk_error_t *err)
{
	int fds[2];
	if (pipe(fds) < 0)
		abort();
	if (write(fds[1], text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fds[1]);
	cJSON *d = ctrk_descriptor_read(fds[0], optional, err);
	close(fds[0]);
	return d;
}

static void
expect_error(const char *text, const char *fragment)
{
	ctrk_error_t err = {0};
	cJSON *d = read_text(text, false, &err);
	ok(d == NULL && strstr(err.msg, fragment) != NULL, "refused %s (%s)", text, err.msg);
	cJSON_Delete(d);
}

static void
test_validation(void)
{
	expect_error("", "empty input");
	expect_error("[]", "must be a JSON object");
	expect_error("{\"version\":2}", "version 2 is not supported");
	expect_error("{\"version\":\"1\"}", "'version' must be a number");
	/* The image's run-time defaults: a wrong type is an error naming the
	 * field, never a default that grants more (root, the image's Cmd). */
	expect_error("{\"image\":{\"config\":{\"User\":0}}}", "image.config: field 'User' must be a string");
	expect_error("{\"image\":{\"config\":{\"User\":[\"nobody\"]}}}", "field 'User' must be a string");
	expect_error("{\"image\":{\"config\":{\"Env\":\"A=1\"}}}", "field 'Env' must be an array");
	expect_error("{\"image\":{\"config\":{\"Cmd\":\"sh\"}}}", "field 'Cmd' must be an array");
	expect_error("{\"image\":{\"config\":{\"Entrypoint\":[\"sh\",1]}}}", "field 'Entrypoint' must be an array of strings");
	expect_error("{\"image\":{\"config\":{\"WorkingDir\":1}}}", "field 'WorkingDir' must be a string");
	expect_error("{\"image\":{\"config\":{\"StopSignal\":9}}}", "field 'StopSignal' must be a string");
	expect_error("{\"image\":{\"config\":[]}}", "field 'config' must be an object");
	expect_error("{} {}", "trailing data");
	expect_error("{\"rootfs\":3}", "'rootfs' must be a string");
	expect_error("{\"image\":[]}", "'image' must be an object");
	expect_error("{\"layer\":\"x\"}", "'layer' must be an object");
	expect_error("{\"mounts\":{}}", "'mounts' must be an array");
	expect_error("{\"mounts\":[{\"source\":\"x\",\"target\":\"/\"}]}", "missing field 'type'");
	expect_error("{\"mounts\":[{\"type\":\"bind\",\"source\":\"x\",\"target\":\"rel\"}]}", "absolute path");
	expect_error("{\"mounts\":[{\"type\":\"bind\",\"target\":\"/a\",\"options\":[1]}]}", "array of strings");
	expect_error("{\"network\":\"x\"}", "'network' must be an object or an array");

	ctrk_error_t err = {0};
	cJSON *d = read_text("  \n", true, &err);
	ok(d && cJSON_GetObjectItemCaseSensitive(d, "version"), "empty optional input is a new descriptor");
	cJSON_Delete(d);
}

static void
test_passthrough(void)
{
	ctrk_error_t err = {0};
	const char *in = "{\"custom\":{\"a\":[1,2]},\"rootfs\":\"/r\",\"mounts\":["
			 "{\"type\":\"overlay\",\"source\":\"overlay\",\"target\":\"/\",\"options\":[\"lowerdir=/l\"]},"
			 "{\"type\":\"bind\",\"source\":\"/v\",\"target\":\"/data\",\"options\":[\"rbind\"]}]}";
	cJSON *d = read_text(in, false, &err);
	ok(d != NULL, "valid descriptor read (%s)", err.msg);
	if (!d)
		return;

	const char *opts[] = {"size=1m", NULL};
	cJSON *mounts = cJSON_CreateArray();
	cJSON_AddItemToArray(mounts, ctrk_mount_new("tmpfs", NULL, "/", opts));
	ctrk_descriptor_set_rootfs_mounts(d, mounts);

	cJSON *m = cJSON_GetObjectItemCaseSensitive(d, "mounts");
	ok(cJSON_GetArraySize(m) == 2, "one rootfs mount replaced, the other kept");
	is_str(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(m, 0), "type")->valuestring, "tmpfs",
	       "rootfs mount comes first");
	is_str(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(m, 1), "target")->valuestring, "/data",
	       "container mount kept after it");
	cJSON *custom = cJSON_GetObjectItemCaseSensitive(d, "custom");
	char *text = cJSON_PrintUnformatted(custom);
	is_str(text, "{\"a\":[1,2]}", "unknown field passes through unchanged");
	free(text);
	ok(ctrk_descriptor_validate(d, &err) == 0, "still valid after the change");

	int fds[2];
	if (pipe(fds) < 0)
		abort();
	ok(ctrk_descriptor_write(fds[1], d, &err) == 0, "written");
	close(fds[1]);
	char buf[4096];
	ssize_t n = read(fds[0], buf, sizeof buf - 1);
	close(fds[0]);
	buf[n > 0 ? n : 0] = '\0';
	ok(n > 0 && buf[n - 1] == '\n' && strchr(buf, '\n') == buf + n - 1,
	   "one compact document and a newline on a pipe");
	ok(strstr(buf, "\"version\":1") != NULL, "version written");
	cJSON_Delete(d);
}

int
main(void)
{
	test_validation();
	test_passthrough();
	return done_testing();
}
