/* libFuzzer target: what a registry or an offline source sends about an
 * image (lib/common/image.c): ctrk_doc_kind, ctrk_manifest_parse,
 * ctrk_index_select, ctrk_config_parse (with the image config's run-time
 * defaults, ctrk_image_config_validate) and ctrk_blob_parse.  Each input is
 * tried as all of them, with every Content-Type a server may send, so that
 * one corpus serves the lot.  Whatever the bytes: no crash, leak or read out
 * of bounds, and what is accepted holds what the callers rely on:
 *   - a manifest has a known config type, at most CTRK_LAYERS_MAX layers of
 *     known types, digests that
 *     validate and sizes >= 0, and each descriptor survives
 *     ctrk_blob_to_json and ctrk_blob_parse unchanged;
 *   - a manifest is never also read as an index, nor an index as a manifest;
 *   - the manifest an index selects is for the platform asked for;
 *   - an accepted config has one diff_id per layer and config fields of the
 *     right types. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor.h"
#include "image.h"
#include "json.h"
#include "platform.h"
#include "registry.h"

static const char *const content_types[] = {
	NULL,
	"",
	CTRK_MT_OCI_MANIFEST,
	CTRK_MT_OCI_INDEX,
	CTRK_MT_DOCKER_MANIFEST,
	CTRK_MT_DOCKER_LIST,
	CTRK_MT_DOCKER_SCHEMA1_SIGNED,
	"application/json",
};
#define NTYPES (sizeof content_types / sizeof *content_types)

static const char *const platforms[] = {"linux/amd64", "linux/arm64", "linux/arm/v7"};
#define NPLATFORMS (sizeof platforms / sizeof *platforms)

static void
check_blob(const ctrk_blob_t *b)
{
	ctrk_error_t err = {0};
	if (!b->media_type || b->size < 0 || ctrk_digest_validate(b->digest, &err) < 0)
		abort();
	cJSON *j = ctrk_blob_to_json(b);
	ctrk_blob_t again = {0};
	if (ctrk_blob_parse(j, &again, "again", &err) < 0)
		abort(); /* written, then refused */
	if (strcmp(again.media_type, b->media_type) != 0 || strcmp(again.digest, b->digest) != 0 ||
	    again.size != b->size)
		abort();
	ctrk_blob_free(&again);
	cJSON_Delete(j);
}

static void
try_manifest(const char *body, size_t len, const char *type, bool *is_manifest)
{
	ctrk_error_t err = {0};
	ctrk_manifest_t m;
	if (ctrk_manifest_parse(body, len, type, &m, &err) < 0) {
		if (!err.msg[0] || m.media_type || m.layers || m.config.media_type)
			abort(); /* a failure says why and keeps nothing */
		return;
	}
	*is_manifest = true;
	if (!m.media_type || (strcmp(m.media_type, CTRK_MT_OCI_MANIFEST) != 0 &&
			      strcmp(m.media_type, CTRK_MT_DOCKER_MANIFEST) != 0))
		abort();
	check_blob(&m.config);
	if (m.nlayers > CTRK_LAYERS_MAX)
		abort();
	for (size_t i = 0; i < m.nlayers; i++) {
		if (!ctrk_is_layer_type(m.layers[i].media_type))
			abort();
		check_blob(&m.layers[i]);
	}
	ctrk_manifest_free(&m);
}

static void
try_index(const char *body, size_t len, bool *selected)
{
	for (size_t i = 0; i < NPLATFORMS; i++) {
		ctrk_error_t err = {0};
		ctrk_platform_t want, got;
		ctrk_blob_t b = {0};
		if (ctrk_platform_parse(platforms[i], &want, &err) < 0)
			abort();
		if (ctrk_index_select(body, len, &want, &b, &got, &err) == 0) {
			*selected = true;
			if (!ctrk_platform_match(&want, &got))
				abort(); /* picked for another platform */
			check_blob(&b);
			ctrk_blob_free(&b);
			ctrk_platform_free(&got);
		} else if (!err.msg[0]) {
			abort();
		}
		ctrk_platform_free(&want);
	}
}

/* The number of diff_ids when BODY has them (to reach the checks past the
 * count), else 1. */
static size_t
count_diff_ids(const char *body, size_t len)
{
	ctrk_error_t err = {0};
	cJSON *doc = ctrk_json_parse(body, len, "config", &err);
	const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(doc, "rootfs");
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids");
	size_t n = cJSON_IsArray(ids) ? (size_t)cJSON_GetArraySize(ids) : 1;
	cJSON_Delete(doc);
	return n;
}

static void
try_config(const char *body, size_t len)
{
	size_t n = count_diff_ids(body, len);
	for (size_t extra = 0; extra < 2; extra++) {
		ctrk_error_t err = {0};
		ctrk_manifest_t m = {.nlayers = n + extra};
		cJSON *config = NULL;
		if (ctrk_config_parse(body, len, &m, &config, &err) < 0) {
			if (!err.msg[0] || config)
				abort();
			continue;
		}
		const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(config, "rootfs");
		const cJSON *ids = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids");
		if ((size_t)cJSON_GetArraySize(ids) != m.nlayers)
			abort();
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(config, "config");
		if (c && ctrk_image_config_validate(c, "config", &err) < 0)
			abort();
		cJSON_Delete(config);
	}
}

static void
try_blob(const char *body, size_t len)
{
	ctrk_error_t err = {0};
	cJSON *doc = ctrk_json_parse(body, len, "descriptor", &err);
	if (!doc)
		return;
	ctrk_blob_t b = {0};
	if (ctrk_blob_parse(doc, &b, "descriptor", &err) == 0) {
		check_blob(&b);
		ctrk_blob_free(&b);
	} else if (b.media_type) {
		abort();
	}
	ctrk_platform_t p;
	if (ctrk_platform_from_json(cJSON_GetObjectItemCaseSensitive(doc, "platform"), &p, &err) == 0)
		ctrk_platform_free(&p);
	cJSON_Delete(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly the bytes, no NUL after them: the parsers take a length. */
	char *body = malloc(size ? size : 1);
	if (!body)
		return 0;
	memcpy(body, data, size);

	bool manifest = false, index = false, selected = false;
	for (size_t i = 0; i < NTYPES; i++) {
		ctrk_error_t err = {0};
		ctrk_doc_kind_t kind = CTRK_DOC_INDEX;
		char *resolved = NULL;
		int rc = ctrk_doc_kind(body, size, content_types[i], &kind, &resolved, &err);
		if (rc == 0) {
			if (!resolved || !ctrk_is_doc_type(resolved))
				abort();
			if (kind == CTRK_DOC_INDEX)
				index = true;
			free(resolved);
		} else if (resolved || !err.msg[0]) {
			abort();
		}
		/* The parse reads the kind first: past the first media type
		 * it runs only where that can succeed, for speed. */
		if (i == 0 || (rc == 0 && kind == CTRK_DOC_MANIFEST))
			try_manifest(body, size, content_types[i], &manifest);
	}
	try_index(body, size, &selected);
	/* A document is an image manifest or an index, never both: a manifest
	 * that an index reading also picks a platform from would be pulled as
	 * two different images by two readers. */
	if (manifest && selected)
		abort();
	(void)index;
	try_config(body, size);
	try_blob(body, size);
	free(body);
	return 0;
}
