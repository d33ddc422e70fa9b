#include "pull.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "descriptor.h"
#include "fsutil.h"
#include "image.h"
#include "json.h"
#include "progress.h"

/* ---- the root document: manifest, or index and then manifest ----------- */

struct resolved {
	char *body; /* the image manifest */
	size_t len;
	char *media_type;
	char digest[CTRK_DIGEST_LEN + 1];
	char index_digest[CTRK_DIGEST_LEN + 1]; /* "" when not through an index */
	ctrk_platform_t platform;               /* from the index entry, if any */
	ctrk_manifest_t manifest;
};

static void
resolved_free(struct resolved *r)
{
	free(r->body);
	free(r->media_type);
	ctrk_platform_free(&r->platform);
	ctrk_manifest_free(&r->manifest);
}

static int
check_digest(const char *body, size_t len, const char *want, char *got, const char *what, ctrk_error_t *err)
{
	ctrk_digest_bytes(body, len, got);
	if (want && strcmp(got, want) != 0)
		return ctrk_error_set(err, 0, "%s does not match its digest: expected %s, got %s", what, want, got);
	return 0;
}

/* The manifest an index entry points at: it must be what the entry says. */
static int
resolve_chosen(source_t *src, const ctrk_blob_t *chosen, struct resolved *r, ctrk_error_t *err)
{
	if (src->ops->get_manifest(src, chosen->digest, &r->body, &r->len, &r->media_type, err) < 0 ||
	    check_digest(r->body, r->len, chosen->digest, r->digest, "manifest", err) < 0)
		return -1;
	if ((long long)r->len != chosen->size)
		return ctrk_error_set(err, 0, "manifest %s is %zu bytes, the index says %lld", chosen->digest, r->len,
				      chosen->size);
	if (!r->media_type)
		r->media_type = ctrk_xstrdup(chosen->media_type);
	if (ctrk_manifest_parse(r->body, r->len, r->media_type, &r->manifest, err) < 0)
		return ctrk_error_wrap(err, "manifest %s", r->digest);
	if (ctrk_is_doc_type(chosen->media_type) && strcmp(chosen->media_type, r->manifest.media_type) != 0)
		return ctrk_error_set(err, 0, "manifest %s is '%s', but the index describes it as '%s'", r->digest,
				      r->manifest.media_type, chosen->media_type);
	return 0;
}

static int
resolve(source_t *src, const pull_opts_t *opts, struct resolved *r, ctrk_error_t *err)
{
	memset(r, 0, sizeof *r);
	if (src->ops->get_root(src, &r->body, &r->len, &r->media_type, err) < 0)
		return -1;
	if (check_digest(r->body, r->len, src->pinned_digest, r->digest, "manifest", err) < 0)
		return -1;
	ctrk_doc_kind_t kind;
	cleanup_free char *mt = NULL;
	if (ctrk_doc_kind(r->body, r->len, r->media_type, &kind, &mt, err) < 0)
		return ctrk_error_wrap(err, "manifest %s", r->digest);
	if (kind == CTRK_DOC_MANIFEST) {
		if (ctrk_manifest_parse(r->body, r->len, r->media_type, &r->manifest, err) < 0)
			return ctrk_error_wrap(err, "manifest %s", r->digest);
		return 0;
	}
	ctrk_blob_t chosen = {0};
	if (ctrk_index_select(r->body, r->len, &opts->platform, &chosen, &r->platform, err) < 0)
		return ctrk_error_wrap(err, "index %s", r->digest);
	memcpy(r->index_digest, r->digest, sizeof r->digest);
	free(r->body);
	free(r->media_type);
	r->body = NULL;
	r->media_type = NULL;
	int rc = resolve_chosen(src, &chosen, r, err);
	ctrk_blob_free(&chosen);
	return rc;
}

/* ---- blobs, in parallel ------------------------------------------------- */

struct job {
	const ctrk_blob_t *blob;
	int bar;
};

struct transfer {
	source_t *src;
	const ctrk_store_t *store;
	struct job *jobs;
	int njobs;
	atomic_int next;
	atomic_bool failed;
	pthread_mutex_t lock;
	ctrk_error_t first_err; /* the first failure, under lock */
	progress_t *progress;
};

struct progress_ctx {
	struct transfer *t;
	int bar;
};

static bool
on_progress(void *ctx, long long done, long long total)
{
	struct progress_ctx *pc = ctx;
	progress_bar_set(pc->t->progress, pc->bar, done);
	/* After a failure elsewhere, stop early; the partial file stays. */
	return !atomic_load(&pc->t->failed);
}

static void
transfer_fail(struct transfer *t, const ctrk_error_t *err)
{
	pthread_mutex_lock(&t->lock);
	if (!atomic_exchange(&t->failed, true))
		t->first_err = *err;
	pthread_mutex_unlock(&t->lock);
}

