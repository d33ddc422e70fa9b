/* Unpacking an image: each layer becomes the committed snapshot named by its
 * chain ID, as containerd names them (OCI image spec, config.md, "Layer
 * ChainID"): ChainID(L0) = DiffID(L0), ChainID(Ln) = SHA256(ChainID(Ln-1) +
 * " " + DiffID(Ln)).  Layers unpacked before are reused.
 *
 * The lock is not held while layers are applied: ids are reserved first,
 * the layers applied into their new directories, and the snapshots recorded
 * at the end under the lock again.  A layer another process recorded in the
 * meantime wins and ours is deleted.  On any failure every directory this
 * unpack made is deleted and no snapshot is recorded. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "extract.h"
#include "fsutil.h"
#include "image.h"
#include "json.h"
#include "snap.h"
#include "store.h"

#define MAX_WORKERS 4

struct layer {
	char chain[CTRK_DIGEST_LEN + 1];
	const char *diff_id;
	const char *digest;
	char *blob;  /* its path in the store */
	long long id; /* of the new snapshot; 0 when the layer is there */
	char *dir;
	int held;     /* the directory's flock while no record names it */
	bool discard; /* another unpack recorded it first */
	apply_fixups_t fixups; /* overlay: finished once the layers below are there */
};

struct unpack {
	snap_store_t *s;
	struct layer *layers;
	size_t n, first; /* layers[first..n) are new */
	atomic_size_t next;
	atomic_bool failed;
	pthread_mutex_t lock;
	ctrk_error_t first_err;
};

static int
parse_image(const cJSON *image, struct layer **out, size_t *n, ctrk_error_t *err)
{
	const cJSON *layers = NULL, *diff_ids = NULL;
	if (ctrk_json_get_array(image, "layers", true, &layers, "image", err) < 0 ||
	    ctrk_json_get_string_array(image, "diffIds", true, &diff_ids, "image", err) < 0)
		return -1;
	size_t nl = (size_t)cJSON_GetArraySize(layers);
	if (nl == 0)
		return ctrk_error_set(err, 0, "the image has no layers");
	if ((size_t)cJSON_GetArraySize(diff_ids) != nl)
		return ctrk_error_set(err, 0, "the image has %zu layers but %d diffIds", nl,
				      cJSON_GetArraySize(diff_ids));
	struct layer *l = ctrk_xcalloc(nl, sizeof *l);
	for (size_t i = 0; i < nl; i++) {
		const cJSON *lj = cJSON_GetArrayItem(layers, (int)i);
		const char *mt = NULL;
		char what[48];
		snprintf(what, sizeof what, "image.layers[%zu]", i);
		l[i].held = -1;
		l[i].diff_id = cJSON_GetStringValue(cJSON_GetArrayItem(diff_ids, (int)i));
		if (!cJSON_IsObject(lj) || ctrk_json_get_string(lj, "digest", true, &l[i].digest, what, err) < 0 ||
		    ctrk_json_get_string(lj, "mediaType", true, &mt, what, err) < 0 ||
		    ctrk_digest_validate(l[i].digest, err) < 0 || ctrk_digest_validate(l[i].diff_id, err) < 0) {
			if (!cJSON_IsObject(lj))
				ctrk_error_set(err, 0, "%s: must be an object", what);
			free(l);
			return -1;
		}
		if (!ctrk_is_layer_type(mt)) {
			free(l);
			return ctrk_error_set(err, 0, "%s: cannot unpack media type '%s'", what, mt);
		}
		if (i == 0) {
			snprintf(l[i].chain, sizeof l[i].chain, "%s", l[i].diff_id);
		} else {
			cleanup_free char *s = ctrk_strdup_printf("%s %s", l[i - 1].chain, l[i].diff_id);
			ctrk_digest_bytes(s, strlen(s), l[i].chain);
		}
	}
	*out = l;
	*n = nl;
	return 0;
}

static void
free_layers(struct layer *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].blob);
		free(l[i].dir);
		apply_fixups_free(&l[i].fixups);
		if (l[i].held >= 0)
			close(l[i].held);
	}
	free(l);
}

/* Under the lock: which layers are missing?  Reserve ids for them, and
 * make their directories and hold them (ctrk_lock_dir) before the lock is
 * dropped, so that `check --fix` never takes them for a crash's. */
