#include "image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "descriptor.h"
#include "fsutil.h"
#include "json.h"
#include "reference.h"
#include "registry.h"

static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar",
	NULL,
};

static const char *const config_types[] = {
	"application/vnd.oci.image.config.v1+json",
	"application/vnd.docker.container.image.v1+json",
	NULL,
};

static bool
in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

bool
ctrk_is_layer_type(const char *media_type)
{
	return media_type && in_list(media_type, layer_types);
}

void
ctrk_blob_free(ctrk_blob_t *b)
{
	free(b->media_type);
	b->media_type = NULL;
}

cJSON *
ctrk_blob_to_json(const ctrk_blob_t *b)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "mediaType", b->media_type);
	cJSON_AddStringToObject(j, "digest", b->digest);
	cJSON_AddNumberToObject(j, "size", (double)b->size);
	return j;
}

int
ctrk_blob_parse(const cJSON *j, ctrk_blob_t *b, const char *what, ctrk_error_t *err)
{
	const char *mt = NULL, *digest = NULL;
	long long size = -1;
	if (!cJSON_IsObject(j))
		return ctrk_error_set(err, 0, "%s: must be an object", what);
	if (ctrk_json_get_string(j, "mediaType", true, &mt, what, err) < 0 ||
	    ctrk_json_get_string(j, "digest", true, &digest, what, err) < 0 ||
	    ctrk_json_get_int64(j, "size", true, &size, what, err) < 0)
		return -1;
	if (size < 0)
		return ctrk_error_set(err, 0, "%s: negative size", what);
	if (ctrk_digest_validate(digest, err) < 0)
		return ctrk_error_wrap(err, "%s", what);
	b->media_type = ctrk_xstrdup(mt);
	snprintf(b->digest, sizeof b->digest, "%s", digest);
	b->size = size;
	return 0;
}

static bool
is_manifest_type(const char *mt)
{
	return strcmp(mt, CTRK_MT_OCI_MANIFEST) == 0 || strcmp(mt, CTRK_MT_DOCKER_MANIFEST) == 0;
}

static bool
is_index_type(const char *mt)
{
	return strcmp(mt, CTRK_MT_OCI_INDEX) == 0 || strcmp(mt, CTRK_MT_DOCKER_LIST) == 0;
}

bool
ctrk_is_doc_type(const char *media_type)
{
	return media_type && (is_manifest_type(media_type) || is_index_type(media_type));
}

/* One document, one meaning (CVE-2021-41190): a document that reads as both
 * an image manifest and an index, or whose mediaType disagrees with the type
 * it was served or described as, could be taken for one thing here and for
 * the other by a scanner or a signature check.  containerd refuses the same
 * (images.validateMediaType); ctrk refuses a disagreeing type as well. */
int
ctrk_doc_kind(const char *body, size_t len, const char *media_type, ctrk_doc_kind_t *kind, char **resolved,
	      ctrk_error_t *err)
{
	cleanup_json cJSON *doc = ctrk_json_parse(body, len, "manifest", err);
	if (!doc)
		return -1;
	if (!cJSON_IsObject(doc))
		return ctrk_error_set(err, 0, "manifest: must be a JSON object");
	long long schema = 0;
	const char *mt = NULL;
	if (ctrk_json_get_int64(doc, "schemaVersion", false, &schema, "manifest", err) < 0 ||
	    ctrk_json_get_string(doc, "mediaType", false, &mt, "manifest", err) < 0)
		return -1;
	if (schema == 1 || (media_type && (strcmp(media_type, CTRK_MT_DOCKER_SCHEMA1) == 0 ||
					   strcmp(media_type, CTRK_MT_DOCKER_SCHEMA1_SIGNED) == 0)))
		return ctrk_error_set(err, 0,
				      "Docker schema 1 manifests are not supported (deprecated since 2017; "
				      "push the image again with a current client)");
	bool has_index = cJSON_GetObjectItemCaseSensitive(doc, "manifests") != NULL;
	bool has_config = cJSON_GetObjectItemCaseSensitive(doc, "config") != NULL;
	bool has_layers = cJSON_GetObjectItemCaseSensitive(doc, "layers") != NULL;
	const char *image_key = has_config ? "config" : "layers";
	if (has_index && (has_config || has_layers))
		return ctrk_error_set(err, 0,
				      "the document is both an image manifest (it has '%s') and an index (it has "
				      "'manifests'): refusing to guess which",
				      image_key);
	const char *given = media_type && *media_type ? media_type : NULL;
	if (mt && !*mt)
		mt = NULL;
	/* A generic type from a server ("application/json") says nothing. */
	if (mt && given && ctrk_is_doc_type(given) && strcmp(mt, given) != 0)
		return ctrk_error_set(err, 0,
				      "its mediaType '%s' disagrees with '%s', the type it was served or described as", mt,
				      given);
	if (!mt)
		mt = given;
	if (!mt) {
		/* OCI allows mediaType to be absent: go by the shape. */
		if (has_index)
			mt = CTRK_MT_OCI_INDEX;
		else if (has_config)
			mt = CTRK_MT_OCI_MANIFEST;
		else
			return ctrk_error_set(err, 0, "manifest has no media type and is neither an image nor an index");
	}
	if (schema != 2)
		return ctrk_error_set(err, 0, "manifest schemaVersion %lld is not supported", schema);
	if (is_manifest_type(mt))
		*kind = CTRK_DOC_MANIFEST;
	else if (is_index_type(mt))
		*kind = CTRK_DOC_INDEX;
	else
		return ctrk_error_set(err, 0, "unknown manifest media type '%s'", mt);
	if (*kind == CTRK_DOC_MANIFEST && has_index)
		return ctrk_error_set(err, 0,
				      "its type is '%s', an image manifest, but it has 'manifests' as an index does", mt);
	if (*kind == CTRK_DOC_INDEX && (has_config || has_layers))
		return ctrk_error_set(err, 0, "its type is '%s', an index, but it has '%s' as an image manifest does",
				      mt, image_key);
	if (resolved)
		*resolved = ctrk_xstrdup(mt);
	return 0;
}

