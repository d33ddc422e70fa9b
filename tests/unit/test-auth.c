/* Registry credentials: --creds, --authfile, the environment's auth files in
 * order, the auths forms, and docker-credential-* helpers. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "cleanup.h"
#include "fsutil.h"
#include "tap.h"

static char tmp[] = "/tmp/ctrk-test-auth-XXXXXX";

static char *
path_of(const char *rel)
{
	return ctrk_strdup_printf("%s/%s", tmp, rel);
}

/* Write TMP/REL (creating its directories) with MODE. */
static void
write_file(const char *rel, const char *content, mode_t mode)
{
	cleanup_free char *path = path_of(rel);
	cleanup_free char *dir = ctrk_xstrdup(path);
	*strrchr(dir, '/') = '\0';
	ctrk_error_t err;
	if (ctrk_mkdir_p(dir, 0700, &err) < 0 || ctrk_write_file_atomic(path, content, strlen(content), mode, &err) < 0) {
		printf("Bail out! %s\n", err.msg);
		exit(1);
	}
}

/* Point every source at TMP/NAME... when given, unset it otherwise. */
static void
set_env(const char *name, const char *rel)
{
	if (rel) {
		cleanup_free char *p = path_of(rel);
		setenv(name, p, 1);
	} else {
		unsetenv(name);
	}
}

static void
reset_env(void)
{
	set_env("REGISTRY_AUTH_FILE", NULL);
	set_env("XDG_RUNTIME_DIR", NULL);
	set_env("DOCKER_CONFIG", NULL);
	set_env("HOME", "home-empty");
}

static int
lookup(const char *creds, const char *authfile, const char *registry, ctrk_creds_t *c, ctrk_error_t *err)
{
	cleanup_free char *af = authfile ? path_of(authfile) : NULL;
	ctrk_auth_opts_t opts = { .creds = creds, .authfile = af };
	err->msg[0] = '\0';
	return ctrk_auth_lookup(&opts, registry, c, err);
}

/* Expect 1 and USER/PASS (or TOKEN). */
static void
expect(const char *creds, const char *authfile, const char *registry, const char *user, const char *pass,
       const char *token, const char *name)
{
	ctrk_creds_t c;
	ctrk_error_t err;
	int r = lookup(creds, authfile, registry, &c, &err);
	ok(r == 1, "%s: found", name);
	if (r < 0)
		printf("#   error: %s\n", err.msg);
	is_str(c.username, user, "%s: username", name);
	is_str(c.password, pass, "%s: password", name);
	is_str(c.identity_token, token, "%s: identity token", name);
	ctrk_creds_clear(&c);
}

static void
expect_none(const char *authfile, const char *registry, const char *name)
{
	ctrk_creds_t c;
	ctrk_error_t err;
	int r = lookup(NULL, authfile, registry, &c, &err);
	ok(r == 0 && !c.username && !c.password && !c.identity_token, "%s: none", name);
	if (r < 0)
		printf("#   error: %s\n", err.msg);
	ctrk_creds_clear(&c);
}

/* Expect -1 with a message containing WANT and not the secret NOT. */
static void
expect_error(const char *creds, const char *authfile, const char *registry, const char *want, const char *not,
	     const char *name)
{
	ctrk_creds_t c;
	ctrk_error_t err;
	int r = lookup(creds, authfile, registry, &c, &err);
	ok(r == -1 && !c.username && !c.password && !c.identity_token, "%s: error", name);
	ok(strstr(err.msg, want) != NULL, "%s: message names '%s'", name, want);
	printf("#   message: %s\n", err.msg);
	if (not)
		ok(strstr(err.msg, not) == NULL, "%s: message does not show the secret", name);
	ctrk_creds_clear(&c);
}

static void
test_creds(void)
{
	reset_env();
	expect("alice:s3cret", NULL, "docker.io", "alice", "s3cret", NULL, "--creds USER:PASS");
	expect("bob", NULL, "docker.io", "bob", "", NULL, "--creds USER");
	expect("carol:pa:ss", NULL, "docker.io", "carol", "pa:ss", NULL, "--creds splits at the first ':'");
	expect("dave:", NULL, "docker.io", "dave", "", NULL, "--creds USER:");
	expect_error("", NULL, "docker.io", "invalid --creds", NULL, "--creds ''");
	expect_error(":s3cret", NULL, "docker.io", "invalid --creds", "s3cret", "--creds :PASS");
	/* --creds wins over everything, even a missing --authfile. */
	expect("alice:s3cret", "nonexistent.json", "docker.io", "alice", "s3cret", NULL, "--creds before --authfile");
}