static int
reserve(struct unpack *u, ctrk_error_t *err)
{
	snap_store_t *s = u->s;
	if (snap_lock(s, true, err) < 0)
		return -1;
	int ret = -1;
	u->first = u->n;
	for (size_t i = 0; i < u->n; i++) {
		const cJSON *e = snap_get(s, u->layers[i].chain);
		if (!e) {
			u->first = i;
			break;
		}
		if (snap_entry_kind(e) != SNAP_COMMITTED) {
			ctrk_error_set(err, 0, "snapshot '%s' exists and is %s, not a committed layer",
				       u->layers[i].chain, snap_kind_name(snap_entry_kind(e)));
			goto out;
		}
	}
	for (size_t i = u->first; i < u->n; i++) {
		struct layer *l = &u->layers[i];
		l->id = snap_next_id(s);
		l->dir = snap_dir(s, l->id);
		if (mkdir(l->dir, 0700) < 0) {
			ctrk_error_errno(err, "cannot create '%s'", l->dir);
			goto out;
		}
		if ((l->held = ctrk_lock_dir(l->dir, false, err)) < 0)
			goto out;
	}
	ret = u->first < u->n ? snap_save(s, err) : 0;
	/* The layers there already: the new ones are applied on (native) or
	 * fixed up against (overlay) them. */
	for (size_t i = 0; ret == 0 && i < u->first; i++) {
		const cJSON *e = snap_get(s, u->layers[i].chain);
		u->layers[i].dir = snap_dir(s, snap_entry_id(e));
	}
out:
	snap_unlock(s);
	return ret;
}

