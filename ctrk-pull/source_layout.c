/* Offline sources: an OCI image layout (oci:DIR[:TAG]), a tar of one
 * (oci-archive:FILE[:TAG]) and, in source_archive.c, what `docker save`
 * writes (docker-archive:FILE[:NAME:TAG]).
 *
 * An archive is extracted first, into a private directory in the store's
 * ingest area, and then read like a layout.  Blobs are copied from the
 * layout into the ingest, which checks their size and digest exactly as for
 * a registry: a layout is no more trusted than a server. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "inroot.h"
#include "json.h"
#include "layout.h"
#include "reference.h"
#include "registry.h"

#define LAYOUT_FILE_MAX 4096
#define INDEX_MAX (16u << 20)
#define COPY_CHUNK (1u << 20)
/* What an archive may unpack to: its own size (a plain tar), times a ratio
 * for a compressed one, plus some slack.  A small archive of compressed
 * zeros must not fill the store's disk. */
#define EXTRACT_RATIO 32
#define EXTRACT_SLACK (1ull << 30)
#define EXTRACT_ENTRIES 100000


/* ---- blobs -------------------------------------------------------------- */

static const char *
offline_kind(const struct offline *o)
{
	return o->tmpdir ? "archive" : "layout";
}

/* Where blob DIGEST (validated) is, relative to o->dirfd; NULL if nowhere. */
static char *
blob_path(const struct offline *o, const char *digest)
{
	if (!o->files)
		return ctrk_strdup_printf("blobs/sha256/%s", ctrk_digest_hex(digest));
	for (size_t i = 0; i < o->nfiles; i++)
		if (strcmp(o->files[i].digest, digest) == 0)
			return ctrk_xstrdup(o->files[i].path);
	return NULL;
}

int
offline_open(const struct offline *o, const char *path, ctrk_error_t *err)
{
	/* Beneath the layout, no symlink anywhere on the way (a layout has no
	 * use for one, and it could lead to any file of the host), and without
	 * blocking: a fifo would hang the open itself. */
	cleanup_close int fd =
		ctrk_inroot_open(o->dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, CTRK_INROOT_NO_SYMLINKS, err);
	if (fd < 0 && errno == ENOENT)
		return ctrk_error_set(err, ENOENT, "'%s' is not in the %s", path, offline_kind(o));
	if (fd < 0 && errno == ELOOP)
		return ctrk_error_set(err, ELOOP, "'%s' in the %s is a symbolic link or is under one: refused", path,
				      offline_kind(o));
	if (fd < 0)
		return ctrk_error_wrap(err, "open '%s' in the %s", path, offline_kind(o));
	struct stat st;
	if (fstat(fd, &st) < 0)
		return ctrk_error_errno(err, "stat '%s'", path);
	/* Not a fifo or a device, which could block or never end. */
	if (!S_ISREG(st.st_mode))
		return ctrk_error_set(err, 0, "'%s' in the %s is not a regular file", path, offline_kind(o));
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return ctrk_error_errno(err, "fcntl '%s'", path);
	return steal_fd(&fd);
}

static int
open_blob(const struct offline *o, const char *digest, ctrk_error_t *err)
{
	/* Never a path from a string that is not a well-formed digest. */
	if (ctrk_digest_validate(digest, err) < 0)
		return -1;
	cleanup_free char *path = blob_path(o, digest);
	if (!path)
		return ctrk_error_set(err, 0, "blob %s is not in the %s", digest, offline_kind(o));
	int fd = offline_open(o, path, err);
	if (fd < 0 && err->errnum == ENOENT)
		return ctrk_error_set(err, 0, "blob %s is not in the %s", digest, offline_kind(o));
	if (fd < 0)
		return ctrk_error_wrap(err, "blob %s", digest);
	return fd;
}

static int
read_blob(const struct offline *o, const char *digest, char **body, size_t *len, ctrk_error_t *err)
{
	cleanup_close int fd = open_blob(o, digest, err);
	if (fd < 0)
		return -1;
	if (ctrk_read_all_fd(fd, CTRK_MANIFEST_MAX, body, len, err) < 0)
		return ctrk_error_wrap(err, "reading blob %s", digest);
	return 0;
}

