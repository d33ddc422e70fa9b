/* Image references: [domain[:port]/]path[:tag][@digest].
 *
 * The grammar is the one of the distribution project's reference package
 * (https://github.com/distribution/reference/blob/main/reference.go) and the
 * normalisation that of its normalize.go, so that "busybox" means here what
 * it means to docker and podman: "docker.io/library/busybox:latest". */
#include "reference.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "fsutil.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define DEFAULT_API_HOST "registry-1.docker.io"
#define OFFICIAL_REPO_PREFIX "library/"
#define NAME_TOTAL_LENGTH_MAX 255
#define TAG_LENGTH_MAX 128
#define SHA256_HEX_LENGTH 64

/* Character classes by hand: <ctype.h> depends on the locale. */
static bool
is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool
is_sha256_hex(const char *s, size_t len)
{
	if (len != SHA256_HEX_LENGTH)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

/* port-number := [0-9]+, and it must fit in 16 bits. */
static bool
valid_port(const char *s, size_t len)
{
	if (len == 0 || len > 5)
		return false;
	unsigned long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v <= 65535;
}

/* domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool
valid_domain_component(const char *s, size_t len)
{
	if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* "[" IPv6address "]": the characters the grammar allows, and a real
 * address as inet_pton(3) understands it. */
static bool
valid_ipv6(const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr addr;

	if (len == 0 || len >= sizeof buf)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_digit(s[i]) && !strchr("abcdefABCDEF:", s[i]))
			return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, &addr) == 1;
}

/* domain := host [":" port-number];
 * host := domain-component ("." domain-component)* | "[" IPv6address "]" */
static int
check_domain(const char *d, ctrk_error_t *err)
{
	const char *end = d + strlen(d);
	const char *host_end;

	if (*d == '[') {
		const char *close = strchr(d, ']');
		if (!close || !valid_ipv6(d + 1, (size_t)(close - d - 1)))
			return ctrk_error_set(err, 0, "invalid IPv6 address in domain '%s'", d);
		host_end = close + 1;
	} else {
		host_end = strchr(d, ':');
		if (!host_end)
			host_end = end;
		for (const char *c = d;;) {
			const char *dot = memchr(c, '.', (size_t)(host_end - c));
			const char *stop = dot ? dot : host_end;
			if (!valid_domain_component(c, (size_t)(stop - c)))
				return ctrk_error_set(err, 0, "invalid domain '%s'", d);
			if (!dot)
				break;
			c = dot + 1;
		}
	}
	if (host_end == end)
		return 0;
	if (*host_end != ':' || !valid_port(host_end + 1, (size_t)(end - host_end - 1)))
		return ctrk_error_set(err, 0, "invalid port in domain '%s'", d);
	return 0;
}

/* path-component := alpha-numeric (separator alpha-numeric)*
 * alpha-numeric := [a-z0-9]+;  separator := [_.] | "__" | "-"+ */
static bool
valid_path_component(const char *s, size_t len)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;
		while (i < len && is_lower_alnum(s[i]))
			i++;
		if (i == start)
			return false;
		if (i == len)
			return true;
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < len && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < len && s[i] == '-')
				i++;
		} else {
			return false;
		}
	}
}

static int
check_path(const char *path, ctrk_error_t *err)
{
	for (const char *c = path; *c; c++)
		if (is_upper(*c))
			return ctrk_error_set(err, 0, "repository name must be lowercase");

	for (const char *c = path;;) {
		const char *slash = strchr(c, '/');
		size_t len = slash ? (size_t)(slash - c) : strlen(c);
		if (len == 0)
			return ctrk_error_set(err, 0, "empty path component");
		if (!valid_path_component(c, len))
			return ctrk_error_set(err, 0,
					      "invalid path component '%.*s': expected lowercase letters and "
					      "digits separated by '.', '_', '__' or '-'",
					      (int)len, c);
		if (!slash)
			return 0;
		c = slash + 1;
	}
}

/* tag := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
static int
check_tag(const char *tag, ctrk_error_t *err)
{
	size_t len = strlen(tag);

	if (len == 0)
		return ctrk_error_set(err, 0, "missing tag after ':'");
	if (len > TAG_LENGTH_MAX)
		return ctrk_error_set(err, 0, "tag must not be more than %d characters", TAG_LENGTH_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = tag[i];
		bool word = is_alnum(c) || c == '_';
		if (!word && (i == 0 || (c != '.' && c != '-')))
			return ctrk_error_set(err, 0,
					      "invalid tag '%s': expected a letter, digit or '_' followed by "
					      "letters, digits, '_', '.' or '-'",
					      tag);
	}
	return 0;
}

/* Only sha256 is accepted: it is what registries serve and what ctrk can
 * verify.  Anything else is refused rather than passed through unchecked. */
static int
check_digest(const char *digest, ctrk_error_t *err)
{
	const char *colon = strchr(digest, ':');

	if (*digest == '\0')
		return ctrk_error_set(err, 0, "missing digest after '@'");
	if (!colon || colon == digest)
		return ctrk_error_set(err, 0, "invalid digest '%s': expected ALGORITHM:HEX", digest);
	size_t alen = (size_t)(colon - digest);
	if (alen != strlen("sha256") || memcmp(digest, "sha256", alen) != 0)
		return ctrk_error_set(err, 0, "unsupported digest algorithm '%.*s': only sha256 is supported",
				      (int)alen, digest);
	if (!is_sha256_hex(colon + 1, strlen(colon + 1)))
		return ctrk_error_set(err, 0, "invalid digest '%s': expected 64 lowercase hex characters after 'sha256:'",
				      digest);
	return 0;
}

