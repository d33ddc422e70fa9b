#include "registry.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>

#include "cleanup.h"
#include "fsutil.h"
#include "httphdr.h"
#include "paths.h"
#include "json.h"
#include "redact.h"
#include "reference.h"

#define USER_AGENT "ctrk/" CTRK_VERSION
#define ERRBODY_MAX 4096
#define TOKEN_RESPONSE_MAX (1u << 20)
#define MAX_REDIRECTS 10
#define MAX_TOKENS 16
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define TLS_FILE_MAX (16u << 20)
/* A transfer slower than this for CTRK_STALL_TIMEOUT seconds has stalled.
 * Not 1 byte/s: a server that trickles a byte a second would hold a pull
 * for days. */
#define STALL_MIN_RATE 1024L
#define STALL_TIMEOUT_DEFAULT 30L
#define STALL_TIMEOUT_MAX 3600L

#define MANIFEST_ACCEPT                                                                        \
	"Accept: " CTRK_MT_OCI_MANIFEST ", " CTRK_MT_OCI_INDEX ", " CTRK_MT_DOCKER_MANIFEST ", " \
	CTRK_MT_DOCKER_LIST

struct token {
	char *scope;
	char *value;
};

struct ctrk_registry {
	char *domain; /* as written in references */
	char *origin; /* "https://host:port" */
	int retries;
	long stall_s; /* CTRK_STALL_TIMEOUT */
	char *ca_pem; /* system bundle plus extra CAs, or NULL for the default */
	size_t ca_pem_len;
	/* Read by us, not opened by curl by name: a FIFO there would hang. */
	char *client_cert, *client_key; /* PEM */
	size_t client_cert_len, client_key_len;
	char *proxy, *noproxy;

	pthread_mutex_t lock; /* guards everything below */
	ctrk_creds_t creds;
	bool have_creds;
	char *realm, *service; /* from a Bearer challenge */
	bool wants_basic;      /* from a Basic challenge */
	struct token tokens[MAX_TOKENS];
	int ntokens;
};

struct ctrk_conn {
	ctrk_registry_t *r;
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
};

typedef struct request {
	const char *method;
	char *url;
	const char *scope;
	const char *accept; /* a whole "Accept: …" header line */
	long long range_from;
	/* The whole body may be at most this long (0: no limit here); a
	 * Content-Length that says more is refused before the body is read. */
	long long max_body;
	bool max_is_descriptor_size; /* for the message */
	/* A request to a token server: AUTHORIZATION and POST_FIELDS (which
	 * hold credentials) go only to AUTH_ORIGIN, and a 401 is an answer,
	 * not a challenge.  Requests to the registry itself get its own
	 * Authorization header instead. */
	bool to_token_server;
	const char *auth_origin;
	const char *authorization;
	const char *post_fields;
	/* The body of a 2xx answer goes here; -1 aborts the transfer. */
	int (*on_data)(void *ctx, const char *data, size_t len, ctrk_error_t *err);
	/* Before a new attempt: set range_from again, drop buffered data. */
	void (*on_retry)(void *ctx, struct request *req);
	/* The server sent the whole body although a range was asked for. */
	int (*on_restart)(void *ctx, ctrk_error_t *err);
	void *ctx;
} request_t;

typedef struct response {
	long status;
	char *content_type;
	char *location;
	char *www_authenticate;
	char *content_range;
	long long content_length; /* -1: not given */
	long retry_after;
	bool started;
	bool sink_failed;
	ctrk_error_t sink_err;
	const request_t *req;
	char errbody[ERRBODY_MAX];
	size_t errlen;
} response_t;

static void
response_reset(response_t *resp, const request_t *req)
{
	free(resp->content_type);
	free(resp->location);
	free(resp->www_authenticate);
	free(resp->content_range);
	memset(resp, 0, sizeof *resp);
	resp->req = req;
	resp->content_length = -1;
}

static void
response_free(response_t *resp)
{
	response_reset(resp, NULL);
}

/* ---- small helpers ---------------------------------------------------- */

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool
is_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* "scheme://host[:port]" of URL, for comparing origins. */
static char *
url_origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
		out = ctrk_strdup_printf("%s://%s:%s", scheme, host, port);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

static bool
same_origin(const char *a, const char *b)
{
	cleanup_free char *oa = url_origin(a);
	cleanup_free char *ob = url_origin(b);
	return oa && ob && strcmp(oa, ob) == 0;
}

/* Resolve LOCATION against BASE; only http and https are followed. */
static char *
resolve_location(const char *base, const char *location)
{
	CURLU *u = curl_url();
	char *resolved = NULL, *scheme = NULL, *out = NULL;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
	    curl_url_get(u, CURLUPART_URL, &resolved, 0) == CURLUE_OK)
		out = ctrk_xstrdup(resolved);
	curl_free(resolved);
	curl_free(scheme);
	curl_url_cleanup(u);
	return out;
}

/* ---- secrets ------------------------------------------------------------ */

/* Every secret this process knows (credentials, registered by auth.c;
 * tokens, registered by token_store) is removed from every message when it
 * is printed (see redact.h).  Text a server sent is redacted here as well
 * only where it is cut to fit: a secret cut in two would no longer match. */

/* "HTTP 404: manifest unknown (MANIFEST_UNKNOWN)" from an error body; the
 * server's words redacted before they are cut to fit OUT. */
