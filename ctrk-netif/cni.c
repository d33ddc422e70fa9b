/* cni: run standard CNI plugins on the descriptor's namespace, as the CNI
 * spec's runtime does (https://github.com/containernetworking/cni/blob/main/SPEC.md,
 * section 3): ADD runs the configuration's plugins in order, each given the
 * previous one's result as prevResult; DEL runs them in reverse and CHECK in
 * order, each given the final ADD result.  That result goes into the
 * descriptor's "network" as ctrk-netif's own interfaces do, and into the
 * netif.added entry, so that DEL has it even after more was appended.
 *
 * Everything about a plugin run is bounded: its output (CNI_MAX_OUTPUT), its
 * time (CTRK_CNI_TIMEOUT seconds, default 60, then it is killed with what
 * it started), and the configuration read (CNI_MAX_CONF). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "descriptor.h"
#include "fsutil.h"
#include "json.h"
#include "link.h"
#include "netif.h"
#include "paths.h"
#include "process.h"
#include "result.h"

extern char **environ;

#define CNI_MAX_CONF (1u << 20)
#define CNI_MAX_OUTPUT (1u << 20)
#define CNI_MAX_PLUGINS 64
#define CNI_DEFAULT_PATH "/usr/lib/cni:/opt/cni/bin"
#define CNI_DEFAULT_TIMEOUT 60
/* What Debian's containernetworking-plugins speak, from 0.3.0 (the first
 * with this result shape; 0.1 and 0.2 had ip4/ip6) up to 1.0.0. */
static const char *const cni_versions[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0"};
#define CNI_HIGHEST "1.0.0"

/* A network configuration: a list (.conflist), or a single plugin's (.conf)
 * taken as a list of one. */
typedef struct cni_conf {
	cJSON *doc;
	char *path;            /* absolute */
	const char *name;
	const char *version;   /* the one chosen, from cni_versions */
	const cJSON *plugins;  /* an array, or DOC itself for a .conf */
	int nplugins;
	bool single, disable_check;
} cni_conf_t;

/* One attachment: who and where the plugins run for. */
typedef struct cni_call {
	const char *command;       /* ADD, DEL, CHECK */
	const char *container_id;  /* CNI_CONTAINERID */
	const char *netns;         /* CNI_NETNS; NULL: gone (DEL only) */
	const char *ifname;        /* CNI_IFNAME */
	const char *dirs;          /* CNI_PATH */
	int timeout_ms;
} cni_call_t;

static void
conf_free(cni_conf_t *c)
{
	cJSON_Delete(c->doc);
	free(c->path);
}

static const cJSON *
conf_plugin(const cni_conf_t *c, int i)
{
	return c->single ? c->doc : cJSON_GetArrayItem(c->plugins, i);
}

static const char *
plugin_type(const cJSON *plugin)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plugin, "type"));
}

/* A plugin name is looked up in the CNI path: a plain file name, never a
 * path that could lead out of it. */
static bool
plugin_name_ok(const char *s)
{
	return *s && !strchr(s, '/') && !ctrk_is_dot_or_dotdot(s) && strlen(s) <= NAME_MAX;
}

/* The spec's rule for network names (and container ids). */
static bool
network_name_ok(const char *s)
{
	return netif_name_ok(s, 255, "._-");
}

/* "X.Y.Z" as a number to compare, or -1. */
static long
version_number(const char *v)
{
	unsigned x, y, z;
	int end = 0;
	if (strspn(v, "0123456789.") != strlen(v) ||
	    sscanf(v, "%3u.%3u.%3u%n", &x, &y, &z, &end) != 3 || v[end] || v[0] == '.')
		return -1;
	return (long)x * 1000000 + (long)y * 1000 + (long)z;
}

static bool
version_supported(const char *v)
{
	for (size_t i = 0; i < sizeof cni_versions / sizeof *cni_versions; i++)
		if (strcmp(v, cni_versions[i]) == 0)
			return true;
	return false;
}

/* The version to speak: the highest of cniVersion and cniVersions that
 * the plugins speak (the spec's rule), else an error saying which they do. */