/* Docker's splitDockerDomain: the first component names a registry only if
 * it looks like a host ('.' or ':', or "localhost") or has an uppercase
 * letter, which a repository path cannot have. */
static bool
looks_like_domain(const char *s, size_t len)
{
	if (memchr(s, '.', len) || memchr(s, ':', len))
		return true;
	if (len == strlen("localhost") && memcmp(s, "localhost", len) == 0)
		return true;
	for (size_t i = 0; i < len; i++)
		if (is_upper(s[i]))
			return true;
	return false;
}

static int
parse(const char *s, ctrk_reference_t *ref, ctrk_error_t *err)
{
	if (*s == '\0')
		return ctrk_error_set(err, 0, "empty reference");
	if (is_sha256_hex(s, strlen(s)))
		return ctrk_error_set(err, 0, "a 64-character hex string is an image ID, not a name");

	cleanup_free char *name = ctrk_xstrdup(s);

	char *at = strchr(name, '@');
	if (at) {
		*at = '\0';
		if (check_digest(at + 1, err) < 0)
			return -1;
		ref->digest = ctrk_xstrdup(at + 1);
	}

	/* The tag follows the last '/', so "localhost:5000/a" has none. */
	char *last_slash = strrchr(name, '/');
	char *colon = strchr(last_slash ? last_slash + 1 : name, ':');
	if (colon) {
		*colon = '\0';
		if (check_tag(colon + 1, err) < 0)
			return -1;
		ref->tag = ctrk_xstrdup(colon + 1);
	}

	const char *domain = DEFAULT_DOMAIN;
	const char *path = name;
	char *slash = strchr(name, '/');
	if (slash && looks_like_domain(name, (size_t)(slash - name))) {
		*slash = '\0';
		if (check_domain(name, err) < 0)
			return -1;
		if (strcmp(name, LEGACY_DEFAULT_DOMAIN) != 0)
			domain = name;
		path = slash + 1;
	}
	if (check_path(path, err) < 0)
		return -1;

	ref->domain = ctrk_xstrdup(domain);
	if (strcmp(domain, DEFAULT_DOMAIN) == 0 && !strchr(path, '/'))
		ref->path = ctrk_strdup_printf(OFFICIAL_REPO_PREFIX "%s", path);
	else
		ref->path = ctrk_xstrdup(path);
	if (strlen(ref->domain) + 1 + strlen(ref->path) > NAME_TOTAL_LENGTH_MAX)
		return ctrk_error_set(err, 0, "repository name must not be more than %d characters",
				      NAME_TOTAL_LENGTH_MAX);

	if (!ref->tag && !ref->digest)
		ref->tag = ctrk_xstrdup("latest");
	return 0;
}

int
ctrk_reference_parse(const char *s, ctrk_reference_t *ref, ctrk_error_t *err)
{
	memset(ref, 0, sizeof *ref);
	if (!s)
		s = "";
	if (parse(s, ref, err) < 0) {
		ctrk_reference_free(ref);
		return ctrk_error_wrap(err, "invalid reference '%s'", s);
	}
	return 0;
}

void
ctrk_reference_free(ctrk_reference_t *ref)
{
	if (!ref)
		return;
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof *ref);
}

char *
ctrk_reference_name(const ctrk_reference_t *ref)
{
	return ctrk_strdup_printf("%s/%s", ref->domain, ref->path);
}

char *
ctrk_reference_string(const ctrk_reference_t *ref)
{
	return ctrk_strdup_printf("%s/%s%s%s%s%s", ref->domain, ref->path, ref->tag ? ":" : "",
				  ref->tag ? ref->tag : "", ref->digest ? "@" : "",
				  ref->digest ? ref->digest : "");
}

const char *
ctrk_reference_api_host(const ctrk_reference_t *ref)
{
	if (strcmp(ref->domain, DEFAULT_DOMAIN) == 0)
		return DEFAULT_API_HOST;
	return ref->domain;
}

/* Accepts "host", "host:port", "[v6]", "[v6]:port" and a bare "v6".  Only
 * literal addresses and the name "localhost" count: no DNS lookup, so that
 * the answer cannot be steered by whoever controls the resolver.  Anything
 * malformed is not loopback. */
int
ctrk_host_is_loopback(const char *host_port)
{
	char host[INET6_ADDRSTRLEN];
	const char *start = host_port;
	const char *port = NULL;
	bool bracketed = false;
	size_t len;

	if (!host_port || !*host_port)
		return 0;
	if (host_port[0] == '[') {
		const char *close = strchr(host_port, ']');
		if (!close)
			return 0;
		bracketed = true;
		start = host_port + 1;
		len = (size_t)(close - start);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return 0;
	} else {
		const char *colon = strchr(host_port, ':');
		len = strlen(host_port);
		/* Two colons or more: a bare IPv6 address, with no port. */
		if (colon && !strchr(colon + 1, ':')) {
			len = (size_t)(colon - host_port);
			port = colon + 1;
		}
	}
	if (port && !valid_port(port, strlen(port)))
		return 0;
	if (len == 0 || len >= sizeof host)
		return 0;
	memcpy(host, start, len);
	host[len] = '\0';

	struct in_addr a4;
	struct in6_addr a6;
	if (!bracketed && strcasecmp(host, "localhost") == 0)
		return 1;
	if (!bracketed && inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}