static void
describe_status(const response_t *resp, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "HTTP %ld", resp->status);
	cJSON *doc = resp->errlen ? cJSON_ParseWithLength(resp->errbody, resp->errlen) : NULL;
	const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "errors"), 0);
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(first, "message");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(first, "code");
	if (n > 0 && (size_t)n < outlen && cJSON_IsString(msg)) {
		cleanup_free char *m = ctrk_redact_known(msg->valuestring, strlen(msg->valuestring));
		cleanup_free char *c = cJSON_IsString(code) ? ctrk_redact_known(code->valuestring, strlen(code->valuestring))
							    : NULL;
		snprintf(out + n, outlen - (size_t)n, ": %s%s%s%s", m, c ? " (" : "", c ? c : "", c ? ")" : "");
	}
	cJSON_Delete(doc);
}

/* The message of a failed curl_easy_perform(). */
static int
transfer_error(ctrk_conn_t *c, CURLcode rc, ctrk_error_t *err)
{
	const char *what = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return ctrk_error_set(err, 0, "%s (the limit is %ld s, CTRK_STALL_TIMEOUT)", what,
				      c->r->stall_s);
	return ctrk_error_set(err, 0, "%s", what);
}

/* ---- curl callbacks --------------------------------------------------- */

/* At the end of the headers of a 2xx answer: a body declared longer than
 * the request allows is refused before a byte of it is read (and, being
 * the server's doing, is not retried). */
static int
check_declared_length(response_t *resp, const request_t *req)
{
	if (req->max_body <= 0 || resp->content_length < 0 || resp->status < 200 || resp->status > 299)
		return 0;
	long long from = resp->status == 206 ? req->range_from : 0;
	if (resp->content_length <= req->max_body - from)
		return 0;
	if (req->max_is_descriptor_size)
		return ctrk_error_set(&resp->sink_err, 0,
				      "longer than the %lld bytes its descriptor says (Content-Length: %lld from byte %lld)",
				      req->max_body, resp->content_length, from);
	return ctrk_error_set(&resp->sink_err, EFBIG, "larger than %lld bytes (Content-Length: %lld)", req->max_body,
			      resp->content_length);
}

static size_t
on_header(char *line, size_t size, size_t nitems, void *userdata)
{
	response_t *resp = userdata;
	size_t len = size * nitems;
	char *v;
	if ((len == 2 && line[0] == '\r' && line[1] == '\n') || (len == 1 && line[0] == '\n')) {
		if (check_declared_length(resp, resp->req) < 0) {
			resp->sink_failed = true;
			return 0;
		}
	} else if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue, say): start afresh. */
		const request_t *req = resp->req;
		response_reset(resp, req);
		const char *sp = memchr(line, ' ', len);
		resp->status = sp ? strtol(sp + 1, NULL, 10) : 0;
	} else if ((v = ctrk_hdr_value(line, len, "Content-Type"))) {
		free(resp->content_type);
		resp->content_type = v;
	} else if ((v = ctrk_hdr_value(line, len, "Location"))) {
		free(resp->location);
		resp->location = v;
	} else if ((v = ctrk_hdr_value(line, len, "WWW-Authenticate"))) {
		free(resp->www_authenticate);
		resp->www_authenticate = v;
	} else if ((v = ctrk_hdr_value(line, len, "Content-Range"))) {
		free(resp->content_range);
		resp->content_range = v;
	} else if ((v = ctrk_hdr_value(line, len, "Content-Length"))) {
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		resp->content_length = errno == 0 && end != v && !*end && n >= 0 ? n : -1;
		free(v);
	} else if ((v = ctrk_hdr_value(line, len, "Retry-After"))) {
		resp->retry_after = strtol(v, NULL, 10);
		free(v);
	}
	return len;
}

static int
check_range(response_t *resp, const request_t *req)
{
	if (req->range_from <= 0)
		return 0;
	if (resp->status == 200)
		return req->on_restart ? req->on_restart(req->ctx, &resp->sink_err) : 0;
	const char *cr = resp->content_range;
	long long start = -1;
	if (!cr || sscanf(cr, "bytes %lld-", &start) != 1 || start != req->range_from)
		return ctrk_error_set(&resp->sink_err, 0, "the server answered a request for bytes from %lld with '%s'",
				      req->range_from, cr ? cr : "no Content-Range");
	return 0;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	response_t *resp = userdata;
	const request_t *req = resp->req;
	size_t len = size * nmemb;
	if (resp->status < 200 || resp->status > 299) {
		size_t room = sizeof resp->errbody - resp->errlen;
		size_t n = len < room ? len : room;
		memcpy(resp->errbody + resp->errlen, data, n);
		resp->errlen += n;
		return len;
	}
	if (!resp->started) {
		resp->started = true;
		if (check_range(resp, req) < 0) {
			resp->sink_failed = true;
			return 0;
		}
	}
	if (req->on_data && req->on_data(req->ctx, data, len, &resp->sink_err) < 0) {
		resp->sink_failed = true;
		return 0;
	}
	return len;
}

/* ---- authentication --------------------------------------------------- */

/* Caller holds r->lock. */
static const char *
token_for(ctrk_registry_t *r, const char *scope)
{
	for (int i = 0; i < r->ntokens; i++)
		if (strcmp(r->tokens[i].scope, scope ? scope : "") == 0)
			return r->tokens[i].value;
	return NULL;
}

