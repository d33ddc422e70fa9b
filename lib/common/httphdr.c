#include "httphdr.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "fsutil.h"

static bool
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* tchar of RFC 9110 section 5.6.2. */
static bool
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

char *
ctrk_hdr_value(const char *line, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
		return NULL;
	const char *v = line + nlen + 1;
	const char *end = line + len;
	while (v < end && (is_ows(*v) || *v == '\r' || *v == '\n'))
		v++;
	while (end > v && (is_ows(end[-1]) || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	return ctrk_xstrndup(v, (size_t)(end - v));
}

bool
ctrk_hdr_value_ok(const char *s)
{
	for (; *s; s++)
		if (is_ctl((unsigned char)*s))
			return false;
	return true;
}

void
ctrk_challenge_free(ctrk_challenge_t *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof *c);
}

/* A quoted-string at *P (just after its opening quote), unescaped. */
static char *
quoted_string(const char **p, ctrk_error_t *err)
{
	const char *s = *p;
	char *out = ctrk_xmalloc(strlen(s) + 1);
	size_t n = 0;
	for (; *s && *s != '"'; s++) {
		if (*s == '\\' && s[1])
			s++;
		out[n++] = *s;
	}
	if (*s != '"') {
		free(out);
		ctrk_error_set(err, 0, "unterminated quoted string");
		return NULL;
	}
	out[n] = '\0';
	*p = s + 1;
	return out;
}

static char **
param_slot(ctrk_challenge_t *c, const char *name, size_t len)
{
	static const struct {
		const char *name;
		size_t off;
	} known[] = {
		{"realm", offsetof(ctrk_challenge_t, realm)},
		{"service", offsetof(ctrk_challenge_t, service)},
		{"scope", offsetof(ctrk_challenge_t, scope)},
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strlen(known[i].name) == len && strncasecmp(name, known[i].name, len) == 0)
			return (char **)((char *)c + known[i].off);
	return NULL;
}

int
ctrk_challenge_parse(const char *header, ctrk_challenge_t *out, ctrk_error_t *err)
{
	ctrk_challenge_t c = {0};
	const char *p = header;
	while (is_ows(*p))
		p++;
	const char *scheme = p;
	while (is_tchar((unsigned char)*p))
		p++;
	if (p == scheme || (*p && !is_ows(*p) && *p != ','))
		return ctrk_error_set(err, 0, "no authentication scheme");
	c.scheme = ctrk_xstrndup(scheme, (size_t)(p - scheme));

	for (;;) {
		while (is_ows(*p) || *p == ',')
			p++;
		if (!*p)
			break;
		const char *name = p;
		while (is_tchar((unsigned char)*p) && *p != '=')
			p++;
		size_t nlen = (size_t)(p - name);
		const char *q = p;
		while (is_ows(*q))
			q++;
		/* A token without "=" starts the next challenge (or is a
		 * token68, which registries do not use): this one ends. */
		if (nlen == 0 || *q != '=')
			break;
		p = q + 1;
		while (is_ows(*p))
			p++;
		char *value;
		if (*p == '"') {
			p++;
			if (!(value = quoted_string(&p, err)))
				goto fail;
		} else {
			const char *v = p;
			while (*p && *p != ',' && !is_ows(*p))
				p++;
			value = ctrk_xstrndup(v, (size_t)(p - v));
		}
		char **slot = param_slot(&c, name, nlen);
		if (slot && *slot) {
			free(value);
			ctrk_error_set(err, 0, "parameter '%.*s' given twice", (int)nlen, name);
			goto fail;
		}
		if (slot && !ctrk_hdr_value_ok(value)) {
			free(value);
			ctrk_error_set(err, 0, "parameter '%.*s' holds a control character", (int)nlen, name);
			goto fail;
		}
		if (slot)
			*slot = value;
		else
			free(value);
	}
	*out = c;
	return 0;
fail:
	ctrk_challenge_free(&c);
	return -1;
}

/* Does the rel parameter value REL (a space-separated list) name "next"? */
static bool
rel_has_next(const char *rel, size_t len)
{
	size_t i = 0;
	while (i < len) {
		while (i < len && rel[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && rel[i] != ' ')
			i++;
		if (i - start == 4 && strncasecmp(rel + start, "next", 4) == 0)
			return true;
	}
	return false;
}

char *
ctrk_link_next(const char *header)
{
	const char *p = header;
	for (;;) {
		while (is_ows(*p) || *p == ',')
			p++;
		if (*p != '<')
			return NULL;
		const char *uri = ++p;
		while (*p && *p != '>')
			p++;
		if (*p != '>')
			return NULL;
		size_t ulen = (size_t)(p - uri);
		p++;
		bool next = false;
		/* link-params: *( OWS ";" OWS link-param ) */
		for (;;) {
			while (is_ows(*p))
				p++;
			if (*p != ';')
				break;
			p++;
			while (is_ows(*p))
				p++;
			const char *name = p;
			while (is_tchar((unsigned char)*p) && *p != '=')
				p++;
			size_t nlen = (size_t)(p - name);
			if (nlen == 0)
				return NULL;
			while (is_ows(*p))
				p++;
			const char *v = p;
			size_t vlen = 0;
			cleanup_free char *unq = NULL;
			if (*p == '=') {
				p++;
				while (is_ows(*p))
					p++;
				if (*p == '"') {
					p++;
					if (!(unq = quoted_string(&p, NULL)))
						return NULL;
					v = unq;
					vlen = strlen(unq);
				} else {
					v = p;
					while (*p && *p != ';' && *p != ',' && !is_ows(*p))
						p++;
					vlen = (size_t)(p - v);
				}
			}
			if (nlen == 3 && strncasecmp(name, "rel", 3) == 0 && rel_has_next(v, vlen))
				next = true;
		}
		if (next) {
			char *out = ctrk_xstrndup(uri, ulen);
			if (!ctrk_hdr_value_ok(out) || strchr(out, ' ')) {
				free(out);
				return NULL;
			}
			return out;
		}
		if (*p && *p != ',')
			return NULL;
	}
}

char *
ctrk_basic_credentials(const char *user, const char *pass)
{
	char *pair = ctrk_strdup_printf("%s:%s", user, pass ? pass : "");
	size_t n = strlen(pair);
	char *b64 = ctrk_xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)pair, (int)n);
	explicit_bzero(pair, n);
	free(pair);
	return b64;
}
