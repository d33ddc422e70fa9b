/* docker-archive:FILE[:NAME:TAG]: what `docker save` and `skopeo copy ...
 * docker-archive:` write.  Its manifest.json lists, for each image, a config
 * file and the layer files; there is no manifest, so one is made up here,
 * an OCI image manifest naming those files by the digests of their bytes.
 *
 * https://github.com/moby/moby/blob/master/image/spec/v1.2.md (the format)
 * Older writers put a layer in several places with symbolic links
 * (ID/layer.tar -> ../OTHER/layer.tar): they are followed by name inside
 * the archive, never created on disk. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "layout.h"
#include "reference.h"
#include "registry.h"

#define MANIFEST_JSON_MAX (16u << 20)
#define LINK_HOPS 16
#define HASH_CHUNK (1u << 20)

#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"

/* NAME from manifest.json as a path of the extracted archive, through the
 * symbolic links the archive holds. */
static int
resolve_path(const ctrk_extract_t *x, const char *name, char **out, ctrk_error_t *err)
{
	cleanup_free char *path = NULL;
	if (ctrk_path_clean(name, false, &path, err) < 0)
		return -1;
	for (int hop = 0; hop < LINK_HOPS; hop++) {
		const ctrk_symlink_t *link = NULL;
		for (size_t i = 0; i < x->nlinks && !link; i++)
			if (strcmp(x->links[i].path, path) == 0)
				link = &x->links[i];
		if (!link) {
			*out = steal_pointer(&path);
			return 0;
		}
		/* The target is relative to the link's directory. */
		const char *slash = strrchr(link->path, '/');
		cleanup_free char *joined =
			slash ? ctrk_strdup_printf("%.*s/%s", (int)(slash - link->path), link->path, link->target)
			      : ctrk_xstrdup(link->target);
		free(path);
		path = NULL;
		if (ctrk_path_clean(joined, true, &path, err) < 0)
			return ctrk_error_wrap(err, "following the symbolic link '%s'", link->path);
	}
	return ctrk_error_set(err, 0, "too many symbolic links");
}

/* Hash file PATH and note where blob DIGEST is; a layer's media type comes
 * from its first bytes (newer `docker save` keeps layers compressed). */
static int
add_file(struct offline *o, const char *path, bool layer, ctrk_blob_t *b, ctrk_error_t *err)
{
	cleanup_close int fd = offline_open(o, path, err);
	if (fd < 0)
		return -1;

	cleanup_free unsigned char *buf = ctrk_xmalloc(HASH_CHUNK);
	unsigned char magic[4] = {0};
	ctrk_hasher_t *h = ctrk_hasher_new();
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, HASH_CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ctrk_hasher_free(h);
			return ctrk_error_errno(err, "read '%s'", path);
		}
		if (n == 0)
			break;
		if (off == 0)
			memcpy(magic, buf, (size_t)n < sizeof magic ? (size_t)n : sizeof magic);
		ctrk_hasher_update(h, buf, (size_t)n);
		off += n;
	}
	ctrk_hasher_final(h, b->digest);
	ctrk_hasher_free(h);
	b->size = (long long)off;

	if (!layer)
		b->media_type = ctrk_xstrdup(MT_OCI_CONFIG);
	else if (magic[0] == 0x1f && magic[1] == 0x8b)
		b->media_type = ctrk_xstrdup(MT_LAYER_GZIP);
	else if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
		b->media_type = ctrk_xstrdup(MT_LAYER_ZSTD);
	else
		b->media_type = ctrk_xstrdup(MT_LAYER);

	struct offline_file *f = &o->files[o->nfiles++];
	memcpy(f->digest, b->digest, sizeof f->digest);
	f->path = ctrk_xstrdup(path);
	return 0;
}

/* Is the RepoTag TAG the reference WANT (normalised)? */
static bool
tag_is(const char *tag, const char *want)
{
	ctrk_reference_t ref;
	ctrk_error_t ignored;
	if (ctrk_reference_parse(tag, &ref, &ignored) < 0)
		return false;
	cleanup_free char *s = ctrk_reference_string(&ref);
	ctrk_reference_free(&ref);
	return strcmp(s, want) == 0;
}

/* The image of manifest.json that WANT (normalised, or NULL) names. */
static int
pick_image(const cJSON *images, const char *want, const cJSON **out, ctrk_error_t *err)
{
	char names[512] = "";
	size_t used = 0;
	int i = 0;
	const cJSON *img, *tags, *t;
	*out = NULL;
	cJSON_ArrayForEach(img, images)
	{
		char what[64];
		snprintf(what, sizeof what, "manifest.json: image %d", i++);
		tags = NULL;
		if (!cJSON_IsObject(img))
			return ctrk_error_set(err, 0, "%s: must be an object", what);
		if (ctrk_json_get_string_array(img, "RepoTags", false, &tags, what, err) < 0)
			return -1;
		if (!tags || cJSON_GetArraySize(tags) == 0)
			offline_list_add(names, sizeof names, &used, "(untagged)");
		cJSON_ArrayForEach(t, tags)
		{
			offline_list_add(names, sizeof names, &used, t->valuestring);
			if (want && !*out && tag_is(t->valuestring, want))
				*out = img;
		}
	}
	if (i == 0)
		return ctrk_error_set(err, 0, "manifest.json lists no image");
	if (want && !*out)
		return ctrk_error_set(err, 0, "no image '%s' in the archive; it has: %s", want, names);
	if (!want && i > 1)
		return ctrk_error_set(err, 0, "the archive holds %d images, name one with ':NAME:TAG': %s", i, names);
	if (!want)
		*out = cJSON_GetArrayItem(images, 0);
	return 0;
}