static void
token_store(ctrk_registry_t *r, const char *scope, char *value)
{
	/* A token is a secret from now on, a replacing one too: a server that
	 * echoes it back gets it redacted. */
	ctrk_secret_add(value);
	for (int i = 0; i < r->ntokens; i++) {
		if (strcmp(r->tokens[i].scope, scope ? scope : "") == 0) {
			explicit_bzero(r->tokens[i].value, strlen(r->tokens[i].value));
			free(r->tokens[i].value);
			r->tokens[i].value = value;
			return;
		}
	}
	if (r->ntokens == MAX_TOKENS) {
		free(r->tokens[0].scope);
		explicit_bzero(r->tokens[0].value, strlen(r->tokens[0].value));
		free(r->tokens[0].value);
		memmove(r->tokens, r->tokens + 1, sizeof r->tokens[0] * (MAX_TOKENS - 1));
		r->ntokens--;
	}
	r->tokens[r->ntokens].scope = ctrk_xstrdup(scope ? scope : "");
	r->tokens[r->ntokens].value = value;
	r->ntokens++;
}

static void
apply_common_options(ctrk_conn_t *c, const char *url)
{
	ctrk_registry_t *r = c->r;
	CURL *h = c->curl;
	curl_easy_reset(h);
	c->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Redirects are followed by do_request(), one hop at a time, so that
	 * each is checked (no HTTPS to HTTP, credentials only to the origin
	 * they are for); libcurl follows none, and would send no credentials
	 * on if it did. */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, r->stall_s);
	/* A transfer that moves (almost) nothing for stall_s has stalled;
	 * also while it waits for the answer's headers. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, STALL_MIN_RATE);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, r->stall_s);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	if (r->ca_pem) {
		struct curl_blob blob = {r->ca_pem, r->ca_pem_len, CURL_BLOB_NOCOPY};
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (r->client_cert) {
		struct curl_blob cert = {r->client_cert, r->client_cert_len, CURL_BLOB_NOCOPY};
		struct curl_blob key = {r->client_key, r->client_key_len, CURL_BLOB_NOCOPY};
		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
	}
	if (r->proxy)
		curl_easy_setopt(h, CURLOPT_PROXY, r->proxy);
	if (r->noproxy)
		curl_easy_setopt(h, CURLOPT_NOPROXY, r->noproxy);
}

/* A response body in memory, up to MAX bytes. */
struct membuf {
	char *buf;
	size_t len, max;
};

static int
membuf_append(void *ctx, const char *data, size_t len, ctrk_error_t *err)
{
	struct membuf *m = ctx;
	if (m->len + len > m->max)
		return ctrk_error_set(err, EFBIG, "larger than %zu bytes", m->max);
	m->buf = ctrk_xrealloc(m->buf, m->len + len + 1);
	memcpy(m->buf + m->len, data, len);
	m->len += len;
	m->buf[m->len] = '\0';
	return 0;
}

/* A retry starts the body again; what came so far is wiped (a token
 * server's answer is a secret). */
static void
membuf_retry(void *ctx, request_t *req)
{
	struct membuf *m = ctx;
	if (m->buf)
		explicit_bzero(m->buf, m->len);
	m->len = 0;
}

static bool
url_scheme_is(const char *url, const char *scheme)
{
	size_t n = strlen(scheme);
	return strncasecmp(url, scheme, n) == 0 && strncmp(url + n, "://", 3) == 0;
}

