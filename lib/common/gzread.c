/* A possibly gzip-compressed stream, trailers checked (see gzread.h). */
#include "gzread.h"

#include <archive.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fsutil.h"

#define IN_SIZE (256 << 10)
#define OUT_SIZE (256 << 10)

enum gz_state {
	GZ_START,   /* nothing read yet */
	GZ_PLAIN,   /* not gzip: bytes pass through */
	GZ_MEMBER,  /* inside a gzip member */
	GZ_BETWEEN, /* after a member's trailer */
	GZ_END,
};

struct ctrk_gzread {
	int fd;
	enum gz_state state;
	bool in_eof;
	z_stream z;
	bool z_init;
	unsigned char *in, *out;
	size_t in_pos, in_len; /* unconsumed input: in[in_pos..in_len) */
	ctrk_error_t err;
};

ctrk_gzread_t *
ctrk_gzread_new(int fd)
{
	ctrk_gzread_t *g = ctrk_xcalloc(1, sizeof *g);
	g->fd = fd;
	g->in = ctrk_xmalloc(IN_SIZE);
	g->out = ctrk_xmalloc(OUT_SIZE);
	return g;
}

/* More input after what is unconsumed: 1, 0 at the end of FD, -1. */
static int
fill(ctrk_gzread_t *g, ctrk_error_t *err)
{
	if (g->in_eof)
		return 0;
	if (g->in_pos > 0) {
		memmove(g->in, g->in + g->in_pos, g->in_len - g->in_pos);
		g->in_len -= g->in_pos;
		g->in_pos = 0;
	}
	ssize_t n;
	do
		n = read(g->fd, g->in + g->in_len, IN_SIZE - g->in_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ctrk_error_errno(err, "cannot read");
	if (n == 0) {
		g->in_eof = true;
		return 0;
	}
	g->in_len += (size_t)n;
	return 1;
}

/* At least two unconsumed bytes, or the end. */
static int
want2(ctrk_gzread_t *g, ctrk_error_t *err)
{
	while (g->in_len - g->in_pos < 2) {
		int r = fill(g, err);
		if (r <= 0)
			return r;
	}
	return 1;
}

static bool
at_magic(const ctrk_gzread_t *g)
{
	return g->in_len - g->in_pos >= 2 && g->in[g->in_pos] == 0x1f && g->in[g->in_pos + 1] == 0x8b;
}

static int
start_member(ctrk_gzread_t *g, ctrk_error_t *err)
{
	/* 16 + 15: a gzip wrapper (header, then the CRC-32 and length
	 * checked at the end), the largest window. */
	int r = g->z_init ? inflateReset2(&g->z, 16 + 15) : inflateInit2(&g->z, 16 + 15);
	if (r != Z_OK)
		return ctrk_error_set(err, r == Z_MEM_ERROR ? ENOMEM : 0, "cannot start gzip decompression");
	g->z_init = true;
	g->state = GZ_MEMBER;
	return 0;
}

static ssize_t
next_gzip(ctrk_gzread_t *g, const void **buf, ctrk_error_t *err)
{
	for (;;) {
		if (g->state == GZ_BETWEEN) {
			int r = want2(g, err);
			if (r < 0)
				return -1;
			if (g->in_pos == g->in_len) {
				g->state = GZ_END;
				return 0;
			}
			if (!at_magic(g))
				return ctrk_error_set(err, 0, "data after the end of the gzip stream");
			if (start_member(g, err) < 0)
				return -1;
		}
		if (g->in_pos == g->in_len) {
			int r = fill(g, err);
			if (r < 0)
				return -1;
			if (r == 0)
				return ctrk_error_set(err, 0, "the gzip stream is truncated");
		}
		g->z.next_in = g->in + g->in_pos;
		g->z.avail_in = (uInt)(g->in_len - g->in_pos);
		g->z.next_out = g->out;
		g->z.avail_out = OUT_SIZE;
		int r = inflate(&g->z, Z_NO_FLUSH);
		g->in_pos = g->in_len - g->z.avail_in;
		size_t made = OUT_SIZE - g->z.avail_out;
		if (r == Z_STREAM_END)
			g->state = GZ_BETWEEN;
		else if (r == Z_MEM_ERROR)
			return ctrk_error_set(err, ENOMEM, "gzip");
		else if (r != Z_OK && r != Z_BUF_ERROR)
			/* "incorrect data check" (CRC-32), "incorrect length
			 * check", "invalid block type"... */
			return ctrk_error_set(err, 0, "invalid gzip data: %s", g->z.msg ? g->z.msg : "corrupt");
		if (made) {
			*buf = g->out;
			return (ssize_t)made;
		}
	}
}

/* The next block of the (decompressed) stream in *BUF, valid until the next
 * call: its length, 0 at the end, -1 on error. */
static ssize_t
gzread_next(ctrk_gzread_t *g, const void **buf, ctrk_error_t *err)
{
	if (g->state == GZ_START) {
		if (want2(g, err) < 0)
			return -1;
		if (at_magic(g)) {
			if (start_member(g, err) < 0)
				return -1;
		} else {
			g->state = GZ_PLAIN;
		}
	}
	if (g->state == GZ_END)
		return 0;
	if (g->state != GZ_PLAIN)
		return next_gzip(g, buf, err);
	if (g->in_pos == g->in_len) {
		g->in_pos = g->in_len = 0;
		int r = fill(g, err);
		if (r <= 0)
			return r;
	}
	*buf = g->in + g->in_pos;
	size_t n = g->in_len - g->in_pos;
	g->in_pos = g->in_len;
	return (ssize_t)n;
}

static la_ssize_t
archive_feed(struct archive *a, void *arg, const void **buf)
{
	ctrk_gzread_t *g = arg;
	ssize_t n = gzread_next(g, buf, &g->err);
	if (n < 0)
		archive_set_error(a, g->err.errnum ? g->err.errnum : -1, "%s", g->err.msg);
	return n;
}

int
ctrk_gzread_archive_open(struct archive *a, ctrk_gzread_t *g)
{
	return archive_read_open(a, g, NULL, archive_feed, NULL);
}

void
ctrk_gzread_free(ctrk_gzread_t *g)
{
	if (!g)
		return;
	if (g->z_init)
		inflateEnd(&g->z);
	free(g->in);
	free(g->out);
	free(g);
}