static void
test_files(void)
{
	reset_env();
	expect_none(NULL, "docker.io", "no auth files at all");

	/* ~/.docker/config.json with Docker Hub's legacy key and base64 auth. */
	write_file("home/.docker/config.json",
		   "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1YnBhc3M=\"},"
		   "\"localhost:5000\":{\"username\":\"homeuser\",\"password\":\"homepass\"}}}",
		   0600);
	set_env("HOME", "home");
	expect(NULL, NULL, "docker.io", "hub", "hubpass", NULL, "HOME config, https://index.docker.io/v1/ key");
	expect(NULL, NULL, "index.docker.io", "hub", "hubpass", NULL, "index.docker.io is docker.io");
	expect(NULL, NULL, "registry-1.docker.io", "hub", "hubpass", NULL, "registry-1.docker.io is docker.io");
	expect(NULL, NULL, "localhost:5000", "homeuser", "homepass", NULL, "username/password form");
	expect_none(NULL, "quay.io", "registry not in the file");

	/* $DOCKER_CONFIG replaces ~/.docker. */
	write_file("dockercfg/config.json",
		   "{\"auths\":{\"http://localhost:5000/v2/\":{\"username\":\"dcuser\",\"password\":\"dcpass\"}}}",
		   0600);
	set_env("DOCKER_CONFIG", "dockercfg");
	expect(NULL, NULL, "localhost:5000", "dcuser", "dcpass", NULL, "DOCKER_CONFIG, key with scheme and path");
	expect_none(NULL, "docker.io", "DOCKER_CONFIG replaces HOME/.docker");

	/* $XDG_RUNTIME_DIR/containers/auth.json comes before docker's. */
	write_file("xdg/containers/auth.json",
		   "{\"auths\":{\"localhost:5000\":{\"auth\":\"YTpi\"},\"ghcr.io\":{\"auth\":\"YWI6Yw==\"},"
		   "\"quay.io\":{\"auth\":\"YWJjOmQ=\"},\"example.com\":{\"identitytoken\":\"idtok\"},"
		   "\"empty.example\":{}}}",
		   0600);
	set_env("XDG_RUNTIME_DIR", "xdg");
	expect(NULL, NULL, "localhost:5000", "a", "b", NULL, "XDG before DOCKER_CONFIG; base64 without padding");
	expect(NULL, NULL, "ghcr.io", "ab", "c", NULL, "base64 with '==' padding");
	expect(NULL, NULL, "quay.io", "abc", "d", NULL, "base64 with '=' padding");
	expect(NULL, NULL, "example.com", NULL, NULL, "idtok", "identitytoken");
	expect_none(NULL, "empty.example", "an empty entry is no credentials");
	set_env("DOCKER_CONFIG", NULL);
	expect(NULL, NULL, "docker.io", "hub", "hubpass", NULL, "falls through XDG to HOME/.docker");

	/* $REGISTRY_AUTH_FILE comes first; a missing one is skipped. */
	write_file("regauth.json", "{\"auths\":{\"localhost:5000\":{\"auth\":\"dTpwOnE=\"}}}", 0600);
	set_env("REGISTRY_AUTH_FILE", "regauth.json");
	expect(NULL, NULL, "localhost:5000", "u", "p:q", NULL, "REGISTRY_AUTH_FILE before XDG");
	expect(NULL, NULL, "ghcr.io", "ab", "c", NULL, "falls through REGISTRY_AUTH_FILE to XDG");
	set_env("REGISTRY_AUTH_FILE", "missing.json");
	expect(NULL, NULL, "localhost:5000", "a", "b", NULL, "missing REGISTRY_AUTH_FILE is skipped");

	/* --authfile: only that file, and it must exist. */
	write_file("authfile.json", "{\"auths\":{\"localhost:5000\":{\"auth\":\"YWJjOmQ=\"}}}", 0600);
	expect(NULL, "authfile.json", "localhost:5000", "abc", "d", NULL, "--authfile");
	expect_none("authfile.json", "ghcr.io", "--authfile is the only file consulted");
	expect_error(NULL, "nonexistent.json", "localhost:5000", "nonexistent.json", NULL, "--authfile missing");

	/* Broken files are errors naming the file, never showing secrets. */
	write_file("bad.json", "{\"auths\":{\"localhost:5000\":{\"auth\":\"czNjcmV0", 0600);
	expect_error(NULL, "bad.json", "localhost:5000", "bad.json", "czNjcmV0", "invalid JSON");
	set_env("REGISTRY_AUTH_FILE", "bad.json");
	expect_error(NULL, NULL, "localhost:5000", "bad.json", NULL, "invalid JSON in REGISTRY_AUTH_FILE");
	set_env("REGISTRY_AUTH_FILE", NULL);
	write_file("bad64.json", "{\"auths\":{\"r.io\":{\"auth\":\"!!!!\"},\"s.io\":{\"auth\":\"bm9jb2xvbg==\"}}}",
		   0600);
	expect_error(NULL, "bad64.json", "r.io", "invalid base64", NULL, "invalid base64");
	expect_error(NULL, "bad64.json", "s.io", "bad64.json", "nocolon", "auth without ':'");
	write_file("badtype.json", "{\"auths\":[]}", 0600);
	expect_error(NULL, "badtype.json", "r.io", "'auths' must be an object", NULL, "auths of the wrong type");
}