/* The host of URL, without port, lower case; NULL when URL does not parse. */
static char *
url_host(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *out = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		out = ctrk_xstrdup(host);
		for (char *p = out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	curl_free(host);
	curl_url_cleanup(u);
	return out;
}

/* May a token realm be asked, and with the credentials?  Not over plain
 * HTTP for an HTTPS registry (a downgrade), and credentials go over plain
 * HTTP only to the host of a plain-HTTP registry itself, never to another. */
static int
check_realm(ctrk_registry_t *r, const char *realm, bool with_creds, ctrk_error_t *err)
{
	cleanup_free char *origin = url_origin(realm);
	if (!origin || !(url_scheme_is(realm, "https") || url_scheme_is(realm, "http")))
		return ctrk_error_set(err, 0, "the token realm '%s' is not an http or https URL", realm);
	if (url_scheme_is(realm, "https"))
		return 0;
	if (url_scheme_is(r->origin, "https"))
		return ctrk_error_set(err, EPERM, "refusing the token realm '%s': plain HTTP for an HTTPS registry",
				      realm);
	cleanup_free char *rhost = url_host(realm);
	cleanup_free char *own = url_host(r->origin);
	if (with_creds && (!rhost || !own || strcmp(rhost, own) != 0))
		return ctrk_error_set(err, EPERM,
				      "refusing to send credentials over plain HTTP to '%s', which is not the registry's host",
				      rhost ? rhost : realm);
	return 0;
}

static int do_request(ctrk_conn_t *c, request_t *req, response_t *resp, ctrk_error_t *err);

/* The bearer-token flow: ask the realm for a token for SCOPE, with the
 * credentials when there are some.  They go to the realm's origin only:
 * a redirect elsewhere gets neither the Basic header nor the refresh token. */
static int
fetch_token(ctrk_conn_t *c, const char *scope, ctrk_error_t *err)
{
	ctrk_registry_t *r = c->r;
	pthread_mutex_lock(&r->lock);
	cleanup_free char *realm = r->realm ? ctrk_xstrdup(r->realm) : NULL;
	cleanup_free char *service = r->service ? ctrk_xstrdup(r->service) : NULL;
	cleanup_free char *user = r->have_creds && r->creds.username ? ctrk_xstrdup(r->creds.username) : NULL;
	cleanup_free char *pass = r->have_creds && r->creds.password ? ctrk_xstrdup(r->creds.password) : NULL;
	cleanup_free char *refresh =
		r->have_creds && r->creds.identity_token ? ctrk_xstrdup(r->creds.identity_token) : NULL;
	pthread_mutex_unlock(&r->lock);
	int ret = -1;
	cleanup_free char *url = NULL, *form = NULL, *basic = NULL, *origin = NULL;
	struct membuf body = {NULL, 0, TOKEN_RESPONSE_MAX};
	if (!realm) {
		ctrk_error_set(err, 0, "the registry asked for a token but named no realm");
		goto out;
	}
	if (check_realm(r, realm, user || refresh, err) < 0)
		goto out;

	char *esc_service = curl_easy_escape(c->curl, service ? service : "", 0);
	char *esc_scope = curl_easy_escape(c->curl, scope ? scope : "", 0);
	if (refresh) {
		char *esc_refresh = curl_easy_escape(c->curl, refresh, 0);
		url = ctrk_xstrdup(realm);
		form = ctrk_strdup_printf("grant_type=refresh_token&client_id=ctrk&service=%s&scope=%s&refresh_token=%s",
					  esc_service, esc_scope, esc_refresh);
		explicit_bzero(esc_refresh, strlen(esc_refresh));
		curl_free(esc_refresh);
	} else {
		url = ctrk_strdup_printf("%s%cservice=%s%s%s", realm, strchr(realm, '?') ? '&' : '?', esc_service,
					 scope ? "&scope=" : "", scope ? esc_scope : "");
	}
	curl_free(esc_service);
	curl_free(esc_scope);
	if (user && !refresh) {
		cleanup_free char *b64 = ctrk_basic_credentials(user, pass);
		basic = ctrk_strdup_printf("Authorization: Basic %s", b64);
		explicit_bzero(b64, strlen(b64));
	}
	origin = url_origin(url);

	request_t req = {
		.method = refresh ? "POST" : "GET",
		.url = steal_pointer(&url),
		.max_body = TOKEN_RESPONSE_MAX,
		.to_token_server = true,
		.auth_origin = origin,
		.authorization = basic,
		.post_fields = form,
		.on_data = membuf_append,
		.on_retry = membuf_retry,
		.ctx = &body,
	};
	response_t resp = {.req = &req};
	int rc = do_request(c, &req, &resp, err);
	url = req.url;
	if (rc < 0) {
		;
	} else if (resp.status == 401 || resp.status == 403) {
		ctrk_error_set(err, EACCES, "the token server refused %s (HTTP %ld)",
			       user || refresh ? "the credentials" : "anonymous access", resp.status);
	} else if (resp.status != 200) {
		char what[256];
		describe_status(&resp, what, sizeof what);
		ctrk_error_set(err, 0, "the token server answered %s", what);
	} else {
		cJSON *doc = ctrk_json_parse(body.buf ? body.buf : "", body.len, "the token server's answer", err);
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(doc, "token");
		if (!cJSON_IsString(tok) || !tok->valuestring[0])
			tok = cJSON_GetObjectItemCaseSensitive(doc, "access_token");
		if (!doc) {
			;
		} else if (!cJSON_IsString(tok) || !tok->valuestring[0]) {
			ctrk_error_set(err, 0, "the token server's answer holds no token");
		} else if (!ctrk_hdr_value_ok(tok->valuestring)) {
			/* It would end the Authorization line and start others. */
			ctrk_error_set(err, 0, "the token server's token holds a control character");
		} else {
			pthread_mutex_lock(&r->lock);
			token_store(r, scope, ctrk_xstrdup(tok->valuestring));
			pthread_mutex_unlock(&r->lock);
			ret = 0;
		}
		if (doc) {
			for (cJSON *j = doc->child; j; j = j->next)
				if (cJSON_IsString(j))
					explicit_bzero(j->valuestring, strlen(j->valuestring));
		}
		cJSON_Delete(doc);
	}
	response_free(&resp);
out:
	if (body.buf) {
		explicit_bzero(body.buf, body.len);
		free(body.buf);
	}
	if (form)
		explicit_bzero(form, strlen(form));
	if (basic)
		explicit_bzero(basic, strlen(basic));
	if (pass)
		explicit_bzero(pass, strlen(pass));
	if (refresh)
		explicit_bzero(refresh, strlen(refresh));
	if (ret < 0)
		ctrk_error_wrap(err, "getting a token from '%s'", realm ? realm : "");
	return ret;
}

/* Learn from a WWW-Authenticate header (a 401's, or the ping's): the token
 * realm and service, or that Basic is wanted.  *BEARER_SCOPE gets the
 * scope the challenge names, if any.  Returns 1 for Bearer, 2 for Basic,
 * 0 for another scheme. */
static int
learn_challenge(ctrk_registry_t *r, const char *header, char **bearer_scope, ctrk_error_t *err)
{
	ctrk_challenge_t ch;
	if (ctrk_challenge_parse(header, &ch, err) < 0)
		return ctrk_error_wrap(err, "the registry's WWW-Authenticate header");
	int kind = 0;
	pthread_mutex_lock(&r->lock);
	if (strcasecmp(ch.scheme, "Bearer") == 0) {
		free(r->realm);
		free(r->service);
		r->realm = steal_pointer(&ch.realm);
		r->service = steal_pointer(&ch.service);
		if (bearer_scope)
			*bearer_scope = steal_pointer(&ch.scope);
		kind = 1;
	} else if (strcasecmp(ch.scheme, "Basic") == 0) {
		r->wants_basic = true;
		kind = 2;
	}
	pthread_mutex_unlock(&r->lock);
	ctrk_challenge_free(&ch);
	return kind;
}

/* Learn from a 401's challenge.  Returns 1 when a retry may now succeed. */
static int
handle_challenge(ctrk_conn_t *c, const char *challenge, const char *scope, ctrk_error_t *err)
{
	ctrk_registry_t *r = c->r;
	if (!challenge)
		return 0;
	pthread_mutex_lock(&r->lock);
	bool had_basic = r->wants_basic;
	pthread_mutex_unlock(&r->lock);
	cleanup_free char *cscope = NULL;
	int kind = learn_challenge(r, challenge, &cscope, err);
	if (kind < 0)
		return -1;
	if (kind == 1) {
		if (fetch_token(c, cscope ? cscope : scope, err) < 0)
			return -1;
		return 1;
	}
	if (kind == 2) {
		pthread_mutex_lock(&r->lock);
		bool creds = r->have_creds && r->creds.username;
		pthread_mutex_unlock(&r->lock);
		return !had_basic && creds;
	}
	return 0;
}

/* The Authorization header for a request to the registry itself. */
static char *
auth_header(ctrk_conn_t *c, const char *scope, ctrk_error_t *err, int *failed)
{
	ctrk_registry_t *r = c->r;
	*failed = 0;
	pthread_mutex_lock(&r->lock);
	const char *tok = token_for(r, scope);
	bool need_token = !tok && r->realm;
	char *out = NULL;
	if (tok) {
		out = ctrk_strdup_printf("Authorization: Bearer %s", tok);
	} else if (r->wants_basic && r->have_creds && r->creds.username) {
		cleanup_free char *b64 = ctrk_basic_credentials(r->creds.username, r->creds.password);
		out = ctrk_strdup_printf("Authorization: Basic %s", b64);
		explicit_bzero(b64, strlen(b64));
	}
	pthread_mutex_unlock(&r->lock);
	if (need_token) {
		/* We know the registry wants a token: get it before the request
		 * instead of after a 401. */
		if (fetch_token(c, scope, err) < 0) {
			*failed = 1;
			return NULL;
		}
		return auth_header(c, scope, err, failed);
	}
	return out;
}

/* ---- requests --------------------------------------------------------- */

/* Add LINE to HEADERS, unless it holds a control character: whatever a
 * value came from, it cannot end its line and add headers of its own. */
static int
add_header(struct curl_slist **headers, const char *line, ctrk_error_t *err)
{
	if (!ctrk_hdr_value_ok(line)) {
		const char *colon = strchr(line, ':');
		return ctrk_error_set(err, 0, "refusing to send a '%.*s' header that holds a control character",
				      colon ? (int)(colon - line) : 0, line);
	}
	struct curl_slist *l = curl_slist_append(*headers, line);
	if (!l)
		return ctrk_error_set(err, ENOMEM, "curl_slist_append");
	*headers = l;
	return 0;
}

static CURLcode
perform_once(ctrk_conn_t *c, request_t *req, response_t *resp, ctrk_error_t *err, int *failed)
{
	struct curl_slist *headers = NULL;
	cleanup_free char *auth = NULL;
	bool to_auth_origin = req->auth_origin && same_origin(req->url, req->auth_origin);
	*failed = 0;
	if (req->to_token_server) {
		if (to_auth_origin && req->authorization)
			auth = ctrk_xstrdup(req->authorization);
	} else if (same_origin(req->url, c->r->origin)) {
		auth = auth_header(c, req->scope, err, failed);
		if (*failed)
			return CURLE_OK;
	}
	apply_common_options(c, req->url);
	CURL *h = c->curl;
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "POST") == 0 && req->post_fields && to_auth_origin)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->post_fields);
	else if (strcmp(req->method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	char range[64];
	if (req->range_from > 0)
		snprintf(range, sizeof range, "Range: bytes=%lld-", req->range_from);
	if ((req->accept && add_header(&headers, req->accept, err) < 0) ||
	    (auth && add_header(&headers, auth, err) < 0) ||
	    (req->range_from > 0 && add_header(&headers, range, err) < 0)) {
		*failed = 1;
		curl_slist_free_all(headers);
		if (auth)
			explicit_bzero(auth, strlen(auth));
		return CURLE_OK;
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	CURLcode rc = curl_easy_perform(h);
	/* Leave neither headers nor a form with credentials in the handle. */
	curl_easy_reset(h);
	curl_slist_free_all(headers);
	if (auth)
		explicit_bzero(auth, strlen(auth));
	return rc;
}

static long
backoff_ms(int attempt, long retry_after)
{
	if (retry_after > 0)
		return (retry_after > 60 ? 60 : retry_after) * 1000;
	long ms = 250L << (attempt < 5 ? attempt : 5);
	return ms > 8000 ? 8000 : ms;
}

/* Where a redirect from REQ to LOCATION may go, or an error.  Never from
 * HTTPS to plain HTTP (anyone on the path could then answer); a request
 * carrying credentials in its body (a refresh token) is never re-sent to
 * another origin. */
static char *
redirect_target(const request_t *req, const char *location, long status, ctrk_error_t *err)
{
	if (!ctrk_hdr_value_ok(location)) {
		ctrk_error_set(err, 0, "refusing a redirect to a Location with a control character");
		return NULL;
	}
	char *next = resolve_location(req->url, location);
	if (!next) {
		ctrk_error_set(err, 0, "refusing a redirect to '%s'", location);
		return NULL;
	}
	if (url_scheme_is(req->url, "https") && !url_scheme_is(next, "https")) {
		ctrk_error_set(err, EPERM, "refusing a redirect from HTTPS to plain HTTP ('%s')", next);
		free(next);
		return NULL;
	}
	bool keeps_body = status == 307 || status == 308;
	if (req->post_fields && keeps_body && !(req->auth_origin && same_origin(next, req->auth_origin))) {
		ctrk_error_set(err, EPERM, "refusing to send the refresh token on to '%s', where the token server redirects",
			       next);
		free(next);
		return NULL;
	}
	return next;
}

/* Send REQ, following redirects (credentials only ever go to the origin
 * they are for), answering auth challenges and retrying transient failures.
 * On return resp->status is the final status. */
static int
do_request(ctrk_conn_t *c, request_t *req, response_t *resp, ctrk_error_t *err)
{
	int attempt = 0, redirects = 0;
	bool challenged = false;
	for (;;) {
		int failed = 0;
		response_reset(resp, req);
		CURLcode rc = perform_once(c, req, resp, err, &failed);
		if (failed)
			return -1;
		if (resp->sink_failed) {
			*err = resp->sink_err;
			return -1;
		}
		if (rc != CURLE_OK) {
			if (is_transient(rc) && attempt < c->r->retries) {
				sleep_ms(backoff_ms(attempt++, 0));
				if (req->on_retry)
					req->on_retry(req->ctx, req);
				continue;
			}
			return transfer_error(c, rc, err);
		}
		long st = resp->status;
		if ((st == 301 || st == 302 || st == 303 || st == 307 || st == 308) && resp->location) {
			char *next = redirect_target(req, resp->location, st, err);
			if (!next)
				return -1;
			if (++redirects > MAX_REDIRECTS) {
				free(next);
				return ctrk_error_set(err, 0, "too many redirects");
			}
			free(req->url);
			req->url = next;
			/* As browsers and curl do: a POST answered with 301, 302
			 * or 303 goes on as a GET, without its body. */
			if (st == 303 || ((st == 301 || st == 302) && strcmp(req->method, "POST") == 0)) {
				req->method = "GET";
				req->post_fields = NULL;
			}
			continue;
		}
		if (st == 401 && !challenged && !req->to_token_server && same_origin(req->url, c->r->origin)) {
			challenged = true;
			int again = handle_challenge(c, resp->www_authenticate, req->scope, err);
			if (again < 0)
				return -1;
			if (again) {
				if (req->on_retry)
					req->on_retry(req->ctx, req);
				continue;
			}
		}
		if ((st == 429 || st >= 500) && attempt < c->r->retries) {
			sleep_ms(backoff_ms(attempt++, resp->retry_after));
			if (req->on_retry)
				req->on_retry(req->ctx, req);
			continue;
		}
		return 0;
	}
}

static int
status_error(const response_t *resp, ctrk_error_t *err)
{
	char what[512];
	describe_status(resp, what, sizeof what);
	if (resp->status == 401)
		return ctrk_error_set(err, 0, "%s: authentication required or refused", what);
	return ctrk_error_set(err, 0, "%s", what);
}

/* ---- opening a registry ----------------------------------------------- */

static int
append_file(char **buf, size_t *len, const char *path, ctrk_error_t *err)
{
	cleanup_free char *data = NULL;
	size_t n = 0;
	if (ctrk_read_regular_file(path, TLS_FILE_MAX, &data, &n, err) < 0)
		return -1;
	*buf = ctrk_xrealloc(*buf, *len + n + 2);
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[(*len)++] = '\n';
	(*buf)[*len] = '\0';
	return 0;
}

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* NAME.cert and NAME.key, read here (as regular files only, see
 * ctrk_read_regular_file) and handed to curl as blobs. */
static int
load_client_cert(ctrk_registry_t *r, const char *cert, ctrk_error_t *err)
{
	cleanup_free char *key = ctrk_strdup_printf("%.*s.key", (int)(strlen(cert) - 5), cert);
	if (!ctrk_path_exists(key))
		return ctrk_error_set(err, ENOENT, "client certificate '%s' has no key '%s'", cert, key);
	if (ctrk_read_regular_file(cert, TLS_FILE_MAX, &r->client_cert, &r->client_cert_len, err) < 0)
		return ctrk_error_wrap(err, "client certificate");
	if (ctrk_read_regular_file(key, TLS_FILE_MAX, &r->client_key, &r->client_key_len, err) < 0)
		return ctrk_error_wrap(err, "client key");
	return 0;
}

/* Extra CAs and a client certificate from --ca-file and the certs.d
 * directory (as docker and podman read it: *.crt are CAs, NAME.cert with
 * NAME.key a client certificate).  Extra CAs add to the system's. */
static int
load_tls(ctrk_registry_t *r, const ctrk_registry_opts_t *opts, ctrk_error_t *err)
{
	cleanup_free char *dir = NULL;
	if (opts->cert_dir) {
		dir = ctrk_xstrdup(opts->cert_dir);
	} else {
		const char *bases[] = {"/etc/containers/certs.d", "/etc/docker/certs.d"};
		for (size_t i = 0; i < 2 && !dir; i++) {
			char *d = ctrk_strdup_printf("%s/%s", bases[i], r->domain);
			if (ctrk_path_exists(d))
				dir = d;
			else
				free(d);
		}
	}

	char *pem = NULL;
	size_t len = 0;
	bool extra = false;
	if (opts->ca_file) {
		if (append_file(&pem, &len, opts->ca_file, err) < 0)
			goto fail;
		extra = true;
	}
	if (dir) {
		DIR *d = opendir(dir);
		if (!d) {
			ctrk_error_errno(err, "open certificate directory '%s'", dir);
			goto fail;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			cleanup_free char *path = ctrk_strdup_printf("%s/%s", dir, de->d_name);
			if (has_suffix(de->d_name, ".crt")) {
				if (append_file(&pem, &len, path, err) < 0) {
					closedir(d);
					goto fail;
				}
				extra = true;
			} else if (has_suffix(de->d_name, ".cert") && !r->client_cert) {
				if (load_client_cert(r, path, err) < 0) {
					closedir(d);
					goto fail;
				}
			}
		}
		closedir(d);
	}
	if (extra) {
		char *all = NULL;
		size_t alllen = 0;
		ctrk_error_t ignored;
		if (append_file(&all, &alllen, SYSTEM_CA_BUNDLE, &ignored) < 0)
			alllen = 0;
		all = ctrk_xrealloc(all, alllen + len + 1);
		memcpy(all + alllen, pem, len);
		all[alllen + len] = '\0';
		r->ca_pem = all;
		r->ca_pem_len = alllen + len;
	}
	free(pem);
	return 0;
fail:
	free(pem);
	return -1;
}

/* A proxy URL's password (http://user:pass@proxy:3128) is a secret too, in
 * the clear and as the base64 of a Proxy-Authorization header. */
static void
remember_proxy_password(const char *proxy)
{
	CURLU *u = curl_url();
	char *user = NULL, *pass = NULL;
	if (curl_url_set(u, CURLUPART_URL, proxy, CURLU_GUESS_SCHEME) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, CURLU_URLDECODE) == CURLUE_OK && *pass) {
		ctrk_secret_add_credentials(
			curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE) == CURLUE_OK ? user : NULL, pass);
	}
	if (pass)
		explicit_bzero(pass, strlen(pass));
	curl_free(user);
	curl_free(pass);
	curl_url_cleanup(u);
}

