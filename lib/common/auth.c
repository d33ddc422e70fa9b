/* Registry credentials, looked up where podman, skopeo and docker keep them.
 *
 * File format (containers-auth.json(5), docker config.json):
 *   { "credHelpers": { "REGISTRY": "NAME" },
 *     "auths": { "REGISTRY": { "auth": base64("user:pass") } },
 *     "credsStore": "NAME" }
 * A helper is the program docker-credential-NAME, run with the argument
 * "get", the server URL on stdin and {"ServerURL","Username","Secret"} on
 * stdout: https://github.com/docker/docker-credential-helpers
 *
 * Secrets are never printed nor put in error messages, and every buffer that
 * held one is wiped before it is freed.
 */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cleanup.h"
#include "fsutil.h"
#include "httphdr.h"
#include "json.h"
#include "paths.h"
#include "process.h"
#include "redact.h"


#define AUTH_FILE_MAX (1024 * 1024)
#define HELPER_OUTPUT_MAX (64 * 1024)
/* The server URL the helper reads on stdin: far above any host name. */
#define SERVER_URL_MAX 4096

/* A helper may ask the user (a pinentry for pass or gpg), so this is not
 * short; but it is a limit: a helper that hangs must not hang the pull.
 * $CTRK_CREDENTIAL_HELPER_TIMEOUT changes it. */
#define HELPER_TIMEOUT_DEFAULT 60L
#define HELPER_TIMEOUT_MAX 3600L

#define DOCKER_HUB "docker.io"
#define DOCKER_HUB_SERVER_URL "https://index.docker.io/v1/"

static void
wipe_str(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
}

void
ctrk_creds_clear(ctrk_creds_t *c)
{
	if (!c)
		return;
	wipe_str(c->username);
	wipe_str(c->password);
	wipe_str(c->identity_token);
	free(c->username);
	free(c->password);
	free(c->identity_token);
	c->username = c->password = c->identity_token = NULL;
}

/* cJSON_Delete() after wiping every string value in the tree. */
static void
json_wipe(cJSON *j)
{
	for (; j; j = j->next) {
		wipe_str(j->valuestring);
		json_wipe(j->child);
	}
}

static void
json_wipe_deletep(cJSON **j)
{
	json_wipe(*j);
	cJSON_Delete(*j);
}

#define cleanup_json_wipe __attribute__((cleanup(json_wipe_deletep)))

/* Parse LEN bytes of BUF, then wipe and free BUF whatever the outcome. */
static cJSON *
parse_and_wipe(char *buf, size_t len, const char *what, ctrk_error_t *err)
{
	cJSON *doc = ctrk_json_parse(buf, len, what, err);
	explicit_bzero(buf, len);
	free(buf);
	return doc;
}

/* --- registry names -------------------------------------------------- */

/* "https://index.docker.io/v1/" -> "docker.io", "http://h:5000/x" -> "h:5000".
 * Docker Hub goes by three names; they are all "docker.io" here. */
static char *
normalize_registry(const char *s)
{
	if (strncasecmp(s, "https://", 8) == 0)
		s += 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		s += 7;
	size_t n = strcspn(s, "/");
	char *host = ctrk_xmalloc(n + 1);
	memcpy(host, s, n);
	host[n] = '\0';
	if (strcasecmp(host, "index.docker.io") == 0 || strcasecmp(host, "registry-1.docker.io") == 0) {
		free(host);
		host = ctrk_xstrdup(DOCKER_HUB);
	}
	return host;
}

/* OBJ[REGISTRY] by exact key first, then the first key that normalises to
 * the same registry. */
static const cJSON *
find_entry(const cJSON *obj, const char *registry)
{
	if (!obj)
		return NULL;
	const cJSON *exact = cJSON_GetObjectItemCaseSensitive(obj, registry);
	if (exact)
		return exact;
	cleanup_free char *want = normalize_registry(registry);
	const cJSON *item;
	cJSON_ArrayForEach(item, obj) {
		if (!item->string)
			continue;
		cleanup_free char *key = normalize_registry(item->string);
		if (strcasecmp(key, want) == 0)
			return item;
	}
	return NULL;
}

/* --- credential helpers ---------------------------------------------- */

/* {"ServerURL","Username","Secret"} into OUT.  Returns 1, or 0 when the
 * helper answered with neither a user name nor a secret. */