/* Copy the blob from in->offset on (the ingest may be resuming). */
static int
copy_blob(int fd, ctrk_ingest_t *in, ctrk_progress_fn progress, void *pctx, ctrk_error_t *err)
{
	cleanup_free char *buf = ctrk_xmalloc(COPY_CHUNK);
	for (;;) {
		ssize_t n = pread(fd, buf, COPY_CHUNK, (off_t)in->offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ctrk_error_errno(err, "read blob %s", in->digest);
		if (n == 0)
			return 0;
		if (ctrk_ingest_write(in, buf, (size_t)n, err) < 0)
			return -1;
		if (progress && !progress(pctx, in->offset, in->size))
			return ctrk_error_set(err, ECANCELED, "copying blob %s", in->digest);
	}
}

/* ---- the operations ----------------------------------------------------- */

static int
off_get_root(source_t *src, char **body, size_t *len, char **media_type, ctrk_error_t *err)
{
	struct offline *o = src->priv;
	if (o->manifest) {
		*body = ctrk_xmalloc(o->manifest_len + 1);
		memcpy(*body, o->manifest, o->manifest_len + 1);
		*len = o->manifest_len;
		*media_type = ctrk_xstrdup(CTRK_MT_OCI_MANIFEST);
		return 0;
	}
	if (o->root.size > (long long)CTRK_MANIFEST_MAX) {
		ctrk_error_set(err, EFBIG, "manifest %s is %lld bytes, more than %u", o->root.digest, o->root.size,
			       CTRK_MANIFEST_MAX);
		return -1;
	}
	cleanup_free char *b = NULL;
	size_t n = 0;
	if (read_blob(o, o->root.digest, &b, &n, err) < 0)
		return -1;
	if ((long long)n != o->root.size) {
		ctrk_error_set(err, 0, "manifest %s is %zu bytes, index.json says %lld", o->root.digest, n,
			       o->root.size);
		return -1;
	}
	*body = steal_pointer(&b);
	*len = n;
	*media_type = ctrk_xstrdup(o->root.media_type);
	return 0;
}

static int
off_get_manifest(source_t *src, const char *digest, char **body, size_t *len, char **media_type,
		 ctrk_error_t *err)
{
	struct offline *o = src->priv;
	*media_type = NULL; /* pull.c takes the index's */
	if (read_blob(o, digest, body, len, err) < 0)
		return -1;
	return 0;
}

static int
off_fetch_blob(source_t *src, void *worker, ctrk_ingest_t *in, ctrk_progress_fn progress, void *pctx,
	       ctrk_error_t *err)
{
	struct offline *o = src->priv;
	cleanup_close int fd = open_blob(o, in->digest, err);
	if (fd < 0 || copy_blob(fd, in, progress, pctx, err) < 0) {
		ctrk_ingest_close(in);
		return -1;
	}
	if (ctrk_ingest_finish(in, err) < 0)
		return -1;
	return 0;
}

static void
off_close(source_t *src)
{
	struct offline *o = src->priv;
	if (!o)
		return;
	if (o->dirfd >= 0)
		close(o->dirfd);
	if (o->tmpdir) {
		/* Nowhere to report a failure: a leftover is only disk space. */
		ctrk_error_t ignored;
		ctrk_remove_tree(o->tmpdir, &ignored);
	}
	for (size_t i = 0; i < o->nfiles; i++)
		free(o->files[i].path);
	free(o->files);
	free(o->manifest);
	ctrk_blob_free(&o->root);
	free(o->tmpdir);
	free(o->spec);
	free(o);
	src->priv = NULL;
}

static const struct source_ops offline_ops = {
	.get_root = off_get_root,
	.get_manifest = off_get_manifest,
	.fetch_blob = off_fetch_blob,
	.close = off_close,
};

/* ---- shared with source_archive.c --------------------------------------- */

/* Extraction directories are locked while a pull uses them; one that
 * nobody holds was left by a pull that was killed. */
static void
sweep_stale_extracts(const ctrk_store_t *store)
{
	DIR *d = opendir(store->ingest);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "extract-", 8) != 0)
			continue;
		int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			cleanup_free char *path = ctrk_strdup_printf("%s/%s", store->ingest, de->d_name);
			ctrk_error_t ignored;
			ctrk_remove_tree(path, &ignored);
		}
		close(fd);
	}
	closedir(d);
}

