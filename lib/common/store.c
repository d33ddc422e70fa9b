#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "statedir.h"

#define INDEX_MAX (64u << 20)
#define OCI_LAYOUT "{\"imageLayoutVersion\":\"1.0.0\"}"
#define EMPTY_INDEX "{\"schemaVersion\":2,\"manifests\":[]}"
#define READ_CHUNK (1u << 20)
/* Start writeback every so many bytes, so the fsync at the end finds
 * little left to write: disk and network then work at the same time. */
#define WRITEBACK_CHUNK (8ll << 20)
/* Blobs this large are hashed by a second thread that reads back from the
 * page cache behind the writer: receiving and hashing then take
 * max(receive, hash) instead of their sum. */
#define BACKGROUND_HASH_MIN (16ll << 20)

static int
write_if_missing(const char *path, const char *text, ctrk_error_t *err)
{
	if (ctrk_path_exists(path))
		return 0;
	return ctrk_write_file_atomic(path, text, strlen(text), 0600, err);
}

int
ctrk_store_open(ctrk_store_t *s, const char *root, ctrk_error_t *err)
{
	memset(s, 0, sizeof *s);
	s->root = ctrk_xstrdup(root ? root : ctrk_default_root());
	s->content = ctrk_strdup_printf("%s/content", s->root);
	s->ingest = ctrk_strdup_printf("%s/ingest", s->root);

	cleanup_free char *layout = ctrk_strdup_printf("%s/oci-layout", s->content);
	cleanup_free char *index = ctrk_strdup_printf("%s/index.json", s->content);
	if (ctrk_private_dir(s->root, "content/blobs/sha256", err) < 0 ||
	    ctrk_private_dir(s->root, "ingest", err) < 0 ||
	    write_if_missing(layout, OCI_LAYOUT, err) < 0 || write_if_missing(index, EMPTY_INDEX, err) < 0) {
		ctrk_error_wrap(err, "opening the store at '%s'", s->root);
		ctrk_store_close(s);
		return -1;
	}
	/* Descriptors carry the root to other tools: make it absolute. */
	char *abs = realpath(s->root, NULL);
	if (abs) {
		free(s->root);
		free(s->content);
		free(s->ingest);
		s->root = abs;
		s->content = ctrk_strdup_printf("%s/content", s->root);
		s->ingest = ctrk_strdup_printf("%s/ingest", s->root);
	}
	return 0;
}

void
ctrk_store_close(ctrk_store_t *s)
{
	free(s->root);
	free(s->content);
	free(s->ingest);
	memset(s, 0, sizeof *s);
}

char *
ctrk_store_blob_path(const ctrk_store_t *s, const char *digest)
{
	return ctrk_strdup_printf("%s/blobs/sha256/%s", s->content, ctrk_digest_hex(digest));
}

bool
ctrk_store_has_blob(const ctrk_store_t *s, const char *digest, long long size)
{
	cleanup_free char *path = ctrk_store_blob_path(s, digest);
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	return size < 0 || st.st_size == size;
}

enum blob_state {
	BLOB_ABSENT,
	BLOB_GOOD,
	BLOB_BAD, /* wrong content or size, or not a regular file */
};

/* Does PATH hold exactly blob DIGEST (of SIZE bytes, unless SIZE < 0)?  The
 * whole file is hashed: a blob that an earlier run left, in the store or
 * waiting in the ingest area, is never trusted by its name and size (a
 * crash, a full disk or a hand can have changed its bytes).  Opened without
 * following a symlink or blocking on a fifo.  *ST, if not NULL, gets what
 * was hashed, so that a bad file is removed only if the path still names it. */