/* Make up the image's manifest from its config and layer files. */
static int
make_manifest(struct offline *o, const ctrk_extract_t *x, const cJSON *img, ctrk_blob_t *config,
	      ctrk_error_t *err)
{
	static const char what[] = "manifest.json";
	const char *config_name = NULL;
	const cJSON *layer_names = NULL, *l;
	if (ctrk_json_get_string(img, "Config", true, &config_name, what, err) < 0 ||
	    ctrk_json_get_string_array(img, "Layers", true, &layer_names, what, err) < 0)
		return -1;
	/* Checked before a layer file is hashed, as a manifest's before a layer
	 * is fetched. */
	if (cJSON_GetArraySize(layer_names) > CTRK_LAYERS_MAX)
		return ctrk_error_set(err, 0, "the image has %d layers, more than the %d ctrk accepts",
				      cJSON_GetArraySize(layer_names), CTRK_LAYERS_MAX);
	o->files = ctrk_xcalloc((size_t)cJSON_GetArraySize(layer_names) + 1, sizeof *o->files);

	cleanup_free char *path = NULL;
	if (resolve_path(x, config_name, &path, err) < 0 || add_file(o, path, false, config, err) < 0)
		return ctrk_error_wrap(err, "config '%s'", config_name);
	cleanup_json cJSON *m = cJSON_CreateObject();
	cJSON_AddNumberToObject(m, "schemaVersion", 2);
	cJSON_AddStringToObject(m, "mediaType", CTRK_MT_OCI_MANIFEST);
	cJSON_AddItemToObject(m, "config", ctrk_blob_to_json(config));
	cJSON *layers = cJSON_AddArrayToObject(m, "layers");
	cJSON_ArrayForEach(l, layer_names)
	{
		ctrk_blob_t b = {0};
		free(path);
		path = NULL;
		if (resolve_path(x, l->valuestring, &path, err) < 0 || add_file(o, path, true, &b, err) < 0) {
			ctrk_blob_free(&b);
			return ctrk_error_wrap(err, "layer '%s'", l->valuestring);
		}
		cJSON_AddItemToArray(layers, ctrk_blob_to_json(&b));
		ctrk_blob_free(&b);
	}
	o->manifest = ctrk_json_render(m, false);
	o->manifest_len = strlen(o->manifest);
	return 0;
}

static int
read_docker_archive(source_t *src, const ctrk_store_t *store, const char *file, const char *want,
		    ctrk_extract_t *x, ctrk_error_t *err)
{
	struct offline *o = src->priv;
	if (offline_extract(o, store, file, x, err) < 0)
		return -1;
	cleanup_close int fd = offline_open(o, "manifest.json", err);
	if (fd < 0 && err->errnum == ENOENT)
		return ctrk_error_set(err, 0, "not a docker-archive: no manifest.json");
	if (fd < 0)
		return -1;
	cleanup_json cJSON *images = ctrk_json_read_fd(fd, MANIFEST_JSON_MAX, "manifest.json", err);
	if (!images)
		return -1;
	if (!cJSON_IsArray(images))
		return ctrk_error_set(err, 0, "manifest.json: must be an array of images");
	const cJSON *img = NULL, *tags = NULL;
	if (pick_image(images, want, &img, err) < 0)
		return -1;

	ctrk_blob_t config = {0};
	int rc = make_manifest(o, x, img, &config, err);
	if (rc == 0) {
		ctrk_json_get_string_array(img, "RepoTags", false, &tags, "manifest.json", err);
		const cJSON *first = cJSON_GetArrayItem(tags, 0);
		if (want)
			src->ref_name = ctrk_xstrdup(want);
		else if (first)
			src->ref_name = offline_store_name(first->valuestring);
		else
			src->ref_name = ctrk_xstrdup(config.digest);
	}
	ctrk_blob_free(&config);
	return rc;
}

int
docker_archive_open(source_t *src, const ctrk_store_t *store, const char *rest, ctrk_error_t *err)
{
	/* FILE ends at the first ':'; what follows is a reference. */
	const char *colon = strchr(rest, ':');
	cleanup_free char *file = ctrk_xstrdup(rest);
	cleanup_free char *want = NULL;
	if (colon) {
		file[colon - rest] = '\0';
		ctrk_reference_t ref;
		if (ctrk_reference_parse(colon + 1, &ref, err) < 0)
			return -1;
		want = ctrk_reference_string(&ref);
		ctrk_reference_free(&ref);
	}
	if (!*file)
		return ctrk_error_set(err, 0, "no path given");
	cleanup_free char *abs = realpath(file, NULL);
	if (!abs)
		return ctrk_error_errno(err, "'%s'", file);

	ctrk_extract_t x = {.record_symlinks = true};
	int rc = read_docker_archive(src, store, abs, want, &x, err);
	ctrk_extract_free(&x);
	if (rc < 0)
		return -1;
	src->source_id = ctrk_strdup_printf("docker-archive:%s%s%s", abs, colon ? ":" : "", colon ? colon + 1 : "");
	return 0;
}
