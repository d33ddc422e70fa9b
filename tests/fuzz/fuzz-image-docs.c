/* libFuzzer target: manifests, indexes and image configs as ctrk-pull reads
 * them (ctrk_doc_kind, ctrk_manifest_parse, ctrk_index_select,
 * ctrk_config_parse).  Never a crash, a leak or a read out of bounds; and
 * what is accepted has one meaning: a document taken as a manifest has no
 * 'manifests', one taken as an index has no 'config' or 'layers', and no
 * manifest has more than CTRK_LAYERS_MAX layers.
 *
 * The first byte picks the media type the document comes with (none, a
 * generic one, or one of the four kinds); the rest is the document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "json.h"
#include "registry.h"

static const char *const given_types[] = {
	NULL, "", "application/json", CTRK_MT_OCI_MANIFEST, CTRK_MT_OCI_INDEX, CTRK_MT_DOCKER_MANIFEST,
	CTRK_MT_DOCKER_LIST,
};

static bool
has(const cJSON *doc, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(doc, key) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *given = given_types[data[0] % (sizeof given_types / sizeof *given_types)];
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	ctrk_error_t err = {0};

	/* Any document as an image config, for a manifest of no layers. */
	ctrk_manifest_t none = {0};
	cJSON *config = NULL;
	if (ctrk_config_parse(body, len, &none, &config, &err) == 0)
		cJSON_Delete(config);

	ctrk_doc_kind_t kind;
	char *resolved = NULL;
	if (ctrk_doc_kind(body, len, given, &kind, &resolved, &err) < 0)
		return 0;
	free(resolved);
	cJSON *doc = ctrk_json_parse(body, len, "fuzz", &err);
	if (!doc)
		abort(); /* accepted above, so it must parse */
	if (kind == CTRK_DOC_MANIFEST && has(doc, "manifests"))
		abort();
	if (kind == CTRK_DOC_INDEX && (has(doc, "config") || has(doc, "layers")))
		abort();
	cJSON_Delete(doc);

	if (kind == CTRK_DOC_MANIFEST) {
		ctrk_manifest_t m;
		if (ctrk_manifest_parse(body, len, given, &m, &err) == 0) {
			if (m.nlayers > CTRK_LAYERS_MAX)
				abort();
			ctrk_manifest_free(&m);
		}
	} else {
		ctrk_platform_t want = {0}, got = {0};
		ctrk_platform_host(&want);
		ctrk_blob_t chosen = {0};
		if (ctrk_index_select(body, len, &want, &chosen, &got, &err) == 0) {
			ctrk_blob_free(&chosen);
			ctrk_platform_free(&got);
		}
		ctrk_platform_free(&want);
	}
	return 0;
}