static int
parse_helper_output(const cJSON *doc, const char *what, ctrk_creds_t *out, ctrk_error_t *err)
{
	const char *user = NULL, *secret = NULL;
	if (!cJSON_IsObject(doc))
		return ctrk_error_set(err, 0, "%s: expected a JSON object", what);
	if (ctrk_json_get_string(doc, "Username", false, &user, what, err) < 0 ||
	    ctrk_json_get_string(doc, "Secret", false, &secret, what, err) < 0)
		return -1;
	if ((!user || !*user) && (!secret || !*secret))
		return 0;
	/* docker-credential-helpers: a "<token>" user means the secret is an
	 * identity (refresh) token, not a password. */
	if (user && strcmp(user, "<token>") == 0) {
		out->identity_token = ctrk_xstrdup(secret ? secret : "");
		return 1;
	}
	out->username = ctrk_xstrdup(user ? user : "");
	out->password = ctrk_xstrdup(secret ? secret : "");
	return 1;
}

/* Run docker-credential-NAME get.  1 found, 0 none, -1 error. */
static int
run_helper(const char *name, const char *registry, ctrk_creds_t *out, ctrk_error_t *err)
{
	/* A name with a '/' would run a path, not a
	 * docker-credential-* program from PATH. */
	if (!*name || strchr(name, '/'))
		return ctrk_error_set(err, 0, "invalid credential helper name '%s'", name);
	cleanup_free char *prog = ctrk_strdup_printf("docker-credential-%s", name);
	cleanup_free char *host = normalize_registry(registry);
	/* Docker Hub's credentials are stored under its legacy URL. */
	const char *url = strcmp(host, DOCKER_HUB) == 0 ? DOCKER_HUB_SERVER_URL : registry;
	size_t url_len = strlen(url);
	if (url_len > SERVER_URL_MAX)
		return ctrk_error_set(err, 0, "registry name longer than %d bytes", SERVER_URL_MAX);

	long timeout_s;
	if (ctrk_env_seconds("CTRK_CREDENTIAL_HELPER_TIMEOUT", HELPER_TIMEOUT_DEFAULT, HELPER_TIMEOUT_MAX,
			     &timeout_s, err) < 0)
		return -1;
	/* stderr is discarded: we neither let a helper write on our caller's
	 * terminal nor copy what it says into an error message, where a
	 * secret could end up. */
	cleanup_close int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0)
		return ctrk_error_errno(err, "cannot open /dev/null");
	char *const argv[] = {prog, (char *)"get", NULL};
	ctrk_spawn_t sp = {
		.argv = argv,
		.stdio = {-1, -1, devnull},
		.timeout_ms = (int)(timeout_s * 1000),
		.secret_output = true,
	};
	char *buf = NULL;
	size_t len = 0;
	int status = 0;
	if (ctrk_spawn_capture(&sp, url, url_len, HELPER_OUTPUT_MAX, &buf, &len, NULL, &status, err) < 0) {
		if (err->errnum == ETIMEDOUT)
			ctrk_error_set(err, 0, "no answer within %ld s (CTRK_CREDENTIAL_HELPER_TIMEOUT)", timeout_s);
		return ctrk_error_wrap(err, "credential helper '%s'", prog);
	}

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		bool not_found = WIFEXITED(status) && strstr(buf, "credentials not found");
		explicit_bzero(buf, len);
		free(buf);
		if (not_found)
			return 0;
		if (WIFSIGNALED(status))
			return ctrk_error_set(err, 0, "credential helper '%s' failed: killed by signal %d", prog,
					      WTERMSIG(status));
		return ctrk_error_set(err, 0, "credential helper '%s' failed: exit status %d", prog,
				      WEXITSTATUS(status));
	}

	cleanup_free char *what = ctrk_strdup_printf("output of credential helper '%s'", prog);
	cleanup_json_wipe cJSON *doc = parse_and_wipe(buf, len, what, err);
	if (!doc)
		return -1;
	return parse_helper_output(doc, what, out, err);
}

/* --- auths entries --------------------------------------------------- */

/* Decode standard base64, padded or not, into a NUL-terminated string. */
static char *
base64_decode(const char *in, size_t *outlen)
{
	size_t n = strlen(in);
	if (n % 4 == 1)
		return NULL;
	size_t padded = (n + 3) / 4 * 4;
	cleanup_free char *src = ctrk_xmalloc(padded + 1);
	memcpy(src, in, n);
	memset(src + n, '=', padded - n);
	src[padded] = '\0';
	size_t pad = 0;
	while (pad < 2 && padded > pad && src[padded - 1 - pad] == '=')
		pad++;

	char *dst = ctrk_xmalloc(padded / 4 * 3 + 1);
	/* EVP_DecodeBlock() decodes the '=' padding as zero bytes and counts
	 * them in its result: take them off again. */
	int r = EVP_DecodeBlock((unsigned char *)dst, (const unsigned char *)src, (int)padded);
	explicit_bzero(src, padded);
	if (r < 0 || (size_t)r < pad) {
		explicit_bzero(dst, padded / 4 * 3 + 1);
		free(dst);
		return NULL;
	}
	*outlen = (size_t)r - pad;
	dst[*outlen] = '\0';
	return dst;
}

