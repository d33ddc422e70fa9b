/* libFuzzer target: the image reference parser (lib/common/reference.c),
 * which reads what a user, a script or a descriptor names as an image.
 * Whatever the bytes, ctrk_reference_parse must not crash, leak or read out
 * of bounds, and what it accepts must
 *   - match the grammar of the distribution project's reference package
 *     (its ReferenceRegexp, as a POSIX regex here), so that ctrk accepts no
 *     name that docker and podman would refuse;
 *   - be all the grammar accepts, but for what ctrk refuses on purpose
 *     (see refused_on_purpose);
 *   - render (ctrk_reference_string) to a string that parses again to the
 *     same four fields and renders to itself: normalising is idempotent, and
 *     the name stored in a descriptor means the same image when read back.
 * ctrk_host_is_loopback, which decides where credentials may go over plain
 * HTTP, gets the bytes and the parsed domain too. */
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

/* github.com/distribution/reference regexp.go, in POSIX ERE: \w is
 * [A-Za-z0-9_], (?:...) a plain group. */
#define ALNUM "[a-z0-9]+"
#define SEPARATOR "([._]|__|-+)"
#define PATH_COMPONENT ALNUM "(" SEPARATOR ALNUM ")*"
#define DOMAIN_COMPONENT "([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
#define HOST "(" DOMAIN_COMPONENT "(\\." DOMAIN_COMPONENT ")*|\\[[a-fA-F0-9:]+\\])"
#define DOMAIN HOST "(:[0-9]+)?"
#define NAME "(" DOMAIN "/)?" PATH_COMPONENT "(/" PATH_COMPONENT ")*"
#define TAG "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
#define DIGEST "[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
#define REFERENCE "^" NAME "(:" TAG ")?(@" DIGEST ")?$"

static regex_t grammar;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (regcomp(&grammar, REFERENCE, REG_EXTENDED | REG_NOSUB) != 0)
		abort();
	return 0;
}

/* What the grammar allows and ctrk refuses on purpose, by the message:
 * digests other than sha256 (which ctrk cannot verify); ports past 65535
 * and IPv6 addresses inet_pton(3) does not take; a name of 64 hex digits
 * (an image ID); a normalised name over 255 characters (distribution's
 * limit); a first component that looks like a host but is none ("a_b.c/x":
 * docker's splitDockerDomain takes it as the domain, then fails), or that
 * the grammar reads as an IPv6 address without a ':', which none is
 * ("[ff]/a": splitDockerDomain takes it as a path component, then fails). */
static bool
refused_on_purpose(const char *msg)
{
	static const char *const why[] = {
		"unsupported digest algorithm", "expected 64 lowercase hex", "invalid port", "invalid IPv6",
		"image ID", "must not be more than 255", "invalid domain", "invalid path component '[",
	};
	for (size_t i = 0; i < sizeof why / sizeof *why; i++)
		if (strstr(msg, why[i]))
			return true;
	return false;
}

static bool
same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly the bytes and a NUL: ASan sees any read past them. */
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	(void)ctrk_host_is_loopback(s);

	ctrk_reference_t ref;
	ctrk_error_t err = {0};
	if (ctrk_reference_parse(s, &ref, &err) < 0) {
		/* A failed parse leaves nothing to free and says why. */
		if (ref.domain || ref.path || ref.tag || ref.digest || !err.msg[0])
			abort();
		/* Refused, though docker's grammar has it: only on purpose. */
		if (strlen(s) == size && regexec(&grammar, s, 0, NULL, 0) == 0 && !refused_on_purpose(err.msg))
			abort();
		free(s);
		return 0;
	}
	if (!ref.domain || !ref.path || (!ref.tag && !ref.digest))
		abort();
	/* Docker's grammar accepts what ctrk accepted, as given and as
	 * normalised (an embedded NUL ends both strings alike). */
	char *full = ctrk_reference_string(&ref);
	if (regexec(&grammar, s, 0, NULL, 0) != 0 || regexec(&grammar, full, 0, NULL, 0) != 0)
		abort();

	ctrk_reference_t again;
	if (ctrk_reference_parse(full, &again, &err) < 0)
		abort(); /* rendered, then refused */
	if (!same(ref.domain, again.domain) || !same(ref.path, again.path) || !same(ref.tag, again.tag) ||
	    !same(ref.digest, again.digest))
		abort(); /* rendered, then read as another image */
	char *full_again = ctrk_reference_string(&again);
	if (strcmp(full, full_again) != 0)
		abort();

	char *name = ctrk_reference_name(&ref);
	if (strncmp(full, name, strlen(name)) != 0)
		abort();
	if (!ctrk_reference_api_host(&ref))
		abort();
	(void)ctrk_host_is_loopback(ref.domain);

	free(name);
	free(full_again);
	free(full);
	ctrk_reference_free(&again);
	ctrk_reference_free(&ref);
	free(s);
	return 0;
}