/* libcurl reads only the lower-case http_proxy, to keep CGI programs safe;
 * a command-line tool honours both spellings, as docker and podman do. */
static void
load_proxy(ctrk_registry_t *r, bool https)
{
	const char *p = https ? getenv("https_proxy") : getenv("http_proxy");
	if (!p || !*p)
		p = https ? getenv("HTTPS_PROXY") : getenv("HTTP_PROXY");
	const char *np = getenv("no_proxy");
	if (!np || !*np)
		np = getenv("NO_PROXY");
	free(r->proxy);
	free(r->noproxy);
	r->proxy = p && *p ? ctrk_xstrdup(p) : NULL;
	r->noproxy = np && *np ? ctrk_xstrdup(np) : NULL;
	if (r->proxy)
		remember_proxy_password(r->proxy);
}

/* GET /v2/: learns the auth challenge, and whether a loopback registry
 * speaks TLS at all. */
static int
ping(ctrk_conn_t *c, bool may_fall_back, ctrk_error_t *err)
{
	ctrk_registry_t *r = c->r;
	for (;;) {
		request_t req = {.method = "GET", .url = ctrk_strdup_printf("%s/v2/", r->origin)};
		response_t resp = {.req = &req};
		int failed = 0, attempt = 0;
		CURLcode rc;
		for (;;) {
			response_reset(&resp, &req);
			rc = perform_once(c, &req, &resp, err, &failed);
			if (failed) {
				free(req.url);
				response_free(&resp);
				return -1;
			}
			if (rc == CURLE_OK || !is_transient(rc) || attempt >= r->retries)
				break;
			sleep_ms(backoff_ms(attempt++, 0));
		}
		free(req.url);
		/* A plain-HTTP server answers a TLS hello with garbage. */
		if (rc == CURLE_SSL_CONNECT_ERROR && may_fall_back) {
			response_free(&resp);
			char *host = strstr(r->origin, "://") + 3;
			char *plain = ctrk_strdup_printf("http://%s", host);
			free(r->origin);
			r->origin = plain;
			load_proxy(r, false);
			may_fall_back = false;
			continue;
		}
		if (rc != CURLE_OK) {
			transfer_error(c, rc, err);
			response_free(&resp);
			return -1;
		}
		int ret = 0;
		if (resp.status == 401 && resp.www_authenticate)
			ret = learn_challenge(r, resp.www_authenticate, NULL, err) < 0 ? -1 : 0;
		response_free(&resp);
		return ret;
	}
}