static int
conf_choose_version(cni_conf_t *c, ctrk_error_t *err)
{
	const char *v = NULL, *best = NULL, *newest = NULL;
	const cJSON *list = NULL, *e;
	if (ctrk_json_get_string(c->doc, "cniVersion", true, &v, c->path, err) < 0 ||
	    ctrk_json_get_string_array(c->doc, "cniVersions", false, &list, c->path, err) < 0)
		return -1;
	const cJSON *only = cJSON_GetObjectItemCaseSensitive(c->doc, "cniVersion");
	for (e = only; e; e = e == only ? (list ? list->child : NULL) : e->next) {
		const char *s = e->valuestring;
		if (version_number(s) < 0)
			return ctrk_error_set(err, 0, "%s: '%s' is not a CNI version (X.Y.Z)", c->path, s);
		if (version_supported(s) && (!best || version_number(s) > version_number(best)))
			best = s;
		if (!newest || version_number(s) > version_number(newest))
			newest = s;
	}
	if (!best && version_number(newest) > version_number(CNI_HIGHEST))
		return ctrk_error_set(err, 0, "%s: cniVersion %s is not supported: Debian's CNI plugins "
					      "(containernetworking-plugins) speak cniVersion up to " CNI_HIGHEST
					      "; write \"cniVersion\": \"" CNI_HIGHEST "\"", c->path, newest);
	if (!best && version_number(newest) < version_number("0.3.0"))
		return ctrk_error_set(err, 0, "%s: cniVersion %s is not supported: results before 0.3.0 have "
					      "another shape; use 0.3.0 to " CNI_HIGHEST, c->path, newest);
	if (!best)
		return ctrk_error_set(err, 0, "%s: cniVersion %s is not supported: use 0.3.0, 0.3.1, 0.4.0 or "
					      CNI_HIGHEST, c->path, newest);
	c->version = best;
	return 0;
}

/* One plugin configuration: its type (and its IPAM plugin's) a plain name. */
static int
plugin_validate(const cni_conf_t *c, const cJSON *plugin, int i, ctrk_error_t *err)
{
	char what[64];
	const char *type;
	const cJSON *ipam = NULL;
	if (c->single)
		snprintf(what, sizeof what, "the configuration");
	else
		snprintf(what, sizeof what, "plugins[%d]", i);
	if (!cJSON_IsObject(plugin))
		return ctrk_error_set(err, 0, "%s: %s must be an object", c->path, what);
	if (ctrk_json_get_string(plugin, "type", true, &type, what, err) < 0 ||
	    ctrk_json_get_object(plugin, "ipam", false, &ipam, what, err) < 0)
		return ctrk_error_wrap(err, "%s", c->path);
	if (!plugin_name_ok(type))
		return ctrk_error_set(err, 0, "%s: %s: invalid plugin type '%s': a plugin is a file name in "
					      "the CNI path, without '/'", c->path, what, type);
	if (ipam && ctrk_json_get_string(ipam, "type", false, &type, "ipam", err) < 0)
		return ctrk_error_wrap(err, "%s: %s", c->path, what);
	if (ipam && cJSON_GetObjectItemCaseSensitive(ipam, "type") && !plugin_name_ok(type))
		return ctrk_error_set(err, 0, "%s: %s: invalid IPAM plugin type '%s': a plugin is a file name "
					      "in the CNI path, without '/'", c->path, what, type);
	return 0;
}

static int
conf_load(const char *file, cni_conf_t *c, ctrk_error_t *err)
{
	*c = (cni_conf_t){0};
	c->path = realpath(file, NULL);
	if (!c->path)
		return ctrk_error_errno(err, "cannot open CNI configuration '%s'", file);
	c->doc = ctrk_json_read_file(c->path, CNI_MAX_CONF, err);
	if (!c->doc)
		return -1;
	if (!cJSON_IsObject(c->doc))
		return ctrk_error_set(err, 0, "%s: a CNI configuration must be a JSON object", c->path);
	if (ctrk_json_get_string(c->doc, "name", true, &c->name, c->path, err) < 0)
		return -1;
	if (!network_name_ok(c->name))
		return ctrk_error_set(err, 0, "%s: invalid network name '%s': use letters, digits, '_', '.' and "
					      "'-' (not first)", c->path, c->name);
	if (conf_choose_version(c, err) < 0)
		return -1;
	const cJSON *dc = cJSON_GetObjectItemCaseSensitive(c->doc, "disableCheck");
	if (dc && !cJSON_IsBool(dc))
		return ctrk_error_set(err, 0, "%s: field 'disableCheck' must be true or false", c->path);
	c->disable_check = cJSON_IsTrue(dc);
	c->plugins = cJSON_GetObjectItemCaseSensitive(c->doc, "plugins");
	c->single = c->plugins == NULL;
	if (c->single) {
		c->nplugins = 1;
	} else {
		if (!cJSON_IsArray(c->plugins))
			return ctrk_error_set(err, 0, "%s: field 'plugins' must be an array", c->path);
		c->nplugins = cJSON_GetArraySize(c->plugins);
		if (c->nplugins < 1 || c->nplugins > CNI_MAX_PLUGINS)
			return ctrk_error_set(err, 0, "%s: field 'plugins' must list 1 to %d plugins", c->path,
					      CNI_MAX_PLUGINS);
	}
	for (int i = 0; i < c->nplugins; i++)
		if (plugin_validate(c, conf_plugin(c, i), i, err) < 0)
			return -1;
	return 0;
}