static void
write_helpers(void)
{
	cleanup_free char *ok_script = ctrk_strdup_printf(
		"#!/bin/sh\n"
		"url=$(cat)\n"
		"printf '%%s' \"$url\" > '%s/last-url'\n"
		"printf '%%s' \"$1\" > '%s/last-arg'\n"
		"echo 'noise on stderr' >&2\n"
		"printf '{\"ServerURL\":\"%%s\",\"Username\":\"helperuser\",\"Secret\":\"helperpass\"}\\n' \"$url\"\n",
		tmp, tmp);
	write_file("bin/docker-credential-testhelper", ok_script, 0755);
	write_file("bin/docker-credential-notfound",
		   "#!/bin/sh\ncat >/dev/null\necho 'credentials not found in native keychain'\nexit 1\n", 0755);
	write_file("bin/docker-credential-token",
		   "#!/bin/sh\ncat >/dev/null\n"
		   "echo '{\"ServerURL\":\"x\",\"Username\":\"<token>\",\"Secret\":\"refresh-tok\"}'\n",
		   0755);
	write_file("bin/docker-credential-failing", "#!/bin/sh\ncat >/dev/null\necho 'boom s3cret'\nexit 3\n", 0755);
	write_file("bin/docker-credential-noread",
		   "#!/bin/sh\necho '{\"Username\":\"nr\",\"Secret\":\"nrpass\"}'\n", 0755);
	write_file("bin/docker-credential-huge", "#!/bin/sh\nhead -c 200000 /dev/zero | tr '\\0' a\n", 0755);
	write_file("bin/docker-credential-badjson", "#!/bin/sh\necho 'not json s3cret'\n", 0755);

	cleanup_free char *bin = path_of("bin");
	const char *old = getenv("PATH");
	cleanup_free char *path = ctrk_strdup_printf("%s:%s", bin, old ? old : "/usr/bin:/bin");
	setenv("PATH", path, 1);
}

static char *
read_back(const char *rel)
{
	cleanup_free char *p = path_of(rel);
	char *buf = NULL;
	size_t len;
	ctrk_error_t err;
	if (ctrk_read_file(p, 4096, &buf, &len, &err) < 0)
		return NULL;
	return buf;
}