static int
entry_string(const cJSON *entry, const char *key, const char **out, const char *path, const char *name,
	     ctrk_error_t *err)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(entry, key);
	if (!item || cJSON_IsNull(item))
		return 0;
	if (!cJSON_IsString(item))
		return ctrk_error_set(err, 0, "'%s': auths entry '%s': field '%s' must be a string", path, name,
				      key);
	if (*item->valuestring)
		*out = item->valuestring;
	return 0;
}

/* One auths entry into OUT: 1 found, 0 empty (docker writes "{}" when the
 * credentials are in a credsStore), -1 error. */
static int
parse_auth_entry(const cJSON *entry, const char *path, ctrk_creds_t *out, ctrk_error_t *err)
{
	const char *name = entry->string;
	const char *auth = NULL, *user = NULL, *pass = NULL, *token = NULL;
	if (!cJSON_IsObject(entry))
		return ctrk_error_set(err, 0, "'%s': auths entry '%s' must be an object", path, name);
	if (entry_string(entry, "auth", &auth, path, name, err) < 0 ||
	    entry_string(entry, "username", &user, path, name, err) < 0 ||
	    entry_string(entry, "password", &pass, path, name, err) < 0 ||
	    entry_string(entry, "identitytoken", &token, path, name, err) < 0)
		return -1;

	if (auth) {
		size_t len = 0;
		char *plain = base64_decode(auth, &len);
		if (!plain)
			return ctrk_error_set(err, 0, "'%s': auths entry '%s': invalid base64 in 'auth'", path,
					      name);
		char *colon = strchr(plain, ':');
		if (!colon || memchr(plain, '\0', len)) {
			explicit_bzero(plain, len);
			free(plain);
			return ctrk_error_set(err, 0, "'%s': auths entry '%s': 'auth' is not 'user:password'",
					      path, name);
		}
		*colon = '\0';
		out->username = ctrk_xstrdup(plain);
		out->password = ctrk_xstrdup(colon + 1);
		explicit_bzero(plain, len);
		free(plain);
	} else if (user || pass) {
		out->username = ctrk_xstrdup(user ? user : "");
		out->password = ctrk_xstrdup(pass ? pass : "");
	}
	if (token)
		out->identity_token = ctrk_xstrdup(token);
	return out->username || out->identity_token ? 1 : 0;
}

/* --- files ----------------------------------------------------------- */

/* 1 found, 0 none (or no such file, unless MUST_EXIST), -1 error. */
static int
lookup_in_file(const char *path, bool must_exist, const char *registry, ctrk_creds_t *out, ctrk_error_t *err)
{
	cleanup_close int fd = ctrk_open_regular(path, err);
	if (fd < 0) {
		if ((errno == ENOENT || errno == ENOTDIR) && !must_exist)
			return 0;
		return ctrk_error_wrap(err, "auth file");
	}
	char *buf = NULL;
	size_t len = 0;
	if (ctrk_read_all_fd(fd, AUTH_FILE_MAX, &buf, &len, err) < 0)
		return ctrk_error_wrap(err, "reading auth file '%s'", path);
	cleanup_free char *what = ctrk_strdup_printf("'%s'", path);
	cleanup_json_wipe cJSON *doc = parse_and_wipe(buf, len, what, err);
	if (!doc)
		return -1;
	if (!cJSON_IsObject(doc))
		return ctrk_error_set(err, 0, "%s: expected a JSON object", what);

	const cJSON *helpers = NULL, *auths = NULL;
	const char *store = NULL;
	if (ctrk_json_get_object(doc, "credHelpers", false, &helpers, what, err) < 0 ||
	    ctrk_json_get_object(doc, "auths", false, &auths, what, err) < 0 ||
	    ctrk_json_get_string(doc, "credsStore", false, &store, what, err) < 0)
		return -1;

	int r;
	const cJSON *helper = find_entry(helpers, registry);
	if (helper) {
		if (!cJSON_IsString(helper))
			return ctrk_error_set(err, 0, "%s: credHelpers entry '%s' must be a string", what,
					      helper->string);
		if ((r = run_helper(helper->valuestring, registry, out, err)) != 0)
			return r < 0 ? ctrk_error_wrap(err, "%s", what) : 1;
	}
	const cJSON *entry = find_entry(auths, registry);
	if (entry && (r = parse_auth_entry(entry, path, out, err)) != 0)
		return r;
	if (store && *store) {
		if ((r = run_helper(store, registry, out, err)) != 0)
			return r < 0 ? ctrk_error_wrap(err, "%s", what) : 1;
	}
	return 0;
}