static enum blob_state
blob_state(const char *path, const char *digest, long long size, struct stat *st)
{
	struct stat ignored;
	if (!st)
		st = &ignored;
	cleanup_close int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? BLOB_ABSENT : BLOB_BAD;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || (size >= 0 && st->st_size != size))
		return BLOB_BAD;
	cleanup_free char *buf = ctrk_xmalloc(READ_CHUNK);
	ctrk_hasher_t *h = ctrk_hasher_new();
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, READ_CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0) {
				ctrk_hasher_free(h);
				return BLOB_BAD;
			}
			break;
		}
		ctrk_hasher_update(h, buf, (size_t)n);
		off += n;
	}
	char got[CTRK_DIGEST_LEN + 1];
	ctrk_hasher_final(h, got);
	ctrk_hasher_free(h);
	return off == st->st_size && strcmp(got, digest) == 0 ? BLOB_GOOD : BLOB_BAD;
}

/* Remove the bad file PATH that blob_state() saw as *ST, unless something
 * else was renamed there since. */
static void
remove_bad(const char *path, const struct stat *st)
{
	struct stat now;
	if (lstat(path, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino)
		unlink(path);
}

/* Read PATH, blob DIGEST in the store's AREA, whole (at most MAX bytes),
 * and hand it out only when it hashes to DIGEST. */
static int
read_checked(const char *path, const char *digest, const char *area, size_t max, char **buf, size_t *len,
	     ctrk_error_t *err)
{
	cleanup_free char *data = NULL;
	size_t n = 0;
	if (ctrk_read_file(path, max, &data, &n, err) < 0)
		return ctrk_error_wrap(err, "reading blob %s", digest);
	char got[CTRK_DIGEST_LEN + 1];
	ctrk_digest_bytes(data, n, got);
	if (strcmp(got, digest) != 0)
		return ctrk_error_set(err, 0, "blob %s in the %s is corrupt: its content hashes to %s", digest, area,
				      got);
	*buf = steal_pointer(&data);
	*len = n;
	return 0;
}

int
ctrk_store_read_blob(const ctrk_store_t *s, const char *digest, size_t max, char **buf, size_t *len,
		     ctrk_error_t *err)
{
	if (ctrk_digest_validate(digest, err) < 0)
		return -1;
	cleanup_free char *path = ctrk_store_blob_path(s, digest);
	return read_checked(path, digest, "store", max, buf, len, err);
}

int
ctrk_store_write_blob(const ctrk_store_t *s, const char *digest, const void *data, size_t len,
		      ctrk_error_t *err)
{
	char got[CTRK_DIGEST_LEN + 1];
	ctrk_digest_bytes(data, len, got);
	if (digest && strcmp(got, digest) != 0)
		return ctrk_error_set(err, 0, "digest mismatch: expected %s, content hashes to %s", digest, got);
	cleanup_free char *path = ctrk_store_blob_path(s, got);
	/* A corrupt copy is replaced: the rename below goes over it. */
	if (blob_state(path, got, (long long)len, NULL) == BLOB_GOOD)
		return 0;
	return ctrk_write_file_atomic_in(s->ingest, path, data, len, 0600, err);
}

static char *
verified_path(const ctrk_store_t *s, const char *digest)
{
	return ctrk_strdup_printf("%s/sha256-%s.verified", s->ingest, ctrk_digest_hex(digest));
}

struct ingest_hashing {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t more;
	int fd;
	ctrk_hasher_t *hasher;
	long long written, hashed; /* under lock */
	bool drain;                /* hash what is written, then end */
	bool abandon;              /* end now */
	int error;
};

static void *
hash_behind(void *arg)
{
	struct ingest_hashing *h = arg;
	char *buf = ctrk_xmalloc(READ_CHUNK);
	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (h->hashed == h->written && !h->drain && !h->abandon)
			pthread_cond_wait(&h->more, &h->lock);
		if (h->abandon || (h->drain && h->hashed == h->written))
			break;
		long long from = h->hashed, to = h->written;
		pthread_mutex_unlock(&h->lock);
		int error = 0;
		while (from < to && !error) {
			size_t want = to - from < READ_CHUNK ? (size_t)(to - from) : READ_CHUNK;
			ssize_t n = pread(h->fd, buf, want, from);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				error = n < 0 ? errno : EIO;
				break;
			}
			ctrk_hasher_update(h->hasher, buf, (size_t)n);
			from += n;
		}
		pthread_mutex_lock(&h->lock);
		h->hashed = from;
		if (error) {
			h->error = error;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	free(buf);
	return NULL;
}

static void
background_start(ctrk_ingest_t *in)
{
	if (in->size < BACKGROUND_HASH_MIN)
		return;
	struct ingest_hashing *h = ctrk_xcalloc(1, sizeof *h);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->more, NULL);
	h->fd = in->fd;
	h->hasher = in->hasher;
	h->written = h->hashed = in->offset;
	if (pthread_create(&h->thread, NULL, hash_behind, h) != 0) {
		free(h); /* hash in line instead */
		return;
	}
	in->background = h;
}

