#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "fsutil.h"

struct ctrk_hasher {
	EVP_MD_CTX *ctx;
};

ctrk_hasher_t *
ctrk_hasher_new(void)
{
	ctrk_hasher_t *h = ctrk_xcalloc(1, sizeof *h);
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "%s: error: cannot initialise SHA-256\n", ctrk_progname);
		abort();
	}
	return h;
}

void
ctrk_hasher_update(ctrk_hasher_t *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->ctx, data, len);
}

static void
to_hex(const unsigned char *md, unsigned len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (unsigned i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * len] = '\0';
}

void
ctrk_hasher_final(ctrk_hasher_t *h, char out[CTRK_DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	EVP_DigestFinal_ex(h->ctx, md, &len);
	memcpy(out, CTRK_DIGEST_PREFIX, sizeof CTRK_DIGEST_PREFIX - 1);
	to_hex(md, len, out + sizeof CTRK_DIGEST_PREFIX - 1);
	EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void
ctrk_hasher_free(ctrk_hasher_t *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void
ctrk_digest_bytes(const void *data, size_t len, char out[CTRK_DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	memcpy(out, CTRK_DIGEST_PREFIX, sizeof CTRK_DIGEST_PREFIX - 1);
	to_hex(md, mdlen, out + sizeof CTRK_DIGEST_PREFIX - 1);
}

int
ctrk_digest_validate(const char *digest, ctrk_error_t *err)
{
	const char *colon = digest ? strchr(digest, ':') : NULL;
	if (!colon || colon == digest)
		return ctrk_error_set(err, 0, "invalid digest '%s': expected ALGORITHM:HEX", digest ? digest : "");
	if ((size_t)(colon - digest) != 6 || strncmp(digest, "sha256", 6) != 0)
		return ctrk_error_set(err, 0, "unsupported digest algorithm in '%s': only sha256 is supported",
				      digest);
	const char *hex = colon + 1;
	if (strlen(hex) != CTRK_DIGEST_HEX_LEN || strspn(hex, "0123456789abcdef") != CTRK_DIGEST_HEX_LEN)
		return ctrk_error_set(err, 0, "invalid digest '%s': expected 64 lowercase hex digits", digest);
	return 0;
}