/* Transfer one blob.  A resumed transfer (a partial file from an earlier
 * run, or a Range request after a broken connection in this one) that fails
 * verification, or that the server cannot resume (416), has had its partial
 * file discarded: it gets one fresh start in this run, instead of the
 * failure repeating in every later run.  A fresh transfer that fails is not
 * repeated: the source itself is wrong. */
static int
transfer_one(struct transfer *t, void *w, const struct job *job, ctrk_error_t *err)
{
	for (int attempt = 0;; attempt++) {
		ctrk_ingest_t in;
		int rc = ctrk_ingest_open(&in, t->store, job->blob->digest, job->blob->size, err);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			progress_bar_exists(t->progress, job->bar);
			return 0;
		}
		struct progress_ctx pc = {t, job->bar};
		progress_bar_start(t->progress, job->bar, in.offset);
		ctrk_error_t this_err = {0};
		if (t->src->ops->fetch_blob(t->src, w, &in, on_progress, &pc, &this_err) == 0) {
			progress_bar_done(t->progress, job->bar);
			return 0;
		}
		*err = this_err;
		/* Only a resumed transfer whose partial file went gets the fresh
		 * start: a kept one (a network failure) would just be hashed
		 * again to fail the same way. */
		if (!in.resumed || !in.discarded || attempt > 0 || atomic_load(&t->failed))
			return -1;
	}
}

static void *
worker(void *arg)
{
	struct transfer *t = arg;
	void *w = t->src->ops->worker_new ? t->src->ops->worker_new(t->src) : NULL;
	int i;
	while (!atomic_load(&t->failed) && (i = atomic_fetch_add(&t->next, 1)) < t->njobs) {
		ctrk_error_t err = {0};
		if (transfer_one(t, w, &t->jobs[i], &err) < 0)
			transfer_fail(t, &err);
	}
	if (t->src->ops->worker_free)
		t->src->ops->worker_free(w);
	return NULL;
}

static int
transfer_blobs(source_t *src, const ctrk_store_t *store, const ctrk_blob_t *const *blobs, int nblobs,
	       const pull_opts_t *opts, progress_t *progress, ctrk_error_t *err)
{
	int n = 0;
	cleanup_free struct job *jobs = ctrk_xcalloc((size_t)nblobs, sizeof *jobs);
	for (int i = 0; i < nblobs; i++) {
		bool dup = false;
		for (int j = 0; j < n; j++)
			dup |= strcmp(jobs[j].blob->digest, blobs[i]->digest) == 0;
		if (!dup) {
			jobs[n] = (struct job){blobs[i], n};
			n++;
		}
	}

	struct transfer t = {.src = src, .store = store, .jobs = jobs, .njobs = n, .progress = progress};
	pthread_mutex_init(&t.lock, NULL);
	progress_begin(progress, n);
	for (int i = 0; i < n; i++) {
		char label[32];
		snprintf(label, sizeof label, "%s %.12s", ctrk_is_layer_type(jobs[i].blob->media_type) ? "layer" : "config",
			 ctrk_digest_hex(jobs[i].blob->digest));
		progress_bar_init(t.progress, i, label, jobs[i].blob->size);
	}

	int nthreads = opts->jobs < n ? opts->jobs : n;
	pthread_t threads[64];
	int started = 0;
	for (; started < nthreads && started < 64; started++)
		if (pthread_create(&threads[started], NULL, worker, &t) != 0)
			break;
	if (started == 0)
		worker(&t);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	progress_end(progress);
	pthread_mutex_destroy(&t.lock);

	if (atomic_load(&t.failed)) {
		*err = t.first_err;
		return -1;
	}
	return 0;
}

/* Every blob is verified: only now does the store change. */
static int
commit_blobs(const ctrk_store_t *store, const ctrk_manifest_t *m, ctrk_error_t *err)
{
	if (ctrk_store_commit_blob(store, m->config.digest, err) < 0)
		return -1;
	for (size_t i = 0; i < m->nlayers; i++)
		if (ctrk_store_commit_blob(store, m->layers[i].digest, err) < 0)
			return -1;
	return ctrk_store_sync(store, err);
}

/* ---- the whole pull ----------------------------------------------------- */

/* The config says which platform the image is for: it must be the one that
 * was picked from the index, or, for a lone manifest, the one asked for
 * (--platform, or this host).  Otherwise an index could label an arm64
 * image amd64, and the descriptor would carry the label, not the truth. */