int
ctrk_manifest_parse(const char *body, size_t len, const char *media_type, ctrk_manifest_t *m, ctrk_error_t *err)
{
	memset(m, 0, sizeof *m);
	ctrk_doc_kind_t kind;
	cleanup_free char *mt = NULL;
	if (ctrk_doc_kind(body, len, media_type, &kind, &mt, err) < 0)
		return -1;
	if (kind != CTRK_DOC_MANIFEST)
		return ctrk_error_set(err, 0, "expected an image manifest, got an index ('%s')", mt);
	cleanup_json cJSON *doc = ctrk_json_parse(body, len, "manifest", err);
	const cJSON *config = NULL, *layers = NULL, *l;
	if (ctrk_json_get_object(doc, "config", true, &config, "manifest", err) < 0 ||
	    ctrk_json_get_array(doc, "layers", true, &layers, "manifest", err) < 0)
		return -1;
	if (cJSON_GetArraySize(layers) > CTRK_LAYERS_MAX)
		return ctrk_error_set(err, 0, "the image has %d layers, more than the %d ctrk accepts",
				      cJSON_GetArraySize(layers), CTRK_LAYERS_MAX);
	m->media_type = steal_pointer(&mt);
	if (ctrk_blob_parse(config, &m->config, "manifest config", err) < 0)
		goto fail;
	if (!in_list(m->config.media_type, config_types)) {
		ctrk_error_set(err, 0, "unknown config media type '%s' (not a container image)",
			       m->config.media_type);
		goto fail;
	}
	m->layers = ctrk_xcalloc((size_t)cJSON_GetArraySize(layers), sizeof *m->layers);
	cJSON_ArrayForEach(l, layers)
	{
		char what[64];
		snprintf(what, sizeof what, "manifest layer %zu", m->nlayers);
		if (ctrk_blob_parse(l, &m->layers[m->nlayers], what, err) < 0)
			goto fail;
		m->nlayers++;
		if (!ctrk_is_layer_type(m->layers[m->nlayers - 1].media_type)) {
			ctrk_error_set(err, 0, "%s: unknown layer media type '%s'", what,
				       m->layers[m->nlayers - 1].media_type);
			goto fail;
		}
	}
	return 0;
fail:
	ctrk_manifest_free(m);
	return -1;
}

void
ctrk_manifest_free(ctrk_manifest_t *m)
{
	free(m->media_type);
	ctrk_blob_free(&m->config);
	for (size_t i = 0; i < m->nlayers; i++)
		ctrk_blob_free(&m->layers[i]);
	free(m->layers);
	memset(m, 0, sizeof *m);
}