/* --cni-path, else $CNI_PATH, else the default. */
static const char *
cni_dirs(const netif_opts_t *o)
{
	const char *env = getenv("CNI_PATH");
	return o->cni_path ? o->cni_path : env && *env ? env : CNI_DEFAULT_PATH;
}

/* CTRK_CNI_TIMEOUT (seconds), else the default. */
static int
cni_timeout_ms(ctrk_error_t *err)
{
	long s;
	if (ctrk_env_seconds("CTRK_CNI_TIMEOUT", CNI_DEFAULT_TIMEOUT, 3600, &s, err) < 0)
		return -1;
	return (int)s * 1000;
}

/* The executable TYPE in the first of DIRS that has it. */
static char *
plugin_find(const char *dirs, const char *type, ctrk_error_t *err)
{
	const char *p = dirs;
	while (*p) {
		size_t n = strcspn(p, ":");
		if (n) {
			char *path = ctrk_strdup_printf("%.*s/%s", (int)n, p, type);
			struct stat st;
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0)
				return path;
			free(path);
		}
		p += n + (p[n] == ':');
	}
	return ctrk_error_set(err, ENOENT, "CNI plugin '%s' not found in '%s'", type, dirs), NULL;
}

/* The plugin's environment: ours but any CNI_* of ours, and the call's. */
static char **
plugin_env(const cni_call_t *call)
{
	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	char **env = ctrk_xcalloc(n + 6, sizeof *env);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "CNI_", 4) != 0)
			env[k++] = ctrk_xstrdup(environ[i]);
	env[k++] = ctrk_strdup_printf("CNI_COMMAND=%s", call->command);
	env[k++] = ctrk_strdup_printf("CNI_CONTAINERID=%s", call->container_id);
	env[k++] = ctrk_strdup_printf("CNI_IFNAME=%s", call->ifname);
	env[k++] = ctrk_strdup_printf("CNI_PATH=%s", call->dirs);
	if (call->netns)
		env[k++] = ctrk_strdup_printf("CNI_NETNS=%s", call->netns);
	return env;
}

static void
env_free(char **env)
{
	for (char **e = env; e && *e; e++)
		free(*e);
	free(env);
}

/* The request configuration (spec section 3): the plugin's own, with the
 * list's name and version, prevResult PREV (none: NULL), and no
 * capabilities (no capability arguments are given). */
static char *
plugin_request(const cni_conf_t *c, const cJSON *plugin, const cJSON *prev)
{
	cleanup_json cJSON *req = cJSON_Duplicate(plugin, true);
	ctrk_json_set(req, "name", cJSON_CreateString(c->name));
	ctrk_json_set(req, "cniVersion", cJSON_CreateString(c->version));
	cJSON_DeleteItemFromObjectCaseSensitive(req, "cniVersions");
	cJSON_DeleteItemFromObjectCaseSensitive(req, "capabilities");
	cJSON_DeleteItemFromObjectCaseSensitive(req, "prevResult");
	if (prev)
		cJSON_AddItemToObject(req, "prevResult", cJSON_Duplicate(prev, true));
	return ctrk_json_render(req, false);
}

/* A plugin's failure: its error result ({code, msg, details}) when it
 * wrote one, else its exit status. */