static int
check_platform(const struct resolved *r, const ctrk_store_t *store, const pull_opts_t *opts, ctrk_platform_t *out,
	       ctrk_error_t *err)
{
	cleanup_free char *body = NULL;
	size_t len = 0;
	if (ctrk_store_read_pending(store, r->manifest.config.digest, CTRK_CONFIG_MAX, &body, &len, err) < 0)
		return -1;
	cleanup_json cJSON *config = NULL;
	if (ctrk_config_parse(body, len, &r->manifest, &config, err) < 0)
		return -1;
	if (ctrk_platform_from_json(config, out, err) < 0)
		return ctrk_error_wrap(err, "image config %s", r->manifest.config.digest);
	const ctrk_platform_t *want = r->index_digest[0] ? &r->platform : &opts->platform;
	/* os and architecture must be equal; a variant is compared only where
	 * the config gives one (many configs leave it out). */
	if (ctrk_platform_match(out, want)) {
		/* The index entry may name a variant the config leaves out:
		 * record the entry's, as before. */
		if (r->index_digest[0] && want->variant && !out->variant)
			out->variant = ctrk_xstrdup(want->variant);
		return 0;
	}
	cleanup_free char *ws = ctrk_platform_string(want);
	cleanup_free char *gs = ctrk_platform_string(out);
	if (r->index_digest[0])
		return ctrk_error_set(err, 0, "the index lists manifest %s for %s, but its config says %s",
				      r->digest, ws, gs);
	if (opts->platform_given)
		return ctrk_error_set(err, 0, "the image is for %s, not %s", gs, ws);
	return ctrk_error_set(err, 0,
			      "the image is for %s, not %s (this host); pull it with --platform %s to take it anyway", gs,
			      ws, gs);
}

static int
record(source_t *src, const struct resolved *r, const ctrk_platform_t *platform, const ctrk_store_t *store,
       ctrk_error_t *err)
{
	if (ctrk_store_write_blob(store, r->digest, r->body, r->len, err) < 0)
		return -1;
	cleanup_json cJSON *desc = cJSON_CreateObject();
	cJSON_AddStringToObject(desc, "mediaType", r->manifest.media_type);
	cJSON_AddStringToObject(desc, "digest", r->digest);
	cJSON_AddNumberToObject(desc, "size", (double)r->len);
	if (platform->os)
		cJSON_AddItemToObject(desc, "platform", ctrk_platform_to_json(platform));
	cleanup_json cJSON *ann = cJSON_CreateObject();
	if (r->index_digest[0])
		cJSON_AddStringToObject(ann, CTRK_ANNOTATION_INDEX, r->index_digest);
	if (src->source_id)
		cJSON_AddStringToObject(ann, CTRK_ANNOTATION_SOURCE, src->source_id);
	return ctrk_store_set_ref(store, src->ref_name, desc, ann, err);
}

int
pull_image(const char *spec, const pull_opts_t *opts, ctrk_error_t *err)
{
	ctrk_store_t store;
	if (ctrk_store_open(&store, opts->root, err) < 0)
		return -1;
	source_t *src = NULL;
	struct resolved r = {0};
	ctrk_platform_t platform = {0};
	cJSON *image = NULL, *d = NULL;
	const ctrk_blob_t **layers = NULL;
	progress_t *progress = progress_new(!opts->quiet && isatty(STDERR_FILENO));
	int ret = -1;

	if (source_open(spec, opts, &store, &src, err) < 0)
		goto out;
	if (resolve(src, opts, &r, err) < 0)
		goto out;
	/* The config first: it says whether the layers are worth fetching. */
	const ctrk_blob_t *config = &r.manifest.config;
	if (transfer_blobs(src, &store, &config, 1, opts, progress, err) < 0 ||
	    check_platform(&r, &store, opts, &platform, err) < 0)
		goto out;
	layers = ctrk_xcalloc(r.manifest.nlayers + 1, sizeof *layers);
	for (size_t i = 0; i < r.manifest.nlayers; i++)
		layers[i] = &r.manifest.layers[i];
	if (transfer_blobs(src, &store, layers, (int)r.manifest.nlayers, opts, progress, err) < 0 ||
	    commit_blobs(&store, &r.manifest, err) < 0 || record(src, &r, &platform, &store, err) < 0)
		goto out;
	image = ctrk_image_from_store(&store, src->ref_name, err);
	if (!image)
		goto out;
	progress_summary(progress, src->ref_name);
	d = ctrk_descriptor_new();
	cJSON_AddItemToObject(d, "image", image);
	ret = ctrk_descriptor_write(STDOUT_FILENO, d, err);
out:
	progress_free(progress);
	free(layers);
	cJSON_Delete(d);
	if (ret < 0)
		ctrk_error_wrap(err, "pulling '%s'", spec);
	ctrk_platform_free(&platform);
	resolved_free(&r);
	source_free(src);
	ctrk_store_close(&store);
	return ret;
}

/* ---- sources ------------------------------------------------------------ */

int
source_open(const char *spec, const pull_opts_t *opts, const ctrk_store_t *store, source_t **out,
	    ctrk_error_t *err)
{
	if (strncmp(spec, "oci:", 4) == 0 || strncmp(spec, "oci-archive:", 12) == 0 ||
	    strncmp(spec, "docker-archive:", 15) == 0)
		return source_layout_open(spec, opts, store, out, err);
	if (strncmp(spec, "docker://", 9) == 0)
		spec += 9;
	return source_registry_open(spec, opts, out, err);
}

void
source_free(source_t *src)
{
	if (!src)
		return;
	if (src->ops && src->ops->close)
		src->ops->close(src);
	free(src->ref_name);
	free(src->source_id);
	free(src->pinned_digest);
	free(src);
}