static void
background_wrote(ctrk_ingest_t *in)
{
	struct ingest_hashing *h = in->background;
	pthread_mutex_lock(&h->lock);
	h->written = in->offset;
	pthread_cond_signal(&h->more);
	pthread_mutex_unlock(&h->lock);
}

/* Stop the thread: after it hashed everything (DRAIN) or at once.  Returns
 * the errno of a failed read-back, or 0. */
static int
background_stop(ctrk_ingest_t *in, bool drain)
{
	struct ingest_hashing *h = in->background;
	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	if (drain)
		h->drain = true;
	else
		h->abandon = true;
	pthread_cond_signal(&h->more);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	int error = h->error;
	if (drain && !error && h->hashed != in->offset)
		error = EIO;
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->more);
	free(h);
	in->background = NULL;
	return error;
}

/* Hash what an interrupted transfer left, so that the transfer can resume. */
static int
ingest_rehash(ctrk_ingest_t *in, ctrk_error_t *err)
{
	struct stat st;
	if (fstat(in->fd, &st) < 0)
		return ctrk_error_errno(err, "stat '%s'", in->path);
	if (!S_ISREG(st.st_mode))
		return ctrk_error_set(err, 0, "'%s' is not a regular file", in->path);
	if (in->size >= 0 && st.st_size > in->size)
		return ctrk_ingest_restart(in, err);
	cleanup_free char *buf = ctrk_xmalloc(READ_CHUNK);
	long long done = 0;
	while (done < st.st_size) {
		ssize_t n = pread(in->fd, buf, READ_CHUNK, done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ctrk_error_errno(err, "read '%s'", in->path);
		if (n == 0)
			break;
		ctrk_hasher_update(in->hasher, buf, (size_t)n);
		done += n;
	}
	in->offset = done;
	in->flushed = done;
	in->resumed = done > 0;
	if (lseek(in->fd, done, SEEK_SET) < 0)
		return ctrk_error_errno(err, "seek '%s'", in->path);
	return 0;
}

/* Under the ingest's lock: is the blob there already, in the store or
 * verified in the ingest area?  What is there but wrong is removed, so that
 * the transfer replaces it.  No other process writes the verified file
 * while we hold the lock, so removing a bad one is safe. */
static bool
ingest_settled(ctrk_ingest_t *in)
{
	struct stat st;
	cleanup_free char *blob = ctrk_store_blob_path(in->store, in->digest);
	enum blob_state state = blob_state(blob, in->digest, in->size, &st);
	if (state == BLOB_GOOD)
		return true;
	if (state == BLOB_BAD)
		remove_bad(blob, &st);
	cleanup_free char *verified = verified_path(in->store, in->digest);
	state = blob_state(verified, in->digest, in->size, &st);
	if (state == BLOB_GOOD)
		return true;
	if (state == BLOB_BAD)
		remove_bad(verified, &st);
	return false;
}

int
ctrk_ingest_open(ctrk_ingest_t *in, const ctrk_store_t *s, const char *digest, long long size,
		 ctrk_error_t *err)
{
	memset(in, 0, sizeof *in);
	in->fd = -1;
	if (ctrk_digest_validate(digest, err) < 0)
		return -1;
	/* The common case, an image pulled again: no lock, no partial file. */
	cleanup_free char *blob = ctrk_store_blob_path(s, digest);
	if (blob_state(blob, digest, size, NULL) == BLOB_GOOD)
		return 1;

	in->store = s;
	in->size = size;
	snprintf(in->digest, sizeof in->digest, "%s", digest);
	in->path = ctrk_strdup_printf("%s/sha256-%s", s->ingest, ctrk_digest_hex(digest));

	/* Another process may hold the lock and then rename the file into the
	 * store: after waiting, make sure the path still names what we locked. */
	for (;;) {
		int fd = open(in->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
		if (fd < 0) {
			ctrk_error_errno(err, "open '%s'", in->path);
			goto fail;
		}
		if (flock(fd, LOCK_EX) < 0) {
			ctrk_error_errno(err, "lock '%s'", in->path);
			close(fd);
			goto fail;
		}
		struct stat by_fd, by_path;
		if (fstat(fd, &by_fd) == 0 && stat(in->path, &by_path) == 0 && by_fd.st_ino == by_path.st_ino &&
		    by_fd.st_dev == by_path.st_dev) {
			in->fd = fd;
			break;
		}
		close(fd);
	}
	if (ingest_settled(in)) {
		ctrk_ingest_discard(in);
		return 1;
	}
	in->hasher = ctrk_hasher_new();
	if (ingest_rehash(in, err) < 0) {
		ctrk_ingest_close(in);
		return -1;
	}
	background_start(in);
	return 0;
fail:
	free(in->path);
	in->path = NULL;
	return -1;
}

int
ctrk_ingest_write(ctrk_ingest_t *in, const void *data, size_t len, ctrk_error_t *err)
{
	if (in->size >= 0 && in->offset + (long long)len > in->size)
		return ctrk_error_set(err, 0, "blob %s is longer than the %lld bytes its descriptor says",
				      in->digest, in->size);
	if (ctrk_write_all(in->fd, data, len, err) < 0)
		return ctrk_error_wrap(err, "writing '%s'", in->path);
	if (!in->background)
		ctrk_hasher_update(in->hasher, data, len);
	in->offset += (long long)len;
	if (in->background)
		background_wrote(in);
	if (in->offset - in->flushed >= WRITEBACK_CHUNK) {
		sync_file_range(in->fd, in->flushed, in->offset - in->flushed, SYNC_FILE_RANGE_WRITE);
		in->flushed = in->offset;
	}
	return 0;
}

int
ctrk_ingest_restart(ctrk_ingest_t *in, ctrk_error_t *err)
{
	bool background = in->background != NULL;
	background_stop(in, false);
	if (ftruncate(in->fd, 0) < 0 || lseek(in->fd, 0, SEEK_SET) < 0)
		return ctrk_error_errno(err, "truncate '%s'", in->path);
	char scratch[CTRK_DIGEST_LEN + 1];
	ctrk_hasher_final(in->hasher, scratch); /* resets the hasher */
	in->offset = 0;
	in->flushed = 0;
	in->resumed = false;
	if (background)
		background_start(in);
	return 0;
}

int
ctrk_ingest_finish(ctrk_ingest_t *in, ctrk_error_t *err)
{
	if (in->size >= 0 && in->offset != in->size) {
		ctrk_error_set(err, 0, "blob %s is %lld bytes, its descriptor says %lld", in->digest, in->offset,
			       in->size);
		ctrk_ingest_discard(in);
		return -1;
	}
	int error = background_stop(in, true);
	if (error) {
		ctrk_error_set(err, error, "reading back '%s'", in->path);
		ctrk_ingest_close(in);
		return -1;
	}
	char got[CTRK_DIGEST_LEN + 1];
	ctrk_hasher_final(in->hasher, got);
	if (strcmp(got, in->digest) != 0) {
		ctrk_error_set(err, 0, "blob %s failed verification: its content hashes to %s", in->digest, got);
		ctrk_ingest_discard(in);
		return -1;
	}
	cleanup_free char *dest = verified_path(in->store, in->digest);
	if (fsync(in->fd) < 0 || fchmod(in->fd, 0600) < 0) {
		ctrk_error_errno(err, "sync '%s'", in->path);
		ctrk_ingest_close(in);
		return -1;
	}
	/* Renamed while still locked: a waiter then finds it verified. */
	if (rename(in->path, dest) < 0) {
		ctrk_error_errno(err, "rename '%s' to '%s'", in->path, dest);
		ctrk_ingest_close(in);
		return -1;
	}
	ctrk_ingest_close(in);
	return 0;
}

int
ctrk_store_read_pending(const ctrk_store_t *s, const char *digest, size_t max, char **buf, size_t *len,
			ctrk_error_t *err)
{
	if (ctrk_store_has_blob(s, digest, -1))
		return ctrk_store_read_blob(s, digest, max, buf, len, err);
	cleanup_free char *path = verified_path(s, digest);
	return read_checked(path, digest, "ingest area", max, buf, len, err);
}

int
ctrk_store_commit_blob(const ctrk_store_t *s, const char *digest, ctrk_error_t *err)
{
	cleanup_free char *from = verified_path(s, digest);
	cleanup_free char *to = ctrk_store_blob_path(s, digest);
	/* Never over a blob in the store: ctrk_ingest_open() checked it good (or
	 * removed it), and a verified file left by an earlier run must not
	 * replace it unchecked. */
	int rc = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
	if (rc < 0 && (errno == EINVAL || errno == ENOSYS)) {
		/* A file system without RENAME_NOREPLACE: link(2) never replaces. */
		rc = link(from, to);
		if (rc == 0)
			unlink(from);
	}
	if (rc == 0)
		return 0;
	if (errno == EEXIST) {
		/* Rare (another pull committed it first, or a stale verified
		 * file): worth hashing both, so that neither a bad blob that
		 * appeared since ctrk_ingest_open() nor a bad verified file
		 * survives. */
		if (blob_state(to, digest, -1, NULL) == BLOB_GOOD) {
			unlink(from);
			return 0;
		}
		if (blob_state(from, digest, -1, NULL) != BLOB_GOOD) {
			unlink(from);
			return ctrk_error_set(err, 0,
					      "commit blob %s: neither the store's copy nor the verified one is intact",
					      digest);
		}
		if (rename(from, to) == 0)
			return 0;
	}
	/* A concurrent transfer of the same blob may have moved it first. */
	if (errno == ENOENT && ctrk_store_has_blob(s, digest, -1))
		return 0;
	return ctrk_error_errno(err, "commit blob %s", digest);
}

int
ctrk_store_adopt_file(const ctrk_store_t *s, const char *tmp_path, const char *digest, ctrk_error_t *err)
{
	if (ctrk_digest_validate(digest, err) < 0)
		return -1;
	cleanup_free char *to = ctrk_store_blob_path(s, digest);
	/* A corrupt copy in the store is replaced by the rename below. */
	if (blob_state(to, digest, -1, NULL) == BLOB_GOOD) {
		unlink(tmp_path);
		return 0;
	}
	cleanup_close int fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0600) < 0 || fsync(fd) < 0)
		return ctrk_error_errno(err, "sync '%s'", tmp_path);
	if (rename(tmp_path, to) < 0)
		return ctrk_error_errno(err, "rename '%s' to '%s'", tmp_path, to);
	return 0;
}