int
ctrk_index_select(const char *body, size_t len, const ctrk_platform_t *want, ctrk_blob_t *out,
		  ctrk_platform_t *got, ctrk_error_t *err)
{
	cleanup_json cJSON *doc = ctrk_json_parse(body, len, "index", err);
	const cJSON *manifests = NULL, *entry;
	if (!doc || ctrk_json_get_array(doc, "manifests", true, &manifests, "index", err) < 0)
		return -1;
	char offered[512] = "";
	size_t used = 0;
	int i = 0;
	cJSON_ArrayForEach(entry, manifests)
	{
		char what[64];
		snprintf(what, sizeof what, "index entry %d", i++);
		const cJSON *pj = cJSON_GetObjectItemCaseSensitive(entry, "platform");
		if (!pj)
			continue;
		ctrk_platform_t p = {0};
		if (ctrk_platform_from_json(pj, &p, err) < 0)
			return ctrk_error_wrap(err, "%s", what);
		cleanup_free char *ps = ctrk_platform_string(&p);
		if (used < sizeof offered)
			used += (size_t)snprintf(offered + used, sizeof offered - used, "%s%s", used ? ", " : "", ps);
		if (ctrk_platform_match(want, &p)) {
			ctrk_blob_t b = {0};
			if (ctrk_blob_parse(entry, &b, what, err) < 0) {
				ctrk_platform_free(&p);
				return -1;
			}
			*out = b;
			*got = p;
			return 0;
		}
		ctrk_platform_free(&p);
	}
	cleanup_free char *ws = ctrk_platform_string(want);
	return ctrk_error_set(err, 0, "no image for platform %s in the index (it has: %s)", ws,
			      used ? offered : "none");
}

static const char *const config_fields[] = {
	"Env", "Entrypoint", "Cmd", "WorkingDir", "User", "Volumes", "ExposedPorts", "Labels", "StopSignal", NULL,
};

int
ctrk_config_parse(const char *body, size_t len, const ctrk_manifest_t *m, cJSON **out, ctrk_error_t *err)
{
	static const char what[] = "image config";
	cleanup_json cJSON *doc = ctrk_json_parse(body, len, what, err);
	if (!doc)
		return -1;
	const cJSON *rootfs = NULL, *diff_ids = NULL, *config = NULL, *d;
	const char *os = NULL, *arch = NULL;
	if (ctrk_json_get_string(doc, "os", false, &os, what, err) < 0 ||
	    ctrk_json_get_string(doc, "architecture", false, &arch, what, err) < 0 ||
	    ctrk_json_get_object(doc, "config", false, &config, what, err) < 0 ||
	    ctrk_json_get_object(doc, "rootfs", true, &rootfs, what, err) < 0 ||
	    ctrk_json_get_array(rootfs, "diff_ids", true, &diff_ids, "image config rootfs", err) < 0)
		return -1;
	cJSON_ArrayForEach(d, diff_ids)
	{
		if (!cJSON_IsString(d) || ctrk_digest_validate(d->valuestring, err) < 0)
			return ctrk_error_set(err, 0, "image config: invalid diff_id");
	}
	if ((size_t)cJSON_GetArraySize(diff_ids) != m->nlayers)
		return ctrk_error_set(err, 0, "image config lists %d diff_ids for %zu layers",
				      cJSON_GetArraySize(diff_ids), m->nlayers);
	if (config && ctrk_image_config_validate(config, "image config: config", err) < 0)
		return -1;
	*out = steal_pointer(&doc);
	return 0;
}

