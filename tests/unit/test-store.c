/* The content store: ingest, resume, verification, refs. */
#include <stdbool.h>
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

/* Write LEN bytes of DATA to PATH, replacing it. */
static void
put_file(const char *path, const char *data, size_t len)
{
	ctrk_error_t err = {0};
	unlink(path);
	ctrk_write_file_atomic(path, data, len, 0600, &err);
}

static bool
file_is(const char *path, const char *want)
{
	char *data = NULL;
	size_t n = 0;
	ctrk_error_t err = {0};
	bool same = ctrk_read_file(path, 1024, &data, &n, &err) == 0 && n == strlen(want) &&
		    memcmp(data, want, n) == 0;
	free(data);
	return same;
}

/* What an earlier run left is hashed again, never trusted by name and size. */
static void
test_leftovers(ctrk_store_t *s)
{
	const char good[] = "the real content", bad[] = "fake content!!!!";
	size_t len = sizeof good - 1;
	char digest[CTRK_DIGEST_LEN + 1];
	ctrk_digest_bytes(good, len, digest);
	ctrk_error_t err = {0};
	ctrk_ingest_t in;
	char *blob = ctrk_store_blob_path(s, digest);
	char *verified = ctrk_strdup_printf("%s/sha256-%s.verified", s->ingest, ctrk_digest_hex(digest));
	char *partial = ctrk_strdup_printf("%s/sha256-%s", s->ingest, ctrk_digest_hex(digest));

	/* A blob of the right size but the wrong bytes in the store. */
	put_file(blob, bad, len);
	ok(ctrk_ingest_open(&in, s, digest, (long long)len, &err) == 0 && in.offset == 0,
	   "a corrupt blob in the store is transferred again");
	ok(!ctrk_path_exists(blob), "and removed from the store");
	ok(ctrk_ingest_write(&in, good, len, &err) == 0 && ctrk_ingest_finish(&in, &err) == 0, "fetched (%s)",
	   err.msg);
	ok(ctrk_store_commit_blob(s, digest, &err) == 0 && file_is(blob, good), "the good one committed");

	/* A verified file that changed after the run that made it died. */
	unlink(blob);
	put_file(verified, bad, len);
	ok(ctrk_ingest_open(&in, s, digest, (long long)len, &err) == 0, "a corrupt verified file is not trusted");
	ok(!ctrk_path_exists(verified), "and removed");
	ctrk_ingest_discard(&in);

	char *buf = NULL;
	size_t n = 0;
	put_file(verified, bad, len);
	ok(ctrk_store_read_pending(s, digest, 1024, &buf, &n, &err) < 0 && strstr(err.msg, "corrupt"),
	   "a corrupt verified file is not read (%s)", err.msg);
	free(buf);

	/* A good store blob and a stale bad verified file: the commit keeps the
	 * store's. */
	put_file(blob, good, len);
	ok(ctrk_ingest_open(&in, s, digest, (long long)len, &err) == 1, "a good blob in the store needs nothing");
	ok(ctrk_store_commit_blob(s, digest, &err) == 0 && file_is(blob, good),
	   "a stale verified file does not replace it");
	ok(!ctrk_path_exists(verified), "and is removed");

	/* At the commit, a bad blob in the store (it appeared since the ingest
	 * began) gives way to a good verified one; two bad ones are an error. */
	put_file(blob, bad, len);
	put_file(verified, good, len);
	ok(ctrk_store_commit_blob(s, digest, &err) == 0 && file_is(blob, good),
	   "a bad blob in the store is replaced at the commit");
	put_file(blob, bad, len);
	put_file(verified, bad, len);
	ok(ctrk_store_commit_blob(s, digest, &err) < 0 && strstr(err.msg, "neither"),
	   "two bad copies are an error (%s)", err.msg);
	ok(!ctrk_path_exists(verified), "and the bad verified file is gone");

	/* A symlink or a fifo where the blob should be is no blob. */
	unlink(blob);
	ok(symlink(partial, blob) == 0, "symlink made");
	ok(ctrk_ingest_open(&in, s, digest, (long long)len, &err) == 0, "a symlink in the store is not a blob");
	ctrk_ingest_discard(&in);
	unlink(blob);
	ok(mkfifo(blob, 0600) == 0, "fifo made");
	ok(ctrk_ingest_open(&in, s, digest, (long long)len, &err) == 0, "a fifo in the store is not a blob, no hang");
	ctrk_ingest_discard(&in);
	ok(!ctrk_path_exists(blob), "and removed");

	/* A partial file: resumed, and marked so. */
	put_file(partial, good, 4);
	ok(ctrk_ingest_open(&in, s, digest, (long long)len, &err) == 0 && in.offset == 4 && in.resumed,
	   "a partial file is resumed, and says so");
	ok(ctrk_ingest_restart(&in, &err) == 0 && !in.resumed && in.offset == 0, "a restart is not resumed");
	ctrk_ingest_discard(&in);

	/* write_blob replaces a corrupt copy. */
	put_file(blob, bad, len);
	ok(ctrk_store_write_blob(s, digest, good, len, &err) == 0 && file_is(blob, good),
	   "write_blob replaces a corrupt copy");
	unlink(blob);
	free(blob);
	free(verified);
	free(partial);
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
	test_leftovers(&s);
	test_refs(&s);
	ctrk_store_close(&s);
	rm_rf(root);
	return done_testing();
}
