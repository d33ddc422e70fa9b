/* The content store: ingest, resume, verification, refs. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "store.h"
#include "tap.h"

static char root[] = "/tmp/ctrk-test-store-XXXXXX";

static void
test_ingest(ctrk_store_t *s)
{
	const char data[] = "hello, content store";
	size_t len = sizeof data - 1;
	char digest[CTRK_DIGEST_LEN + 1];
	ctrk_digest_bytes(data, len, digest);
	ctrk_error_t err = {0};

	ctrk_ingest_t in;
	ok(ctrk_ingest_open(&in, s, digest, (long long)len, &err) == 0, "ingest opened");
	ok(ctrk_ingest_write(&in, data, 5, &err) == 0, "first part written");
	ctrk_ingest_close(&in); /* as if the transfer were interrupted */

	ok(ctrk_ingest_open(&in, s, digest, (long long)len, &err) == 0 && in.offset == 5, "resumed at byte 5");
	ok(ctrk_ingest_write(&in, data + 5, len, &err) < 0 && strstr(err.msg, "longer than"),
	   "writing past the size is refused");
	ok(ctrk_ingest_write(&in, data + 5, len - 5, &err) == 0, "rest written");
	ok(ctrk_ingest_finish(&in, &err) == 0, "verified (%s)", err.msg);
	ok(!ctrk_store_has_blob(s, digest, -1), "not in the store before the commit");
	ok(ctrk_ingest_open(&in, s, digest, (long long)len, &err) == 1, "a verified blob needs no transfer");
	ok(ctrk_store_commit_blob(s, digest, &err) == 0 && ctrk_store_has_blob(s, digest, (long long)len),
	   "committed into the store");
	ok(ctrk_store_commit_blob(s, digest, &err) == 0, "a second commit is a no-op");

	char *buf = NULL;
	size_t n = 0;
	ok(ctrk_store_read_blob(s, digest, 1024, &buf, &n, &err) == 0 && n == len, "read back");
	free(buf);

	/* Bad content is deleted, not kept for resume. */
	char other[CTRK_DIGEST_LEN + 1];
	ctrk_digest_bytes("other", 5, other);
	ok(ctrk_ingest_open(&in, s, other, 5, &err) == 0, "ingest of another blob");
	ctrk_ingest_write(&in, "wrong", 5, &err);
	ok(ctrk_ingest_finish(&in, &err) < 0 && strstr(err.msg, "failed verification"), "wrong content refused");
	char *partial = ctrk_strdup_printf("%s/sha256-%s", s->ingest, ctrk_digest_hex(other));
	ok(!ctrk_path_exists(partial), "and its partial file removed");
	free(partial);
	ok(!ctrk_store_has_blob(s, other, -1), "nothing stored");

	/* A corrupted blob in the store is reported. */
	char *path = ctrk_store_blob_path(s, digest);
	ctrk_write_file_atomic(path, "tampered", 8, 0644, &err);
	ok(ctrk_store_read_blob(s, digest, 1024, &buf, &n, &err) < 0 && strstr(err.msg, "corrupt"),
	   "corruption detected on read");
	free(path);
}

static void
test_refs(ctrk_store_t *s)
{
	ctrk_error_t err = {0};
	cJSON *desc = cJSON_Parse("{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
				  "\"digest\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\","
				  "\"size\":1}");
	cJSON *ann = cJSON_Parse("{\"dev.ctrk.source\":\"oci:/x:y\"}");
	ok(ctrk_store_set_ref(s, "example.com/a:1", desc, ann, &err) == 0, "ref set");
	ok(ctrk_store_set_ref(s, "example.com/a:1", desc, NULL, &err) == 0, "ref replaced");
	ok(ctrk_store_set_ref(s, "example.com/b:1", desc, ann, &err) == 0, "second ref set");
	cJSON *got = ctrk_store_get_ref(s, "example.com/a:1", &err);
	ok(got != NULL, "ref found");
	cJSON_Delete(got);
	got = ctrk_store_get_ref(s, "oci:/x:y", &err);
	ok(got != NULL, "found by its source");
	cJSON_Delete(got);
	got = ctrk_store_get_ref(s, "nope", &err);
	ok(got == NULL && strstr(err.msg, "no image 'nope'"), "missing ref is an error");

	char *path = ctrk_strdup_printf("%s/index.json", s->content);
	cJSON *index = ctrk_json_read_file(path, 1 << 20, &err);
	ok(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(index, "manifests")) == 2,
	   "replacing a ref leaves one entry for it");
	cJSON_Delete(index);
	free(path);
	cJSON_Delete(desc);
	cJSON_Delete(ann);
}

int
main(void)
{
	if (!mkdtemp(root))
		return 1;
	ctrk_store_t s;
	ctrk_error_t err = {0};
	ok(ctrk_store_open(&s, root, &err) == 0, "store created (%s)", err.msg);
	char *layout = ctrk_strdup_printf("%s/content/oci-layout", root);
	ok(ctrk_path_exists(layout), "oci-layout written");
	free(layout);
	test_ingest(&s);
	test_refs(&s);
	ctrk_store_close(&s);
	rm_rf(root);
	return done_testing();
}