static void
test_helpers(void)
{
	reset_env();
	write_helpers();

	write_file("h1.json",
		   "{\"credHelpers\":{\"localhost:5000\":\"testhelper\",\"docker.io\":\"testhelper\","
		   "\"ghcr.io\":\"token\",\"quay.io\":\"notfound\",\"fail.io\":\"failing\","
		   "\"gone.io\":\"nonexistent\",\"big.io\":\"huge\",\"bad.io\":\"badjson\",\"nr.io\":\"noread\","
		   "\"slash.io\":\"../x\"},"
		   "\"auths\":{\"localhost:5000\":{\"auth\":\"YTpi\"},\"quay.io\":{\"auth\":\"YWI6Yw==\"}}}",
		   0600);
	expect(NULL, "h1.json", "localhost:5000", "helperuser", "helperpass", NULL, "credHelpers before auths");
	char *url = read_back("last-url");
	is_str(url, "localhost:5000", "helper got the registry on stdin");
	free(url);
	char *arg = read_back("last-arg");
	is_str(arg, "get", "helper ran with 'get'");
	free(arg);
	expect(NULL, "h1.json", "docker.io", "helperuser", "helperpass", NULL, "credHelpers for docker.io");
	url = read_back("last-url");
	is_str(url, "https://index.docker.io/v1/", "Docker Hub's server URL on stdin");
	free(url);
	expect(NULL, "h1.json", "ghcr.io", NULL, NULL, "refresh-tok", "'<token>' user is an identity token");
	expect(NULL, "h1.json", "quay.io", "ab", "c", NULL, "'credentials not found' falls through to auths");
	expect(NULL, "h1.json", "nr.io", "nr", "nrpass", NULL, "a helper that does not read stdin");
	expect_error(NULL, "h1.json", "fail.io", "credential helper 'docker-credential-failing' failed", "s3cret",
		     "failing helper");
	expect_error(NULL, "h1.json", "gone.io", "docker-credential-nonexistent", NULL, "missing helper");
	expect_error(NULL, "h1.json", "big.io", "larger than", NULL, "helper output over the limit");
	expect_error(NULL, "h1.json", "bad.io", "docker-credential-badjson", "s3cret", "helper output not JSON");
	expect_error(NULL, "h1.json", "slash.io", "invalid credential helper name", NULL, "helper name with '/'");

	/* credsStore: only when nothing else matched. */
	write_file("h2.json",
		   "{\"credsStore\":\"testhelper\",\"credHelpers\":{\"quay.io\":\"notfound\"},"
		   "\"auths\":{\"localhost:5000\":{\"auth\":\"YTpi\"},\"https://index.docker.io/v1/\":{}}}",
		   0600);
	expect(NULL, "h2.json", "localhost:5000", "a", "b", NULL, "auths before credsStore");
	expect(NULL, "h2.json", "docker.io", "helperuser", "helperpass", NULL, "credsStore after an empty entry");
	expect(NULL, "h2.json", "quay.io", "helperuser", "helperpass", NULL, "credsStore after 'not found'");
	write_file("h3.json", "{\"credsStore\":\"notfound\"}", 0600);
	expect_none("h3.json", "localhost:5000", "credsStore says 'not found'");

	/* A helper's 'not found' in one file lets the next file answer. */
	write_file("h4.json", "{\"credsStore\":\"notfound\"}", 0600);
	set_env("REGISTRY_AUTH_FILE", "h4.json");
	write_file("xdg2/containers/auth.json", "{\"auths\":{\"localhost:5000\":{\"auth\":\"YWJjOmQ=\"}}}", 0600);
	set_env("XDG_RUNTIME_DIR", "xdg2");
	expect(NULL, NULL, "localhost:5000", "abc", "d", NULL, "next file after a helper's 'not found'");
	reset_env();
}

/* Issue 10: credentials that would end up in a header are refused when
 * they hold a control character, whichever source they come from. */
static void
test_control_characters(void)
{
	reset_env();
	write_helpers();
	expect_error("alice:s3\r\nX-Evil: 1", NULL, "r.io", "password for 'r.io' from --creds holds a control character",
		     "s3", "--creds password with CR LF");
	expect_error("al\x01ice:pw", NULL, "r.io", "user name for 'r.io' from --creds", NULL, "--creds user with ^A");
	/* base64("u:p\r\nX: y") and a username with a DEL. */
	write_file("ctl.json",
		   "{\"auths\":{\"a.io\":{\"auth\":\"dTpwDQpYOiB5\"},"
		   "\"b.io\":{\"username\":\"u\\u007f\",\"password\":\"p\"},"
		   "\"c.io\":{\"identitytoken\":\"tok\\nX: y\"}},"
		   "\"credHelpers\":{\"d.io\":\"ctl\"}}",
		   0600);
	write_file("bin/docker-credential-ctl",
		   "#!/bin/sh\ncat >/dev/null\n"
		   "printf '{\"Username\":\"u\",\"Secret\":\"p\\\\r\\\\nX-Evil: 1\"}\\n'\n",
		   0755);
	expect_error(NULL, "ctl.json", "a.io", "password for 'a.io'", NULL, "auth file: base64 password with CR LF");
	expect_error(NULL, "ctl.json", "b.io", "user name for 'b.io'", NULL, "auth file: user name with DEL");
	expect_error(NULL, "ctl.json", "c.io", "identity token for 'c.io'", NULL, "auth file: identity token with LF");
	expect_error(NULL, "ctl.json", "d.io", "password for 'd.io'", "X-Evil", "credential helper: secret with CR LF");
	set_env("REGISTRY_AUTH_FILE", "ctl.json");
	expect_error(NULL, NULL, "a.io", "ctl.json", NULL, "REGISTRY_AUTH_FILE: names the file");
	reset_env();
}