static void
global_init(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
}

ctrk_registry_t *
ctrk_registry_open(const char *domain, const ctrk_registry_opts_t *opts, ctrk_error_t *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, global_init);

	ctrk_registry_t *r = ctrk_xcalloc(1, sizeof *r);
	pthread_mutex_init(&r->lock, NULL);
	r->domain = ctrk_xstrdup(domain);
	r->retries = opts->retries >= 0 ? opts->retries : 3;
	if (ctrk_env_seconds("CTRK_STALL_TIMEOUT", STALL_TIMEOUT_DEFAULT, STALL_TIMEOUT_MAX, &r->stall_s, err) < 0)
		goto fail;
	const char *host = strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain;
	bool loopback = ctrk_host_is_loopback(domain);
	r->origin = ctrk_strdup_printf("%s://%s", opts->plain_http ? "http" : "https", host);
	load_proxy(r, !opts->plain_http);

	if (load_tls(r, opts, err) < 0)
		goto fail;
	int found = ctrk_auth_lookup(&opts->auth, domain, &r->creds, err);
	if (found < 0)
		goto fail;
	r->have_creds = found > 0;

	ctrk_conn_t *c = ctrk_conn_new(r);
	int rc = ping(c, loopback && !opts->plain_http, err);
	ctrk_conn_free(c);
	if (rc < 0)
		goto fail;
	return r;