/* Make layer I's directory and apply its blob there. */
static int
unpack_layer(struct unpack *u, size_t i, ctrk_error_t *err)
{
	struct layer *l = &u->layers[i];
	const driver_t *d = &u->s->driver;
	bool layered = d->ops->apply == APPLY_WHITEOUTS_OVERLAY;
	const char *parents[1] = {i > 0 ? u->layers[i - 1].dir : NULL};
	snap_info_t info = {
		.key = l->chain,
		.kind = SNAP_ACTIVE,
		.id = l->id,
		.dir = l->dir,
		.parents = parents,
		.nparents = !layered && i > 0,
	};
	if (d->ops->prepare(d, &info, err) < 0)
		return -1;
	cleanup_free char *fs = snap_fs_dir(l->dir);
	cleanup_close int root = open(fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int blob = open(l->blob, O_RDONLY | O_CLOEXEC);
	if (root < 0)
		return ctrk_error_errno(err, "cannot open '%s'", fs);
	if (blob < 0)
		return ctrk_error_errno(err, "cannot open layer blob '%s'", l->blob);
	char diff_id[CTRK_DIGEST_LEN + 1];
	apply_stats_t stats = {0};
	if (apply_layer(root, blob, d->ops->apply, diff_id, &stats, &l->fixups, err) < 0)
		return -1;
	if (strcmp(diff_id, l->diff_id) != 0)
		return ctrk_error_set(err, 0, "the uncompressed layer is %s, the image config says %s", diff_id,
				      l->diff_id);
	info.kind = SNAP_COMMITTED;
	return d->ops->commit(d, &info, err);
}

static void
fail_once(struct unpack *u, size_t i, ctrk_error_t *err)
{
	ctrk_error_wrap(err, "layer %zu (%s)", i, u->layers[i].digest);
	pthread_mutex_lock(&u->lock);
	if (!atomic_exchange(&u->failed, true))
		u->first_err = *err;
	pthread_mutex_unlock(&u->lock);
}

static void *
worker(void *arg)
{
	struct unpack *u = arg;
	size_t i;
	while (!atomic_load(&u->failed) && (i = atomic_fetch_add(&u->next, 1)) < u->n) {
		ctrk_error_t err = {0};
		if (unpack_layer(u, i, &err) < 0)
			fail_once(u, i, &err);
	}
	return NULL;
}

/* Finish overlay layer I (apply_overlay_fixup()) over the layers below it,
 * which are finished already. */
static int
fixup_layer(struct unpack *u, size_t i, ctrk_error_t *err)
{
	struct layer *l = &u->layers[i];
	if (l->fixups.nimplicit == 0 && l->fixups.nwhiteouts == 0)
		return 0;
	int *lower = ctrk_xcalloc(i ? i : 1, sizeof *lower);
	size_t n = 0;
	int rc = -1;
	cleanup_free char *fs = snap_fs_dir(l->dir);
	int root = open(fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		ctrk_error_errno(err, "cannot open '%s'", fs);
		goto out;
	}
	for (size_t j = i; j-- > 0;) {
		cleanup_free char *lfs = snap_fs_dir(u->layers[j].dir);
		if ((lower[n] = open(lfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			ctrk_error_errno(err, "cannot open '%s'", lfs);
			goto out;
		}
		/* An opaque root hides every layer below it. */
		if (apply_root_is_opaque(lower[n++]))
			break;
	}
	rc = apply_overlay_fixup(root, lower, n, &l->fixups, err);
out:
	if (rc < 0)
		ctrk_error_wrap(err, "layer %zu (%s)", i, l->digest);
	for (size_t j = 0; j < n; j++)
		close(lower[j]);
	if (root >= 0)
		close(root);
	free(lower);
	return rc;
}

/* Overlay layers do not depend on each other: apply them in parallel, then
 * finish each over the ones below, in order. */
static int
apply_all(struct unpack *u, ctrk_error_t *err)
{
	atomic_store(&u->next, u->first);
	if (u->s->driver.ops->apply == APPLY_WHITEOUTS_OVERLAY) {
		size_t want = u->n - u->first < MAX_WORKERS ? u->n - u->first : MAX_WORKERS;
		pthread_t threads[MAX_WORKERS];
		size_t started = 0;
		for (; started < want; started++)
			if (pthread_create(&threads[started], NULL, worker, u) != 0)
				break;
		if (started == 0)
			worker(u);
		for (size_t i = 0; i < started; i++)
			pthread_join(threads[i], NULL);
	} else {
		worker(u); /* each layer is a copy of the one below: in order */
	}
	if (atomic_load(&u->failed)) {
		*err = u->first_err;
		return -1;
	}
	for (size_t i = u->first; i < u->n; i++)
		if (fixup_layer(u, i, err) < 0)
			return -1;
	return 0;
}

/* Under the lock: record the new layers, unless another unpack did. */
static int
record(struct unpack *u, ctrk_error_t *err)
{
	snap_store_t *s = u->s;
	if (snap_lock(s, true, err) < 0)
		return -1;
	int ret = -1;
	if (u->first > 0 && !snap_get(s, u->layers[u->first - 1].chain)) {
		ctrk_error_set(err, 0, "layer snapshot '%s' was removed while unpacking",
			       u->layers[u->first - 1].chain);
		goto out;
	}
	for (size_t i = u->first; i < u->n; i++) {
		struct layer *l = &u->layers[i];
		if (snap_get(s, l->chain))
			l->discard = true;
		else
			snap_add(s, l->chain, SNAP_COMMITTED, i > 0 ? u->layers[i - 1].chain : NULL, l->id);
	}
	ret = snap_save(s, err);
out:
	snap_unlock(s);
	return ret;
}

int
snap_unpack(snap_store_t *s, const cJSON *image, char **top, ctrk_error_t *err)
{
	struct unpack u = {.s = s};
	const char *ref = NULL;
	ctrk_store_t store = {0};
	bool store_open = false;
	int ret = -1;
	ctrk_json_get_string(image, "ref", false, &ref, "image", &(ctrk_error_t){0});
	if (parse_image(image, &u.layers, &u.n, err) < 0)
		goto out;
	if (ctrk_store_open(&store, s->root, err) < 0)
		goto out;
	store_open = true;
	for (size_t i = 0; i < u.n; i++) {
		u.layers[i].blob = ctrk_store_blob_path(&store, u.layers[i].digest);
		if (!ctrk_store_has_blob(&store, u.layers[i].digest, -1)) {
			ctrk_error_set(err, 0, "layer %zu (%s) is not in the store", i, u.layers[i].digest);
			goto out;
		}
	}
	if (reserve(&u, err) < 0) {
		for (size_t i = u.first; i < u.n; i++)
			if (u.layers[i].held >= 0)
				ctrk_remove_tree(u.layers[i].dir, &(ctrk_error_t){0});
		goto out;
	}
	pthread_mutex_init(&u.lock, NULL);
	if (u.first < u.n && (apply_all(&u, err) < 0 || record(&u, err) < 0)) {
		for (size_t i = u.first; i < u.n; i++)
			ctrk_remove_tree(u.layers[i].dir, &(ctrk_error_t){0});
		pthread_mutex_destroy(&u.lock);
		goto out;
	}
	pthread_mutex_destroy(&u.lock);
	for (size_t i = u.first; i < u.n; i++)
		if (u.layers[i].discard)
			ctrk_remove_tree(u.layers[i].dir, &(ctrk_error_t){0});
	*top = ctrk_xstrdup(u.layers[u.n - 1].chain);
	ret = 0;
out:
	if (ret < 0)
		ctrk_error_wrap(err, "cannot unpack '%s'", ref ? ref : "the image");
	if (store_open)
		ctrk_store_close(&store);
	free_layers(u.layers, u.n);
	return ret;
}