int
offline_extract(struct offline *o, const ctrk_store_t *store, const char *file, ctrk_extract_t *x,
		ctrk_error_t *err)
{
	struct stat st;
	if (stat(file, &st) < 0)
		return ctrk_error_errno(err, "'%s'", file);
	x->max_bytes = (unsigned long long)st.st_size * EXTRACT_RATIO + EXTRACT_SLACK;
	x->max_entries = EXTRACT_ENTRIES;

	/* In the ingest area: private (0700), and on the store's file system. */
	sweep_stale_extracts(store);
	o->tmpdir = ctrk_strdup_printf("%s/extract-XXXXXX", store->ingest);
	if (!mkdtemp(o->tmpdir)) {
		ctrk_error_errno(err, "create a directory in '%s'", store->ingest);
		free(o->tmpdir);
		o->tmpdir = NULL;
		return -1;
	}
	o->dirfd = open(o->tmpdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (o->dirfd < 0 || flock(o->dirfd, LOCK_EX) < 0)
		return ctrk_error_errno(err, "open '%s'", o->tmpdir);
	return ctrk_archive_extract(file, o->dirfd, x, err);
}

char *
offline_store_name(const char *name)
{
	/* Only a name with a tag or digest counts as a reference: "single"
	 * would parse too, as docker.io/library/single:latest. */
	const char *last = strrchr(name, '/');
	if (!strpbrk(last ? last + 1 : name, ":@"))
		return ctrk_xstrdup(name);
	ctrk_reference_t ref;
	ctrk_error_t ignored;
	if (ctrk_reference_parse(name, &ref, &ignored) < 0)
		return ctrk_xstrdup(name);
	char *s = ctrk_reference_string(&ref);
	ctrk_reference_free(&ref);
	return s;
}

void
offline_list_add(char *buf, size_t cap, size_t *used, const char *s)
{
	if (*used < cap)
		*used += (size_t)snprintf(buf + *used, cap - *used, "%s%s", *used ? ", " : "", s);
}

/* ---- oci: and oci-archive: ---------------------------------------------- */

/* "PATH[:TAG]": the path ends at the first ':', as in skopeo. */
static int
split_spec(const char *rest, char **path, char **tag, ctrk_error_t *err)
{
	const char *colon = strchr(rest, ':');
	size_t n = colon ? (size_t)(colon - rest) : strlen(rest);
	if (n == 0)
		return ctrk_error_set(err, 0, "no path given");
	if (colon && !colon[1])
		return ctrk_error_set(err, 0, "empty tag after ':'");
	*path = ctrk_xstrdup(rest);
	(*path)[n] = '\0';
	*tag = colon ? ctrk_xstrdup(colon + 1) : NULL;
	return 0;
}

static int
check_oci_layout(const struct offline *o, ctrk_error_t *err)
{
	cleanup_close int fd = offline_open(o, "oci-layout", err);
	if (fd < 0 && err->errnum == ENOENT)
		return ctrk_error_set(err, 0, "not an OCI image layout: no oci-layout file");
	if (fd < 0)
		return -1;
	cleanup_json cJSON *doc = ctrk_json_read_fd(fd, LAYOUT_FILE_MAX, "oci-layout", err);
	const char *version = NULL;
	if (!doc || ctrk_json_get_string(doc, "imageLayoutVersion", true, &version, "oci-layout", err) < 0)
		return -1;
	if (strcmp(version, "1.0.0") != 0)
		return ctrk_error_set(err, 0, "oci-layout: imageLayoutVersion '%s' is not supported, only 1.0.0",
				      version);
	return 0;
}

/* Find the image TAG names in index.json, or the only one when TAG is NULL,
 * and name it in the store. */
static int
layout_select(source_t *src, const char *tag, ctrk_error_t *err)
{
	struct offline *o = src->priv;
	if (check_oci_layout(o, err) < 0)
		return -1;
	cleanup_close int fd = offline_open(o, "index.json", err);
	if (fd < 0)
		return -1;
	cleanup_json cJSON *index = ctrk_json_read_fd(fd, INDEX_MAX, "index.json", err);
	const cJSON *manifests = NULL, *entry, *chosen = NULL;
	const char *chosen_name = NULL;
	if (!index || ctrk_json_get_array(index, "manifests", true, &manifests, "index.json", err) < 0)
		return -1;

	char names[512] = "";
	size_t used = 0;
	int i = 0;
	cJSON_ArrayForEach(entry, manifests)
	{
		char what[64];
		snprintf(what, sizeof what, "index.json: manifests[%d]", i++);
		ctrk_blob_t b = {0};
		const cJSON *ann = NULL;
		const char *name = NULL;
		if (!cJSON_IsObject(entry))
			return ctrk_error_set(err, 0, "%s: must be an object", what);
		if (ctrk_blob_parse(entry, &b, what, err) < 0 ||
		    ctrk_json_get_object(entry, "annotations", false, &ann, what, err) < 0 ||
		    ctrk_json_get_string(ann, CTRK_ANNOTATION_REF_NAME, false, &name, what, err) < 0) {
			ctrk_blob_free(&b);
			return -1;
		}
		offline_list_add(names, sizeof names, &used, name ? name : b.digest);
		/* The first match, as skopeo takes it. */
		if (!chosen && (!tag || (name && strcmp(name, tag) == 0))) {
			chosen = entry;
			chosen_name = name;
			ctrk_blob_free(&o->root);
			o->root = b;
		} else {
			ctrk_blob_free(&b);
		}
	}
	if (i == 0)
		return ctrk_error_set(err, 0, "index.json lists no image");
	if (!chosen)
		return ctrk_error_set(err, 0, "no image '%s' in the %s; it has: %s", tag, offline_kind(o), names);
	if (!tag && i > 1)
		return ctrk_error_set(err, 0, "the %s holds %d images, name one with ':TAG': %s", offline_kind(o), i,
				      names);

	if (tag)
		src->ref_name = offline_store_name(tag);
	else if (chosen_name)
		src->ref_name = offline_store_name(chosen_name);
	else
		src->ref_name = ctrk_xstrdup(o->root.digest);
	/* pull.c checks that the root document has this digest. */
	src->pinned_digest = ctrk_xstrdup(o->root.digest);
	return 0;
}

static char *
source_id(const char *kind, const char *abs, const char *tag)
{
	return ctrk_strdup_printf("%s:%s%s%s", kind, abs, tag ? ":" : "", tag ? tag : "");
}

static int
oci_open(source_t *src, const char *rest, ctrk_error_t *err)
{
	struct offline *o = src->priv;
	cleanup_free char *dir = NULL, *tag = NULL;
	if (split_spec(rest, &dir, &tag, err) < 0)
		return -1;
	cleanup_free char *abs = realpath(dir, NULL);
	if (!abs)
		return ctrk_error_errno(err, "'%s'", dir);
	o->dirfd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->dirfd < 0)
		return ctrk_error_errno(err, "open '%s'", abs);
	src->source_id = source_id("oci", abs, tag);
	return layout_select(src, tag, err);
}