int
ctrk_store_sync(const ctrk_store_t *s, ctrk_error_t *err)
{
	cleanup_free char *dir = ctrk_strdup_printf("%s/blobs/sha256", s->content);
	return ctrk_fsync_dir(dir, err);
}

void
ctrk_ingest_close(ctrk_ingest_t *in)
{
	background_stop(in, false);
	if (in->fd >= 0)
		close(in->fd); /* drops the flock */
	in->fd = -1;
	ctrk_hasher_free(in->hasher);
	in->hasher = NULL;
	free(in->path);
	in->path = NULL;
}

void
ctrk_ingest_discard(ctrk_ingest_t *in)
{
	/* Unlink while still holding the lock so no waiter resumes bad bytes. */
	if (in->path)
		unlink(in->path);
	in->discarded = true;
	ctrk_ingest_close(in);
}

static bool
entry_has_name(const cJSON *entry, const char *name)
{
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(entry, "annotations");
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(ann, CTRK_ANNOTATION_REF_NAME);
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(ann, CTRK_ANNOTATION_SOURCE);
	return (cJSON_IsString(ref) && strcmp(ref->valuestring, name) == 0) ||
	       (cJSON_IsString(src) && strcmp(src->valuestring, name) == 0);
}

static cJSON *
read_index(const ctrk_store_t *s, ctrk_error_t *err)
{
	cleanup_free char *path = ctrk_strdup_printf("%s/index.json", s->content);
	cJSON *index = ctrk_json_read_file(path, INDEX_MAX, err);
	if (!index)
		return NULL;
	cJSON *manifests = cJSON_GetObjectItemCaseSensitive(index, "manifests");
	if (!cJSON_IsObject(index) || (manifests && !cJSON_IsArray(manifests))) {
		cJSON_Delete(index);
		ctrk_error_set(err, 0, "'%s' is not an OCI image index", path);
		return NULL;
	}
	if (!manifests)
		cJSON_AddItemToObject(index, "manifests", cJSON_CreateArray());
	return index;
}

