/* Images from a registry, through the distribution API. */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"
#include "pull.h"
#include "reference.h"
#include "registry.h"

struct registry_source {
	ctrk_reference_t ref;
	ctrk_registry_t *registry;
	ctrk_conn_t *conn; /* for manifests, on the main thread */
};

static int
reg_get_root(source_t *src, char **body, size_t *len, char **media_type, ctrk_error_t *err)
{
	struct registry_source *rs = src->priv;
	const char *reference = rs->ref.digest ? rs->ref.digest : rs->ref.tag;
	return ctrk_registry_get_manifest(rs->conn, rs->ref.path, reference, body, len, media_type, err);
}

static int
reg_get_manifest(source_t *src, const char *digest, char **body, size_t *len, char **media_type,
		 ctrk_error_t *err)
{
	struct registry_source *rs = src->priv;
	return ctrk_registry_get_manifest(rs->conn, rs->ref.path, digest, body, len, media_type, err);
}

static void *
reg_worker_new(source_t *src)
{
	struct registry_source *rs = src->priv;
	return ctrk_conn_new(rs->registry);
}

static void
reg_worker_free(void *w)
{
	ctrk_conn_free(w);
}

static int
reg_fetch_blob(source_t *src, void *w, ctrk_ingest_t *in, ctrk_progress_fn progress, void *pctx,
	       ctrk_error_t *err)
{
	struct registry_source *rs = src->priv;
	return ctrk_registry_fetch_blob(w, rs->ref.path, in, progress, pctx, err);
}

static void
reg_close(source_t *src)
{
	struct registry_source *rs = src->priv;
	if (!rs)
		return;
	ctrk_conn_free(rs->conn);
	ctrk_registry_close(rs->registry);
	ctrk_reference_free(&rs->ref);
	free(rs);
}

static const struct source_ops registry_ops = {
	.get_root = reg_get_root,
	.get_manifest = reg_get_manifest,
	.worker_new = reg_worker_new,
	.worker_free = reg_worker_free,
	.fetch_blob = reg_fetch_blob,
	.close = reg_close,
};

int
source_registry_open(const char *spec, const pull_opts_t *opts, source_t **out, ctrk_error_t *err)
{
	struct registry_source *rs = ctrk_xcalloc(1, sizeof *rs);
	source_t *src = ctrk_xcalloc(1, sizeof *src);
	src->ops = &registry_ops;
	src->priv = rs;
	if (ctrk_reference_parse(spec, &rs->ref, err) < 0)
		goto fail;
	src->ref_name = ctrk_reference_string(&rs->ref);
	if (rs->ref.digest)
		src->pinned_digest = ctrk_xstrdup(rs->ref.digest);
	rs->registry = ctrk_registry_open(rs->ref.domain, &opts->registry, err);
	if (!rs->registry)
		goto fail;
	rs->conn = ctrk_conn_new(rs->registry);
	*out = src;
	return 0;
fail:
	source_free(src);
	return -1;
}
