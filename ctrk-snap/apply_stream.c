/* A layer's uncompressed stream on a thread of its own (see apply_stream.h). */
#include "apply_stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "gzread.h"

#define SLOTS 8
#define SLOT_SIZE (256 << 10)

struct apply_stream {
	ctrk_gzread_t *gz; /* gzip undone here, trailers checked */
	struct archive *raw;
	ctrk_hasher_t *hasher;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;
	char *slot[SLOTS];
	size_t len[SLOTS];
	/* Slots head-tail..head-1 are full; the reader holds slot tail while
	 * `holding` (its block must stay valid until its next call). */
	unsigned long head, tail;
	bool holding, eof, stop;
	ctrk_error_t err; /* set when the thread failed */
	long long bytes;
};

/* Fill slots from RAW until its end, an error or a stop. */
static void *
produce(void *arg)
{
	apply_stream_t *s = arg;
	const void *block = NULL;
	size_t left = 0; /* of BLOCK, not yet copied */
	bool end = false;
	ctrk_error_t err = {0};
	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (s->head - s->tail == SLOTS && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		bool stop = s->stop;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			return NULL;

		/* The free slot is ours alone until published. */
		char *slot = s->slot[s->head % SLOTS];
		size_t filled = 0;
		while (filled < SLOT_SIZE && !end) {
			if (left == 0) {
				size_t len;
				la_int64_t off;
				int r = archive_read_data_block(s->raw, &block, &len, &off);
				if (r == ARCHIVE_EOF) {
					end = true;
					break;
				}
				if (r < ARCHIVE_WARN) {
					const char *why = archive_error_string(s->raw);
					ctrk_error_set(&err, 0, "cannot read the layer: %s", why ? why : "unknown error");
					end = true;
					break;
				}
				ctrk_hasher_update(s->hasher, block, len);
				left = len;
			}
			size_t n = left < SLOT_SIZE - filled ? left : SLOT_SIZE - filled;
			memcpy(slot + filled, block, n);
			block = (const char *)block + n;
			left -= n;
			filled += n;
		}

		pthread_mutex_lock(&s->lock);
		if (filled) {
			s->len[s->head % SLOTS] = filled;
			s->head++;
			s->bytes += (long long)filled;
		}
		if (end) {
			s->eof = true;
			s->err = err;
		}
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		if (end)
			return NULL;
	}
}

apply_stream_t *
apply_stream_open(int layer_fd, ctrk_error_t *err)
{
	apply_stream_t *s = ctrk_xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->hasher = ctrk_hasher_new();
	s->raw = archive_read_new();
	if (!s->raw) {
		ctrk_error_set(err, ENOMEM, "cannot read the layer");
		goto fail;
	}
	/* Only built-in decompressors: none runs an external program.  gzip
	 * is undone by gzread.c, which checks what libarchive does not (the
	 * trailers); zstd checks its frames' checksums itself.  The "raw"
	 * format hands out the decompressed bytes as they are. */
	archive_read_support_filter_zstd(s->raw);
	archive_read_support_format_raw(s->raw);
	s->gz = ctrk_gzread_new(layer_fd);
	struct archive_entry *e;
	if (ctrk_gzread_archive_open(s->raw, s->gz) != ARCHIVE_OK ||
	    archive_read_next_header(s->raw, &e) != ARCHIVE_OK) {
		const char *why = archive_error_string(s->raw);
		ctrk_error_set(err, 0, "cannot read the layer: %s", why ? why : "empty");
		goto fail;
	}
	for (int i = 0; i < SLOTS; i++)
		s->slot[i] = ctrk_xmalloc(SLOT_SIZE);
	int r = pthread_create(&s->thread, NULL, produce, s);
	if (r != 0) {
		ctrk_error_set(err, r, "cannot start the layer's reader");
		goto fail;
	}
	s->started = true;
	return s;
fail:
	apply_stream_free(s);
	return NULL;
}

ssize_t
apply_stream_next(apply_stream_t *s, const void **buf, ctrk_error_t *err)
{
	pthread_mutex_lock(&s->lock);
	if (s->holding) {
		s->tail++;
		s->holding = false;
		pthread_cond_broadcast(&s->cond);
	}
	while (s->head == s->tail && !s->eof)
		pthread_cond_wait(&s->cond, &s->lock);
	ssize_t n = 0;
	if (s->head != s->tail) {
		*buf = s->slot[s->tail % SLOTS];
		n = (ssize_t)s->len[s->tail % SLOTS];
		s->holding = true;
	} else if (s->err.msg[0]) {
		*err = s->err;
		n = -1;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int
apply_stream_finish(apply_stream_t *s, char diff_id[CTRK_DIGEST_LEN + 1], long long *bytes, ctrk_error_t *err)
{
	const void *buf;
	ssize_t n;
	while ((n = apply_stream_next(s, &buf, err)) > 0)
		;
	if (n < 0)
		return -1;
	pthread_join(s->thread, NULL);
	s->started = false;
	ctrk_hasher_final(s->hasher, diff_id);
	*bytes = s->bytes;
	return 0;
}

void
apply_stream_free(apply_stream_t *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	if (s->raw)
		archive_read_free(s->raw);
	ctrk_gzread_free(s->gz);
	ctrk_hasher_free(s->hasher);
	for (int i = 0; i < SLOTS; i++)
		free(s->slot[i]);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