int
ctrk_store_set_ref(const ctrk_store_t *s, const char *name, const cJSON *desc, const cJSON *annotations,
		   ctrk_error_t *err)
{
	/* flock on the layout directory itself: no lock file in the layout. */
	cleanup_close int dirfd = open(s->content, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || flock(dirfd, LOCK_EX) < 0)
		return ctrk_error_errno(err, "lock '%s'", s->content);

	cleanup_json cJSON *index = read_index(s, err);
	if (!index)
		return -1;
	cJSON *manifests = cJSON_GetObjectItemCaseSensitive(index, "manifests");
	for (int i = cJSON_GetArraySize(manifests) - 1; i >= 0; i--) {
		if (entry_has_name(cJSON_GetArrayItem(manifests, i), name))
			cJSON_DeleteItemFromArray(manifests, i);
	}

	cJSON *entry = cJSON_Duplicate(desc, true);
	cJSON *ann = cJSON_GetObjectItemCaseSensitive(entry, "annotations");
	if (!ann)
		ann = cJSON_AddObjectToObject(entry, "annotations");
	const cJSON *a;
	cJSON_ArrayForEach(a, annotations) ctrk_json_set(ann, a->string, cJSON_Duplicate(a, true));
	ctrk_json_set(ann, CTRK_ANNOTATION_REF_NAME, cJSON_CreateString(name));
	cJSON_AddItemToArray(manifests, entry);

	cleanup_free char *text = ctrk_json_render(index, false);
	cleanup_free char *path = ctrk_strdup_printf("%s/index.json", s->content);
	if (ctrk_write_file_atomic_in(s->ingest, path, text, strlen(text), 0600, err) < 0)
		return ctrk_error_wrap(err, "updating '%s'", path);
	return 0;
}

cJSON *
ctrk_store_get_ref(const ctrk_store_t *s, const char *name, ctrk_error_t *err)
{
	cleanup_json cJSON *index = read_index(s, err);
	if (!index)
		return NULL;
	const cJSON *entry;
	cJSON_ArrayForEach(entry, cJSON_GetObjectItemCaseSensitive(index, "manifests"))
	{
		if (entry_has_name(entry, name))
			return cJSON_Duplicate(entry, true);
	}
	ctrk_error_set(err, ENOENT, "no image '%s' in the store", name);
	return NULL;
}