static const char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* "USER:PASS" or "USER" (an empty password). */
static int
parse_creds(const char *s, ctrk_creds_t *out, ctrk_error_t *err)
{
	if (!*s)
		return ctrk_error_set(err, 0, "invalid --creds: empty, expected USER[:PASSWORD]");
	if (*s == ':')
		return ctrk_error_set(err, 0, "invalid --creds: empty user name");
	const char *colon = strchr(s, ':');
	if (colon) {
		size_t n = (size_t)(colon - s);
		out->username = ctrk_xmalloc(n + 1);
		memcpy(out->username, s, n);
		out->username[n] = '\0';
		out->password = ctrk_xstrdup(colon + 1);
	} else {
		out->username = ctrk_xstrdup(s);
		out->password = ctrk_xstrdup("");
	}
	return 1;
}

/* From now on no message shows these credentials, in any form a server
 * could send them back in: the password, "user:password" and its base64
 * (the Basic header), the identity token (redact.h adds the URL-encoded
 * forms). */
static void
remember_creds(const ctrk_creds_t *c)
{
	ctrk_secret_add_credentials(c->username, c->password);
	ctrk_secret_add(c->identity_token);
}

/* Credentials end up in an Authorization header (or a form): one with a
 * control character could end that line and add headers of its own, so it
 * is refused, wherever it came from.  FROM names the source. */
static int
check_creds(ctrk_creds_t *c, const char *registry, const char *from, ctrk_error_t *err)
{
	const char *bad = NULL;
	if (c->username && !ctrk_hdr_value_ok(c->username))
		bad = "user name";
	else if (c->password && !ctrk_hdr_value_ok(c->password))
		bad = "password";
	else if (c->identity_token && !ctrk_hdr_value_ok(c->identity_token))
		bad = "identity token";
	if (!bad) {
		remember_creds(c);
		return 1;
	}
	ctrk_creds_clear(c);
	return ctrk_error_set(err, 0, "the %s for '%s' from %s holds a control character", bad, registry, from);
}

int
ctrk_auth_lookup(const ctrk_auth_opts_t *opts, const char *registry, ctrk_creds_t *out, ctrk_error_t *err)
{
	memset(out, 0, sizeof *out);
	if (opts && opts->creds) {
		if (parse_creds(opts->creds, out, err) < 0)
			return -1;
		return check_creds(out, registry, "--creds", err);
	}
	if (opts && opts->authfile) {
		int r = lookup_in_file(opts->authfile, true, registry, out, err);
		if (r <= 0)
			ctrk_creds_clear(out);
		if (r > 0) {
			cleanup_free char *from = ctrk_strdup_printf("'%s'", opts->authfile);
			r = check_creds(out, registry, from, err);
		}
		return r;
	}

	const char *reg_file = env_nonempty("REGISTRY_AUTH_FILE");
	const char *xdg = env_nonempty("XDG_RUNTIME_DIR");
	const char *docker_config = env_nonempty("DOCKER_CONFIG");
	const char *home = env_nonempty("HOME");
	cleanup_free char *xdg_file = xdg ? ctrk_strdup_printf("%s/containers/auth.json", xdg) : NULL;
	cleanup_free char *docker_file = NULL;
	if (docker_config)
		docker_file = ctrk_strdup_printf("%s/config.json", docker_config);
	else if (home)
		docker_file = ctrk_strdup_printf("%s/.docker/config.json", home);
	const char *files[] = { reg_file, xdg_file, docker_file };

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		if (!files[i])
			continue;
		int r = lookup_in_file(files[i], false, registry, out, err);
		if (r != 0) {
			if (r < 0) {
				ctrk_creds_clear(out);
				return r;
			}
			cleanup_free char *from = ctrk_strdup_printf("'%s'", files[i]);
			return check_creds(out, registry, from, err);
		}
		ctrk_creds_clear(out);
	}
	return 0;
}