static int
plugin_failed(const char *type, const char *command, int status, const char *out, size_t outlen,
	      ctrk_error_t *err)
{
	ctrk_error_t perr = {0};
	cleanup_json cJSON *e = outlen ? ctrk_json_parse(out, outlen, "error", &perr) : NULL;
	const char *msg = NULL, *details = NULL;
	long long code = 0;
	if (cJSON_IsObject(e) && ctrk_json_get_string(e, "msg", true, &msg, "error", &perr) == 0 &&
	    ctrk_json_get_int64(e, "code", true, &code, "error", &perr) == 0 &&
	    ctrk_json_get_string(e, "details", false, &details, "error", &perr) == 0)
		return ctrk_error_set(err, 0, "CNI plugin '%s' %s failed: %s%s%s (code %lld)", type, command, msg,
				      details && *details ? ": " : "", details && *details ? details : "", code);
	if (WIFSIGNALED(status))
		return ctrk_error_set(err, 0, "CNI plugin '%s' %s failed: killed by signal %d", type, command,
				      WTERMSIG(status));
	return ctrk_error_set(err, 0, "CNI plugin '%s' %s failed with exit status %d%s%.200s", type, command,
			      ctrk_exit_code(status), outlen ? ": " : "", out);
}

/* Run PLUGIN for CALL with prevResult PREV.  For ADD, *RESULT gets its
 * result, checked. */
static int
plugin_run(const cni_call_t *call, const cni_conf_t *c, const cJSON *plugin, const cJSON *prev, cJSON **result,
	   ctrk_error_t *err)
{
	const char *type = plugin_type(plugin);
	cleanup_free char *path = plugin_find(call->dirs, type, err);
	if (!path)
		return -1;
	cleanup_free char *in = plugin_request(c, plugin, prev);
	char **env = plugin_env(call);
	char *argv[] = {path, NULL};
	ctrk_spawn_t s = {.argv = argv, .stdio = {-1, -1, -1}, .envp = env, .timeout_ms = call->timeout_ms};
	cleanup_free char *out = NULL;
	size_t outlen = 0;
	int status;
	int rc = ctrk_spawn_capture(&s, in, strlen(in), CNI_MAX_OUTPUT, &out, &outlen, NULL, &status, err);
	env_free(env);
	if (rc < 0)
		return ctrk_error_wrap(err, "CNI plugin '%s' %s failed", type, call->command);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return plugin_failed(type, call->command, status, out, outlen, err);
	if (!result)
		return 0;
	char what[128];
	snprintf(what, sizeof what, "the result of CNI plugin '%s' %s", type, call->command);
	cJSON *r = ctrk_json_parse(out, outlen, what, err);
	if (!r)
		return -1;
	if (result_validate(r, what, err) < 0) {
		cJSON_Delete(r);
		return -1;
	}
	*result = r;
	return 0;
}

/* DEL for plugins LAST down to 0, each with prevResult PREV.  All are run
 * (DEL is best effort, spec section 2); the first failure is returned. */
static int
chain_del(const cni_call_t *call, const cni_conf_t *c, int last, const cJSON *prev, ctrk_error_t *err)
{
	int rc = 0;
	for (int i = last; i >= 0; i--) {
		ctrk_error_t e = {0};
		if (plugin_run(call, c, conf_plugin(c, i), prev, NULL, &e) < 0 && rc == 0) {
			*err = e;
			rc = -1;
		}
	}
	return rc;
}

/* ADD through the chain: the final result, or NULL with everything that
 * ran undone (DEL, including the plugin that failed, which may have made
 * part of its work: DEL of what is missing succeeds). */
static cJSON *
chain_add(const cni_call_t *call, const cni_conf_t *c, ctrk_error_t *err)
{
	cJSON *prev = NULL;
	/* Every plugin is there before the first runs: a missing one fails
	 * the chain with nothing to undo. */
	for (int i = 0; i < c->nplugins; i++) {
		char *path = plugin_find(call->dirs, plugin_type(conf_plugin(c, i)), err);
		if (!path)
			return NULL;
		free(path);
	}
	for (int i = 0; i < c->nplugins; i++) {
		cJSON *r = NULL;
		if (plugin_run(call, c, conf_plugin(c, i), prev, &r, err) == 0) {
			cJSON_Delete(prev);
			prev = r;
			continue;
		}
		cni_call_t undo = *call;
		undo.command = "DEL";
		ctrk_error_t uerr = {0};
		if (chain_del(&undo, c, i, prev, &uerr) < 0) {
			size_t len = strlen(err->msg);
			snprintf(err->msg + len, sizeof err->msg - len, "; undoing it failed too: %s", uerr.msg);
		}
		cJSON_Delete(prev);
		return NULL;
	}
	return prev;
}