fail:
	ctrk_error_wrap(err, "reaching registry '%s'", domain);
	ctrk_registry_close(r);
	return NULL;
}

void
ctrk_registry_close(ctrk_registry_t *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->origin);
	free(r->ca_pem);
	free(r->client_cert);
	if (r->client_key)
		explicit_bzero(r->client_key, r->client_key_len);
	free(r->client_key);
	free(r->proxy);
	free(r->noproxy);
	free(r->realm);
	free(r->service);
	ctrk_creds_clear(&r->creds);
	for (int i = 0; i < r->ntokens; i++) {
		free(r->tokens[i].scope);
		explicit_bzero(r->tokens[i].value, strlen(r->tokens[i].value));
		free(r->tokens[i].value);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}

ctrk_conn_t *
ctrk_conn_new(ctrk_registry_t *r)
{
	ctrk_conn_t *c = ctrk_xcalloc(1, sizeof *c);
	c->r = r;
	c->curl = curl_easy_init();
	if (!c->curl) {
		fprintf(stderr, "%s: error: cannot initialise libcurl\n", ctrk_progname);
		abort();
	}
	return c;
}

void
ctrk_conn_free(ctrk_conn_t *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

/* ---- manifests and blobs ---------------------------------------------- */

static char *
scope_for(const char *repo, const char *actions)
{
	return ctrk_strdup_printf("repository:%s:%s", repo, actions);
}

int
ctrk_registry_get_manifest(ctrk_conn_t *c, const char *repo, const char *reference, char **body, size_t *len,
			   char **media_type, ctrk_error_t *err)
{
	cleanup_free char *scope = scope_for(repo, "pull");
	struct membuf m = {NULL, 0, CTRK_MANIFEST_MAX};
	request_t req = {
		.method = "GET",
		.url = ctrk_strdup_printf("%s/v2/%s/manifests/%s", c->r->origin, repo, reference),
		.scope = scope,
		.accept = MANIFEST_ACCEPT,
		.max_body = CTRK_MANIFEST_MAX,
		.on_data = membuf_append,
		.on_retry = membuf_retry,
		.ctx = &m,
	};
	response_t resp = {.req = &req};
	int ret = do_request(c, &req, &resp, err);
	if (ret == 0 && resp.status != 200)
		ret = status_error(&resp, err);
	if (ret == 0) {
		*body = m.buf ? m.buf : ctrk_xstrdup("");
		m.buf = NULL;
		*len = m.len;
		*media_type = ctrk_xstrdup(resp.content_type ? resp.content_type : "");
		/* Parameters such as "; charset=utf-8" are not part of the type. */
		(*media_type)[strcspn(*media_type, "; ")] = '\0';
	}
	free(m.buf);
	free(req.url);
	response_free(&resp);
	if (ret < 0) {
		ctrk_error_wrap(err, "fetching manifest '%s' of '%s'", reference, repo);
	}
	return ret;
}

struct blob_sink {
	ctrk_ingest_t *in;
	ctrk_progress_fn progress;
	void *progress_ctx;
};

static int
blob_write(void *ctx, const char *data, size_t len, ctrk_error_t *err)
{
	struct blob_sink *s = ctx;
	if (ctrk_ingest_write(s->in, data, len, err) < 0)
		return -1;
	if (s->progress && !s->progress(s->progress_ctx, s->in->offset, s->in->size))
		return ctrk_error_set(err, ECANCELED, "cancelled");
	return 0;
}

static void
blob_retry(void *ctx, request_t *req)
{
	struct blob_sink *s = ctx;
	req->range_from = s->in->offset;
	s->in->resumed |= s->in->offset > 0;
}

static int
blob_restart(void *ctx, ctrk_error_t *err)
{
	struct blob_sink *s = ctx;
	return ctrk_ingest_restart(s->in, err);
}

int
ctrk_registry_fetch_blob(ctrk_conn_t *c, const char *repo, ctrk_ingest_t *in, ctrk_progress_fn progress,
			 void *progress_ctx, ctrk_error_t *err)
{
	/* A partial file that is already complete only needs its commit. */
	if (in->size < 0 || in->offset < in->size) {
		cleanup_free char *scope = scope_for(repo, "pull");
		struct blob_sink sink = {in, progress, progress_ctx};
		request_t req = {
			.method = "GET",
			.url = ctrk_strdup_printf("%s/v2/%s/blobs/%s", c->r->origin, repo, in->digest),
			.scope = scope,
			.range_from = in->offset,
			.max_body = in->size > 0 ? in->size : 0,
			.max_is_descriptor_size = true,
			.on_data = blob_write,
			.on_retry = blob_retry,
			.on_restart = blob_restart,
			.ctx = &sink,
		};
		response_t resp = {.req = &req};
		int ret = do_request(c, &req, &resp, err);
		/* The partial file is not what the server has: start again. */
		bool unresumable = ret == 0 && resp.status == 416 && req.range_from > 0;
		if (ret == 0 && resp.status != 200 && resp.status != 206)
			ret = status_error(&resp, err);
		free(req.url);
		response_free(&resp);
		if (unresumable) {
			ctrk_error_wrap(err, "resuming blob %s", in->digest);
			ctrk_ingest_discard(in);
			return -1;
		}
		if (ret < 0) {
			ctrk_error_wrap(err, "fetching blob %s", in->digest);
			ctrk_ingest_close(in);
			return -1;
		}
	}
	if (progress)
		progress(progress_ctx, in->offset, in->size);
	char digest[CTRK_DIGEST_LEN + 1];
	memcpy(digest, in->digest, sizeof digest);
	if (ctrk_ingest_finish(in, err) < 0)
		return ctrk_error_wrap(err, "fetching blob %s", digest);
	return 0;
}