static int
oci_archive_open(source_t *src, const ctrk_store_t *store, const char *rest, ctrk_error_t *err)
{
	struct offline *o = src->priv;
	cleanup_free char *file = NULL, *tag = NULL;
	if (split_spec(rest, &file, &tag, err) < 0)
		return -1;
	cleanup_free char *abs = realpath(file, NULL);
	if (!abs)
		return ctrk_error_errno(err, "'%s'", file);
	/* A layout has no use for links: refuse them all. */
	ctrk_extract_t x = {0};
	int rc = offline_extract(o, store, abs, &x, err);
	ctrk_extract_free(&x);
	if (rc < 0)
		return -1;
	src->source_id = source_id("oci-archive", abs, tag);
	return layout_select(src, tag, err);
}

int
source_layout_open(const char *spec, const pull_opts_t *opts, const ctrk_store_t *store, source_t **out,
		   ctrk_error_t *err)
{
	struct offline *o = ctrk_xcalloc(1, sizeof *o);
	o->spec = ctrk_xstrdup(spec);
	o->dirfd = -1;
	source_t *src = ctrk_xcalloc(1, sizeof *src);
	src->ops = &offline_ops;
	src->priv = o;

	int rc;
	if (strncmp(spec, "oci:", 4) == 0)
		rc = oci_open(src, spec + 4, err);
	else if (strncmp(spec, "oci-archive:", 12) == 0)
		rc = oci_archive_open(src, store, spec + 12, err);
	else if (strncmp(spec, "docker-archive:", 15) == 0)
		rc = docker_archive_open(src, store, spec + 15, err);
	else
		rc = ctrk_error_set(err, 0, "unknown kind of source");
	if (rc < 0) {
		source_free(src); /* removes what was extracted */
		return -1;
	}
	*out = src;
	return 0;
}