/* ---- The descriptor ---- */

/* Is ENTRY (a netif.added object) of type cni, for network NAME (any when
 * NULL) and IFNAME (any when NULL)? */
static bool
entry_matches(const cJSON *entry, const char *name, const char *ifname)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "type"));
	const char *net = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "network"));
	const char *ifn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "ifname"));
	return type && strcmp(type, "cni") == 0 && (!name || (net && strcmp(net, name) == 0)) &&
	       (!ifname || (ifn && strcmp(ifn, ifname) == 0));
}

static cJSON *
added_list(cJSON *d)
{
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "netif"), "added");
}

/* Remove from D's network what RESULT (a chain's) put there: its
 * interfaces with their addresses, its other addresses and its routes. */
static void
network_drop(cJSON *d, const cJSON *result)
{
	cJSON *network = cJSON_GetObjectItemCaseSensitive(d, "network");
	const cJSON *e;
	if (!cJSON_IsObject(network) || !result)
		return;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(result, "interfaces")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
		const char *sb = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "sandbox"));
		int i = result_find_interface(network, name, sb && *sb ? sb : NULL);
		if (i >= 0)
			result_remove_interface(network, i);
	}
	/* Addresses of no interface, and routes: the first equal one each. */
	cJSON *ips = cJSON_GetObjectItemCaseSensitive(network, "ips");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(result, "ips")) {
		if (cJSON_GetObjectItemCaseSensitive(e, "interface"))
			continue;
		const char *addr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "address"));
		cJSON *have;
		cJSON_ArrayForEach(have, ips) {
			const char *a = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(have, "address"));
			if (!cJSON_GetObjectItemCaseSensitive(have, "interface") && a && strcmp(a, addr) == 0) {
				cJSON_Delete(cJSON_DetachItemViaPointer(ips, have));
				break;
			}
		}
	}
	cJSON *routes = cJSON_GetObjectItemCaseSensitive(network, "routes");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(result, "routes")) {
		cJSON *have;
		cJSON_ArrayForEach(have, routes) {
			if (cJSON_Compare(have, e, true)) {
				cJSON_Delete(cJSON_DetachItemViaPointer(routes, have));
				break;
			}
		}
	}
}

/* The fields of a cni entry that DEL and CHECK read. */
static int
entry_fields(const cJSON *d, const cJSON *entry, const char **ifname, const char **conf, const char **container_id,
	     const cJSON **result, ctrk_error_t *err)
{
	*result = NULL;
	if (ctrk_json_get_string(entry, "ifname", true, ifname, "netif.added[] (cni)", err) < 0 ||
	    ctrk_json_get_string(entry, "conf", true, conf, "netif.added[] (cni)", err) < 0 ||
	    ctrk_json_get_string(entry, "container_id", true, container_id, "netif.added[] (cni)", err) < 0 ||
	    ctrk_json_get_object(entry, "result", false, result, "netif.added[] (cni)", err) < 0)
		return -1;
	if (ifname_check(*ifname, "descriptor: netif.added[] (cni) ifname", err) < 0)
		return -1;
	if (!network_name_ok(*container_id))
		return ctrk_error_set(err, 0, "descriptor: netif.added[] (cni): invalid container_id '%s'",
				      *container_id);
	/* add uses the owner key as the container id: another one would have
	 * the plugins release another container's addresses (IPAM). */
	const char *key = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "netif"), "key"));
	if (!key || strcmp(key, *container_id) != 0)
		return ctrk_error_set(err, 0, "descriptor: netif.added[] (cni): container_id '%s' is not netif.key '%s'",
				      *container_id, key ? key : "");
	return 0;
}

/* The namespace for DEL: its path, or NULL (with a note) when it is gone:
 * the plugins then run without CNI_NETNS and release the rest (IPAM). */
