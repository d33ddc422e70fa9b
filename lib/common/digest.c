/* Two SHA-256 implementations, each where it pays.
 *
 * Streams (layers, downloads) go through OpenSSL's libcrypto: its SHA-NI and
 * AVX2 code hashes about five times faster than mbedtls.  But a tool pays
 * 0.6 ms to load libcrypto and 1 ms more to initialise it on the first
 * digest, which was most of what `ctrk-snap prepare` and `remove` took.  So
 * libcrypto is opened on the first stream (a tool that links it anyway,
 * through libcurl, gets the copy already loaded), and one-shot digests of
 * small documents (manifests, configs, chain ids) use mbedtls, which costs
 * nothing to start.  Without libcrypto, streams use mbedtls too: slower,
 * the same digests. */
#include "digest.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include "fsutil.h"

#if MBEDTLS_VERSION_NUMBER < 0x03000000
#define mbedtls_sha256 mbedtls_sha256_ret
#define mbedtls_sha256_starts mbedtls_sha256_starts_ret
#define mbedtls_sha256_update mbedtls_sha256_update_ret
#define mbedtls_sha256_finish mbedtls_sha256_finish_ret
#endif

#define SHA256_LEN 32
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#ifndef CTRK_LIBCRYPTO_SONAME
#define CTRK_LIBCRYPTO_SONAME "libcrypto.so." STRINGIFY(OPENSSL_VERSION_MAJOR)
#endif

/* The part of libcrypto a stream needs; all NULL when it cannot be loaded. */
static struct {
	EVP_MD_CTX *(*ctx_new)(void);
	void (*ctx_free)(EVP_MD_CTX *);
	int (*init)(EVP_MD_CTX *, const EVP_MD *, ENGINE *);
	int (*update)(EVP_MD_CTX *, const void *, size_t);
	int (*final)(EVP_MD_CTX *, unsigned char *, unsigned int *);
	const EVP_MD *sha256;
} libcrypto;
static pthread_once_t libcrypto_once = PTHREAD_ONCE_INIT;

static void
libcrypto_open(void)
{
	void *lib = dlopen(CTRK_LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return;
	const EVP_MD *(*sha256)(void) = (const EVP_MD *(*)(void))dlsym(lib, "EVP_sha256");
	libcrypto.ctx_new = (EVP_MD_CTX * (*)(void)) dlsym(lib, "EVP_MD_CTX_new");
	libcrypto.ctx_free = (void (*)(EVP_MD_CTX *))dlsym(lib, "EVP_MD_CTX_free");
	libcrypto.init = (int (*)(EVP_MD_CTX *, const EVP_MD *, ENGINE *))dlsym(lib, "EVP_DigestInit_ex");
	libcrypto.update = (int (*)(EVP_MD_CTX *, const void *, size_t))dlsym(lib, "EVP_DigestUpdate");
	libcrypto.final = (int (*)(EVP_MD_CTX *, unsigned char *, unsigned int *))dlsym(lib, "EVP_DigestFinal_ex");
	if (sha256 && libcrypto.ctx_new && libcrypto.ctx_free && libcrypto.init && libcrypto.update &&
	    libcrypto.final)
		libcrypto.sha256 = sha256();
	if (!libcrypto.sha256) {
		memset(&libcrypto, 0, sizeof libcrypto);
		dlclose(lib);
	}
	/* Loaded for good: the library stays until the process ends. */
}

struct ctrk_hasher {
	EVP_MD_CTX *evp; /* NULL: mbedtls */
	mbedtls_sha256_context mbedtls;
};

static void
hasher_start(ctrk_hasher_t *h)
{
	int r = h->evp ? libcrypto.init(h->evp, libcrypto.sha256, NULL) != 1 : mbedtls_sha256_starts(&h->mbedtls, 0);
	if (r != 0) {
		fprintf(stderr, "%s: error: cannot initialise SHA-256\n", ctrk_progname);
		abort();
	}
}

ctrk_hasher_t *
ctrk_hasher_new(void)
{
	pthread_once(&libcrypto_once, libcrypto_open);
	ctrk_hasher_t *h = ctrk_xcalloc(1, sizeof *h);
	if (libcrypto.sha256) {
		h->evp = libcrypto.ctx_new();
		if (!h->evp) {
			fprintf(stderr, "%s: error: out of memory\n", ctrk_progname);
			abort();
		}
	} else {
		mbedtls_sha256_init(&h->mbedtls);
	}
	hasher_start(h);
	return h;
}

void
ctrk_hasher_update(ctrk_hasher_t *h, const void *data, size_t len)
{
	if (h->evp)
		libcrypto.update(h->evp, data, len);
	else
		mbedtls_sha256_update(&h->mbedtls, data, len);
}

static void
format_digest(const unsigned char md[SHA256_LEN], char out[CTRK_DIGEST_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	memcpy(out, CTRK_DIGEST_PREFIX, sizeof CTRK_DIGEST_PREFIX - 1);
	char *p = out + sizeof CTRK_DIGEST_PREFIX - 1;
	for (unsigned i = 0; i < SHA256_LEN; i++) {
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 15];
	}
	*p = '\0';
}

void
ctrk_hasher_final(ctrk_hasher_t *h, char out[CTRK_DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	if (h->evp)
		libcrypto.final(h->evp, md, &len);
	else
		mbedtls_sha256_finish(&h->mbedtls, md);
	format_digest(md, out);
	hasher_start(h);
}

void
ctrk_hasher_free(ctrk_hasher_t *h)
{
	if (!h)
		return;
	if (h->evp)
		libcrypto.ctx_free(h->evp);
	else
		mbedtls_sha256_free(&h->mbedtls);
	free(h);
}

void
ctrk_digest_bytes(const void *data, size_t len, char out[CTRK_DIGEST_LEN + 1])
{
	unsigned char md[SHA256_LEN];
	mbedtls_sha256(data, len, md, 0);
	format_digest(md, out);
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
