/* SHA-256: one-shot digests (mbedtls) and streams (libcrypto, loaded on
 * first use) give the same, known digests.  test-digest-fallback.c builds
 * this file again with a libcrypto that cannot be found. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "tap.h"

static bool
libcrypto_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	bool found = false;
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "/libcrypto.so"))
			found = true;
	if (f)
		fclose(f);
	return found;
}

static void
stream(const void *data, size_t len, size_t chunk, char out[CTRK_DIGEST_LEN + 1])
{
	ctrk_hasher_t *h = ctrk_hasher_new();
	for (size_t off = 0; off < len; off += chunk)
		ctrk_hasher_update(h, (const char *)data + off, len - off < chunk ? len - off : chunk);
	ctrk_hasher_final(h, out);
	ctrk_hasher_free(h);
}

int
main(void)
{
	static const struct {
		const char *data, *digest;
	} known[] = {
		{"", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	char got[CTRK_DIGEST_LEN + 1];

	/* One-shot digests need no libcrypto: that is the point of them. */
	for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
		ctrk_digest_bytes(known[i].data, strlen(known[i].data), got);
		is_str(got, known[i].digest, "one-shot digest of '%s'", known[i].data);
	}
	ok(!libcrypto_mapped(), "one-shot digests do not load libcrypto");

	for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
		stream(known[i].data, strlen(known[i].data), 1, got);
		is_str(got, known[i].digest, "streamed digest of '%s', a byte at a time", known[i].data);
	}
#ifdef DIGEST_FALLBACK
	ok(!libcrypto_mapped(), "without libcrypto, streams are hashed by mbedtls");
#else
	ok(libcrypto_mapped(), "the first stream loads libcrypto");
#endif

	/* A million 'a's: the FIPS 180-2 long vector, through both paths and
	 * odd chunk sizes that straddle SHA-256's 64-byte blocks. */
	size_t n = 1000000;
	char *a = malloc(n);
	memset(a, 'a', n);
	const char *million = "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	ctrk_digest_bytes(a, n, got);
	is_str(got, million, "one-shot digest of a million 'a's");
	static const size_t chunks[] = {1000000, 65536, 4097, 63, 7};
	for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
		stream(a, n, chunks[i], got);
		is_str(got, million, "streamed digest of a million 'a's in chunks of %zu", chunks[i]);
	}

	/* final() starts the hasher over. */
	ctrk_hasher_t *h = ctrk_hasher_new();
	ctrk_hasher_update(h, "xyz", 3);
	ctrk_hasher_final(h, got);
	ctrk_hasher_update(h, "abc", 3);
	ctrk_hasher_final(h, got);
	is_str(got, known[1].digest, "a hasher starts over after final()");
	ctrk_hasher_free(h);
	ctrk_hasher_free(NULL);
	free(a);
	return done_testing();
}