static cJSON *
describe(const ctrk_store_t *s, const cJSON *entry, const char *ref, const char *digest, long long size,
	 const ctrk_manifest_t *m, const cJSON *config)
{
	cJSON *image = cJSON_CreateObject();
	cJSON_AddStringToObject(image, "ref", ref);
	/* Name and tag only for a real reference, not for the name an
	 * offline source gave ("single" is no docker.io/library/single). */
	ctrk_reference_t parsed = {0};
	ctrk_error_t ignored;
	if (ctrk_reference_parse(ref, &parsed, &ignored) == 0) {
		cleanup_free char *normal = ctrk_reference_string(&parsed);
		if (strcmp(normal, ref) == 0) {
			cleanup_free char *name = ctrk_reference_name(&parsed);
			cJSON_AddStringToObject(image, "name", name);
			if (parsed.tag)
				cJSON_AddStringToObject(image, "tag", parsed.tag);
		}
		ctrk_reference_free(&parsed);
	}
	cJSON_AddStringToObject(image, "digest", digest);
	cJSON_AddStringToObject(image, "mediaType", m->media_type);
	cJSON_AddNumberToObject(image, "size", (double)size);
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(entry, "annotations");
	const cJSON *index = cJSON_GetObjectItemCaseSensitive(ann, CTRK_ANNOTATION_INDEX);
	if (cJSON_IsString(index))
		cJSON_AddStringToObject(image, "indexDigest", index->valuestring);
	const cJSON *source = cJSON_GetObjectItemCaseSensitive(ann, CTRK_ANNOTATION_SOURCE);
	if (cJSON_IsString(source))
		cJSON_AddStringToObject(image, "source", source->valuestring);

	cJSON *platform = cJSON_AddObjectToObject(image, "platform");
	static const char *const pfields[][2] = {
		{"os", "os"}, {"architecture", "architecture"}, {"variant", "variant"}};
	for (size_t i = 0; i < 3; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(config, pfields[i][0]);
		if (cJSON_IsString(v) && v->valuestring[0])
			cJSON_AddStringToObject(platform, pfields[i][1], v->valuestring);
	}
	cJSON_AddStringToObject(image, "root", s->root);
	cJSON_AddItemToObject(image, "configDescriptor", ctrk_blob_to_json(&m->config));
	cJSON *layers = cJSON_AddArrayToObject(image, "layers");
	for (size_t i = 0; i < m->nlayers; i++)
		cJSON_AddItemToArray(layers, ctrk_blob_to_json(&m->layers[i]));
	const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(config, "rootfs");
	cJSON_AddItemToObject(image, "diffIds",
			      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids"), true));
	cJSON *cfg = cJSON_AddObjectToObject(image, "config");
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(config, "config");
	for (const char *const *k = config_fields; *k; k++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, *k);
		if (v && !cJSON_IsNull(v))
			cJSON_AddItemToObject(cfg, *k, cJSON_Duplicate(v, true));
	}
	return image;
}

static cJSON *
lookup_ref(const ctrk_store_t *s, const char *name, char **ref, ctrk_error_t *err)
{
	ctrk_error_t first;
	cJSON *entry = ctrk_store_get_ref(s, name, &first);
	if (entry) {
		const cJSON *ann = cJSON_GetObjectItemCaseSensitive(entry, "annotations");
		const cJSON *rn = cJSON_GetObjectItemCaseSensitive(ann, CTRK_ANNOTATION_REF_NAME);
		*ref = ctrk_xstrdup(cJSON_IsString(rn) ? rn->valuestring : name);
		return entry;
	}
	ctrk_reference_t parsed = {0};
	ctrk_error_t ignored;
	if (ctrk_reference_parse(name, &parsed, &ignored) == 0) {
		cleanup_free char *normal = ctrk_reference_string(&parsed);
		ctrk_reference_free(&parsed);
		entry = ctrk_store_get_ref(s, normal, &ignored);
		if (entry) {
			*ref = steal_pointer(&normal);
			return entry;
		}
	}
	*err = first;
	return NULL;
}

cJSON *
ctrk_image_from_store(const ctrk_store_t *s, const char *name, ctrk_error_t *err)
{
	/* Every cleanup variable before the first goto: a jump over one's
	 * declaration would free garbage on the way out. */
	cleanup_free char *ref = NULL, *body = NULL, *cbody = NULL;
	cleanup_json cJSON *entry = lookup_ref(s, name, &ref, err);
	if (!entry)
		return NULL;
	const char *digest = NULL, *mt = NULL;
	long long size = 0;
	size_t len = 0, clen = 0;
	if (ctrk_json_get_string(entry, "digest", true, &digest, "index.json entry", err) < 0 ||
	    ctrk_json_get_int64(entry, "size", true, &size, "index.json entry", err) < 0 ||
	    ctrk_json_get_string(entry, "mediaType", false, &mt, "index.json entry", err) < 0)
		goto fail;
	if (ctrk_store_read_blob(s, digest, CTRK_MANIFEST_MAX, &body, &len, err) < 0)
		goto fail;
	ctrk_manifest_t m;
	if (ctrk_manifest_parse(body, len, mt, &m, err) < 0)
		goto fail;
	cJSON *config = NULL;
	if (ctrk_store_read_blob(s, m.config.digest, CTRK_CONFIG_MAX, &cbody, &clen, err) < 0 ||
	    ctrk_config_parse(cbody, clen, &m, &config, err) < 0) {
		ctrk_manifest_free(&m);
		goto fail;
	}
	cJSON *image = describe(s, entry, ref, digest, size, &m, config);
	cJSON_Delete(config);
	ctrk_manifest_free(&m);
	return image;
fail:
	ctrk_error_wrap(err, "reading image '%s'", name);
	return NULL;
}
