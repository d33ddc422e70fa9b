/* test-digest.c with a libcrypto that cannot be loaded: streams must fall
 * back to mbedtls and give the same digests. */
#define CTRK_LIBCRYPTO_SONAME "libctrk-test-no-such-library.so.0"
#define DIGEST_FALLBACK 1
#include "lib/common/digest.c"
#include "test-digest.c"