static int
del_netns(const netif_opts_t *o, const cJSON *d, char **path, bool *gone, ctrk_error_t *err)
{
	ctrk_error_t nerr = {0};
	*path = NULL;
	*gone = false;
	int fd = netns_open(o, d, false, path, &nerr);
	if (fd >= 0) {
		/* A plugin's DEL removes CNI_IFNAME in CNI_NETNS: never the host's. */
		int r = netns_refuse_host(fd, *path, err);
		close(fd);
		return r;
	}
	if (fd == -2 || nerr.errnum == ENOENT) {
		*gone = true;
		return 0;
	}
	*err = nerr;
	return -1;
}

/* DEL of ENTRY's chain with configuration C (NULL: the entry's own). */
static int
entry_del(const netif_opts_t *o, cJSON *d, const cJSON *entry, const cni_conf_t *given, ctrk_error_t *err)
{
	const char *ifname, *conf_path, *container_id;
	const cJSON *result;
	if (entry_fields(d, entry, &ifname, &conf_path, &container_id, &result, err) < 0)
		return -1;
	cni_conf_t own = {0};
	const cni_conf_t *c = given;
	if (!c) {
		/* Fail closed: without the configuration its plugins cannot
		 * be told what to undo. */
		if (conf_load(conf_path, &own, err) < 0) {
			conf_free(&own);
			return ctrk_error_wrap(err, "cannot undo CNI network on '%s' (restore the configuration, or "
						    "run `ctrk-netif cni --conf FILE del` with it)", ifname);
		}
		c = &own;
	}
	cleanup_free char *netns = NULL;
	bool gone;
	int timeout = cni_timeout_ms(err);
	if (timeout < 0 || del_netns(o, d, &netns, &gone, err) < 0) {
		conf_free(&own);
		return -1;
	}
	cni_call_t call = {"DEL", container_id, netns, ifname, cni_dirs(o), timeout};
	int rc = chain_del(&call, c, c->nplugins - 1, result, err);
	conf_free(&own);
	if (rc < 0)
		return -1;
	network_drop(d, result);
	if (gone) {
		if (!o->quiet)
			ctrk_note("CNI network '%s' on '%s': the namespace is already gone", c->name, ifname);
		return 1;
	}
	return 0;
}

int
cni_teardown(const netif_opts_t *o, cJSON *d, const cJSON *entry, ctrk_error_t *err)
{
	return entry_del(o, d, entry, NULL, err);
}

/* ---- The verb ---- */

static int
cni_add(const netif_opts_t *o, cJSON *d, const cni_conf_t *c, ctrk_error_t *err)
{
	const char *ifname = o->ifname ? o->ifname : "eth0";
	const cJSON *e;
	const char *key = netif_key(o, d, err);
	if (!key)
		return -1;
	/* The spec's container ids start with a letter or digit. */
	if (!network_name_ok(key))
		return ctrk_error_set(err, 0, "the owner key '%s' cannot be a CNI container id: it must start with "
					      "a letter or digit", key);
	cJSON_ArrayForEach(e, added_list(d))
		if (entry_matches(e, c->name, ifname))
			return ctrk_error_set(err, 0, "CNI network '%s' is already attached as '%s' (del it first)",
					      c->name, ifname);
	int timeout = cni_timeout_ms(err);
	if (timeout < 0)
		return -1;
	cleanup_free char *netns = NULL;
	cleanup_close int nsfd = netns_open(o, d, true, &netns, err);
	if (nsfd < 0 || netns_refuse_host(nsfd, netns, err) < 0 || netns_settle(d, &netns, err) < 0)
		return -1;
	cni_call_t call = {"ADD", key, netns, ifname, cni_dirs(o), timeout};
	cleanup_json cJSON *result = chain_add(&call, c, err);
	if (!result)
		return -1;
	if (result_append(result_get(d), result, err) < 0) {
		/* Not storable, so not kept either. */
		ctrk_error_t ignored;
		call.command = "DEL";
		chain_del(&call, c, c->nplugins - 1, result, &ignored);
		return -1;
	}
	const char *had = descriptor_netns_path(d);
	if (!had || strcmp(had, netns) != 0)
		ctrk_json_set(d, "netns", cJSON_CreateString(netns));
	cJSON *entry = cJSON_CreateObject();
	cJSON_AddStringToObject(entry, "type", "cni");
	cJSON_AddStringToObject(entry, "ifname", ifname);
	cJSON_AddStringToObject(entry, "conf", c->path);
	cJSON_AddStringToObject(entry, "network", c->name);
	cJSON_AddStringToObject(entry, "container_id", key);
	cJSON_AddItemToObject(entry, "result", steal_pointer(&result));
	netif_record_add(d, key, entry);
	return 0;
}

