/* SHA-256 content digests ("sha256:<64 hex>").
 *
 * A hasher (streams: layers, downloads) uses OpenSSL's libcrypto, loaded on
 * first use; ctrk_digest_bytes() (small documents) uses mbedtls, which costs
 * nothing to start.  digest.c says why. */
#ifndef CTRK_DIGEST_H
#define CTRK_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define CTRK_DIGEST_PREFIX "sha256:"
#define CTRK_DIGEST_HEX_LEN 64
#define CTRK_DIGEST_LEN (sizeof CTRK_DIGEST_PREFIX - 1 + CTRK_DIGEST_HEX_LEN)

typedef struct ctrk_hasher ctrk_hasher_t;

ctrk_hasher_t *ctrk_hasher_new(void);
void ctrk_hasher_update(ctrk_hasher_t *h, const void *data, size_t len);
/* Write "sha256:<hex>" and a NUL into OUT; the hasher starts over. */
void ctrk_hasher_final(ctrk_hasher_t *h, char out[CTRK_DIGEST_LEN + 1]);
void ctrk_hasher_free(ctrk_hasher_t *h);

void ctrk_digest_bytes(const void *data, size_t len, char out[CTRK_DIGEST_LEN + 1]);

/* Is DIGEST a well-formed sha256 digest?  Other algorithms are refused by
 * name so the message says what is wrong. */
int ctrk_digest_validate(const char *digest, ctrk_error_t *err);

/* The hex part of a validated digest. */
static inline const char *
ctrk_digest_hex(const char *digest)
{
	return digest + sizeof CTRK_DIGEST_PREFIX - 1;
}

#endif