/* Issue 10: nothing waits forever.  An auth file that is a FIFO (nobody
 * writes it) or a directory is refused at once; a credential helper that
 * never answers is killed after $CTRK_CREDENTIAL_HELPER_TIMEOUT. */
static void
test_no_waiting(void)
{
	reset_env();
	write_helpers();
	/* Should it block after all, the alarm fails the test instead of
	 * hanging the suite. */
	alarm(60);
	cleanup_free char *fifo = path_of("fifo.json");
	ok(mkfifo(fifo, 0600) == 0, "mkfifo");
	expect_error(NULL, "fifo.json", "r.io", "is not a regular file", NULL, "--authfile FIFO");
	set_env("REGISTRY_AUTH_FILE", "fifo.json");
	expect_error(NULL, NULL, "r.io", "is not a regular file", NULL, "REGISTRY_AUTH_FILE FIFO");
	reset_env();
	cleanup_free char *home_fifo = path_of("home-fifo/.docker/config.json");
	cleanup_free char *home_dir = path_of("home-fifo/.docker");
	ctrk_error_t e;
	ok(ctrk_mkdir_p(home_dir, 0700, &e) == 0 && mkfifo(home_fifo, 0600) == 0, "mkfifo config.json");
	set_env("HOME", "home-fifo");
	expect_error(NULL, NULL, "r.io", "is not a regular file", NULL, "~/.docker/config.json FIFO");
	reset_env();
	expect_error(NULL, "bin", "r.io", "is not a regular file", NULL, "--authfile a directory");

	/* exec: the helper itself sleeps, so the kill reaches it. */
	write_file("bin/docker-credential-sleepy", "#!/bin/sh\nexec sleep 600\n", 0755);
	write_file("sleepy.json", "{\"credHelpers\":{\"s.io\":\"sleepy\"}}", 0600);
	setenv("CTRK_CREDENTIAL_HELPER_TIMEOUT", "1", 1);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_error(NULL, "sleepy.json", "s.io", "no answer within 1 s", NULL, "a helper that hangs");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok(t1.tv_sec - t0.tv_sec < 30, "... is given up on in time (%lld s)", (long long)(t1.tv_sec - t0.tv_sec));
	setenv("CTRK_CREDENTIAL_HELPER_TIMEOUT", "soon", 1);
	expect_error(NULL, "sleepy.json", "s.io", "invalid CTRK_CREDENTIAL_HELPER_TIMEOUT", NULL, "a bad timeout");
	unsetenv("CTRK_CREDENTIAL_HELPER_TIMEOUT");
	alarm(0);
}

int
main(void)
{
	/* Under valgrind the helper's child is a real fork whose exit runs
	 * __libc_freeres(), flushing a copy of our stdout buffer into the
	 * helper's stdout pipe: keep nothing buffered. */
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	int fds = count_fds();

	test_creds();
	test_files();
	test_helpers();
	test_control_characters();
	test_no_waiting();

	ctrk_creds_t c = { ctrk_xstrdup("u"), ctrk_xstrdup("p"), ctrk_xstrdup("t") };
	ctrk_creds_clear(&c);
	ok(!c.username && !c.password && !c.identity_token, "ctrk_creds_clear resets the fields");
	ctrk_creds_clear(&c);
	ok(1, "ctrk_creds_clear twice is harmless");

	ok(count_fds() == fds, "no file descriptor leaked");
	errno = 0;
	ok(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, "every helper was reaped");

	ok(rm_rf(tmp) == 0, "temp dir removed");
	return done_testing();
}