/* del: every entry of this network (on --ifname only, when given), last
 * first, with the configuration given. */
static int
cni_del(const netif_opts_t *o, cJSON *d, const cni_conf_t *c, ctrk_error_t *err)
{
	cJSON *added = added_list(d);
	int found = 0;
	for (int i = cJSON_GetArraySize(added) - 1; i >= 0; i--) {
		cJSON *entry = cJSON_GetArrayItem(added, i);
		if (!entry_matches(entry, c->name, o->ifname))
			continue;
		if (entry_del(o, d, entry, c, err) < 0)
			return -1;
		cJSON_DeleteItemFromArray(added, i);
		found++;
	}
	if (!found && !o->quiet)
		ctrk_note("CNI network '%s'%s%s is not in the descriptor: nothing to remove", c->name,
			  o->ifname ? " on " : "", o->ifname ? o->ifname : "");
	return 0;
}

/* check: CHECK of every entry of this network; a plugin's error is a
 * problem found (exit 1). */
static int
cni_check(const netif_opts_t *o, cJSON *d, const cni_conf_t *c, ctrk_error_t *err)
{
	const cJSON *entry;
	int found = 0;
	if (c->disable_check) {
		if (!o->quiet)
			ctrk_note("%s: disableCheck is set: not checked", c->path);
		return 0;
	}
	if (version_number(c->version) < version_number("0.4.0"))
		return ctrk_error_set(err, 0, "%s: CHECK needs cniVersion 0.4.0 or later, not %s", c->path,
				      c->version);
	int timeout = cni_timeout_ms(err);
	if (timeout < 0)
		return -1;
	cleanup_free char *netns = NULL;
	cleanup_close int nsfd = netns_open(o, d, true, &netns, err);
	if (nsfd < 0 || netns_refuse_host(nsfd, netns, err) < 0)
		return -1;
	cJSON_ArrayForEach(entry, added_list(d)) {
		const char *ifname, *conf_path, *container_id;
		const cJSON *result;
		if (!entry_matches(entry, c->name, o->ifname))
			continue;
		if (entry_fields(d, entry, &ifname, &conf_path, &container_id, &result, err) < 0)
			return -1;
		cni_call_t call = {"CHECK", container_id, netns, ifname, cni_dirs(o), timeout};
		for (int i = 0; i < c->nplugins; i++)
			if (plugin_run(&call, c, conf_plugin(c, i), result, NULL, err) < 0)
				return ctrk_error_wrap(err, "check of CNI network '%s' on '%s'", c->name, ifname);
		found++;
	}
	if (!found)
		return ctrk_error_set(err, 0, "CNI network '%s'%s%s is not in the descriptor: nothing to check",
				      c->name, o->ifname ? " on " : "", o->ifname ? o->ifname : "");
	return 0;
}

int
cmd_cni(const netif_opts_t *o, const char *verb)
{
	int (*fn)(const netif_opts_t *, cJSON *, const cni_conf_t *, ctrk_error_t *) =
		strcmp(verb, "add") == 0 ? cni_add : strcmp(verb, "del") == 0 ? cni_del
		: strcmp(verb, "check") == 0 ? cni_check : NULL;
	if (!fn)
		return ctrk_usage_error("cni: unknown action '%s' (add, del or check)", verb);
	if (!o->cni_conf)
		return ctrk_usage_error("cni %s: --conf FILE is required", verb);
	ctrk_error_t err = {0};
	if (o->ifname && ifname_check(o->ifname, "--ifname", &err) < 0)
		return ctrk_usage_error("%s", err.msg);
	cleanup_json cJSON *d = netif_read_descriptor(true, &err);
	if (!d)
		return ctrk_fail(&err);
	cni_conf_t c;
	int rc = conf_load(o->cni_conf, &c, &err);
	if (rc == 0)
		rc = fn(o, d, &c, &err);
	conf_free(&c);
	if (rc < 0)
		return ctrk_fail(&err);
	/* check reads; add and del pass the descriptor on. */
	if (fn != cni_check && ctrk_descriptor_write(STDOUT_FILENO, d, &err) < 0)
		return ctrk_fail(&err);
	return CTRK_EXIT_OK;
}
