#include "progress.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"

#define LABEL_MAX 32
#define LINE_COLS 200 /* no line is longer, however wide the terminal */
#define REDRAW_MS 100
#define BAR_MIN 12
#define BAR_MAX 32

enum bar_state { BAR_WAITING, BAR_ACTIVE, BAR_DONE, BAR_EXISTS };

struct bar {
	char label[LABEL_MAX];
	long long total;
	long long start; /* bytes there when the transfer began (a resume) */
	double t0;       /* when it began */
	enum bar_state state;
	atomic_llong done;
};

struct progress {
	double t0;
	int blobs, existing; /* of the whole pull, for the summary */
	long long fetched;
	/* The current group of bars. */
	int nbars;
	struct bar *bars;
	int drawn; /* lines the last frame drew: the cursor goes up as many */
	int made;  /* lines the group has taken on the terminal so far */
	char *frame;
	size_t frame_len, frame_cap;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool running;
	bool stopping;
};

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The terminal's size, read again for every frame: a resized window gets
 * lines that fit it from the next frame on, with no signal handler. */
static void
term_size(int *cols, int *rows)
{
	struct winsize ws;
	*cols = 80;
	*rows = 24;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0) {
		if (ws.ws_col > 0)
			*cols = ws.ws_col;
		if (ws.ws_row > 0)
			*rows = ws.ws_row;
	}
}

/* Columns a line may use: one less than the terminal has, so that no
 * terminal wraps it (writing the last column leaves some of them in a
 * pending wrap that the next character completes). */
static int
usable_cols(int cols)
{
	cols--;
	return cols < 1 ? 1 : cols > LINE_COLS ? LINE_COLS : cols;
}

static void
human(double n, char *out, size_t len)
{
	const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;
	while (n >= 1024 && u < 4) {
		n /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", n, units[u]);
}

/* A rate, in 3 or 4 digits: "9.5 MiB/s", "195 KiB/s". */
static void
human_rate(double n, char *out, size_t len)
{
	const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;
	while (n >= 1024 && u < 4) {
		n /= 1024;
		u++;
	}
	snprintf(out, len, u && n < 10 ? "%.1f %s/s" : "%.0f %s/s", n, units[u]);
}

static void
duration(double s, char *out, size_t len)
{
	int t = s > 359999 ? 359999 : (int)(s + 0.5);
	if (t >= 3600)
		snprintf(out, len, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(out, len, "%d:%02d", t / 60, t % 60);
}

/* fits(OUT, COLS, FMT, ...): formats into OUT (LINE_COLS + 1 bytes); true
 * if the result is at most COLS columns (everything here is ASCII). */
__attribute__((format(printf, 3, 4))) static bool
fits(char *out, int cols, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, LINE_COLS + 1, fmt, ap);
	va_end(ap);
	return n >= 0 && n <= cols;
}

/* The label cut to its kind and 7 hex digits ("layer 0123456"). */
static void
short_label(const char *label, char *out, size_t len)
{
	const char *sp = strchr(label, ' ');
	int n = sp ? (int)(sp - label) + 1 + 7 : 14;
	snprintf(out, len, "%.*s", n, label);
}

/* One bar's line, COLS columns at most. Richest first; what does not fit
 * goes: the bar, then the sizes (for a percentage), the label's length,
 * the rate; then the line is cut. */
static void
render_bar(const struct bar *b, int label_w, int short_w, double now, int cols, char *out)
{
	long long done = atomic_load(&b->done);
	char d[16], t[16], r[24], e[40], sl[LABEL_MAX], bar[BAR_MAX + 1];
	human((double)done, d, sizeof d);
	human((double)b->total, t, sizeof t);
	short_label(b->label, sl, sizeof sl);
	const char *l = b->label;
	int lw = label_w, sw = short_w;

	switch (b->state) {
	case BAR_WAITING:
		if (!fits(out, cols, "%-*s waiting, %s", lw, l, t))
			fits(out, cols, "%-*s waiting", sw, sl);
		break;
	case BAR_EXISTS:
		if (!fits(out, cols, "%-*s in the store, %s", lw, l, t))
			fits(out, cols, "%-*s exists", sw, sl);
		break;
	case BAR_DONE:
		if (!fits(out, cols, "%-*s done, %s", lw, l, t))
			fits(out, cols, "%-*s done", sw, sl);
		break;
	case BAR_ACTIVE: {
		double el = now - b->t0, rate = el >= 0.2 ? (double)(done - b->start) / el : 0;
		int pct = b->total > 0 ? (int)(100.0 * (double)done / (double)b->total) : 0;
		if (rate > 0) {
			human_rate(rate, r, sizeof r);
			char left[32];
			duration((double)(b->total - done) / rate, left, sizeof left);
			snprintf(e, sizeof e, "eta %s", left);
		} else {
			snprintf(r, sizeof r, "-- B/s");
			snprintf(e, sizeof e, "eta --");
		}
		pct = pct > 100 ? 100 : pct;
		/* The bar takes what the text leaves, BAR_MIN to BAR_MAX columns. */
		int text = snprintf(NULL, 0, "%-*s  %s / %s %s %s", lw, l, d, t, r, e);
		int bw = cols - text - 1;
		if (bw >= BAR_MIN) {
			bw = bw > BAR_MAX ? BAR_MAX : bw;
			int inner = bw - 2, fill = inner * pct / 100;
			memset(bar + 1, '=', (size_t)fill);
			memset(bar + 1 + fill, ' ', (size_t)(inner - fill));
			if (fill < inner && fill > 0)
				bar[fill] = '>';
			bar[0] = '[';
			bar[bw - 1] = ']';
			bar[bw] = '\0';
			if (fits(out, cols, "%-*s %s %s / %s %s %s", lw, l, bar, d, t, r, e))
				break;
		}
		if (fits(out, cols, "%-*s %s / %s %s %s", lw, l, d, t, r, e) ||
		    fits(out, cols, "%-*s %3d%% %s %s", sw, sl, pct, r, e) || fits(out, cols, "%-*s %3d%% %s", sw, sl, pct, e))
			break;
		fits(out, cols, "%-*s %3d%%", sw, sl, pct);
		break;
	}
	}
	out[cols] = '\0'; /* what still does not fit is cut */
}

static void
frame_add(progress_t *p, const char *s)
{
	size_t n = strlen(s);
	if (p->frame_len + n + 1 > p->frame_cap) {
		p->frame_cap = (p->frame_len + n + 1) * 2;
		p->frame = ctrk_xrealloc(p->frame, p->frame_cap);
	}
	memcpy(p->frame + p->frame_len, s, n + 1);
	p->frame_len += n;
}

/* Which bars a frame shows when the terminal has fewer rows than the group
 * has bars (a line above the screen cannot be redrawn): the ones being
 * transferred, then the waiting ones, then the finished ones, in their
 * order, and one line counting the rest. Fills SHOW; returns how many. */
static int
pick_bars(const progress_t *p, int lines, int *show)
{
	static const enum bar_state order[] = {BAR_ACTIVE, BAR_WAITING, BAR_DONE, BAR_EXISTS};
	int n = 0;
	if (lines >= p->nbars) {
		for (int i = 0; i < p->nbars; i++)
			show[n++] = i;
		return n;
	}
	bool *taken = ctrk_xcalloc((size_t)p->nbars, sizeof *taken);
	for (size_t o = 0; o < sizeof order / sizeof *order; o++)
		for (int i = 0; i < p->nbars && n < lines - 1; i++)
			if (!taken[i] && p->bars[i].state == order[o])
				taken[i] = true, n++;
	n = 0;
	for (int i = 0; i < p->nbars; i++)
		if (taken[i])
			show[n++] = i;
	free(taken);
	return n;
}

/* next_line: to the start of the frame's next line. Down a line that the
 * group already has with the cursor (ESC [ B, which never scrolls, and \r:
 * whatever is printed after the last frame starts in the first column); a
 * new line with "\n". So the output takes one line per bar however many
 * frames are drawn, and the scrollback keeps none of them. */
static void
next_line(progress_t *p, int row)
{
	if (row + 1 <= p->made) {
		frame_add(p, "\r\033[B");
	} else {
		frame_add(p, "\n");
		p->made = row + 1;
	}
}

/* One frame, written at once: up to the group's first line, each line
 * drawn over the old one, cut to the terminal's width, and whatever the
 * last frame had below erased. */
static void
draw(progress_t *p)
{
	int cols, rows;
	term_size(&cols, &rows);
	cols = usable_cols(cols);
	int lines = p->nbars < rows - 2 ? p->nbars : rows - 2 < 1 ? 1 : rows - 2;
	double now = now_s();
	int label_w = 0, short_w = 0;
	for (int i = 0; i < p->nbars; i++) {
		char sl[LABEL_MAX];
		short_label(p->bars[i].label, sl, sizeof sl);
		int n = (int)strlen(p->bars[i].label), s = (int)strlen(sl);
		label_w = n > label_w ? n : label_w;
		short_w = s > short_w ? s : short_w;
	}

	char esc[32], line[LINE_COLS + 1];
	p->frame_len = 0;
	frame_add(p, "");
	if (p->drawn > 0) {
		snprintf(esc, sizeof esc, "\033[%dA", p->drawn);
		frame_add(p, esc);
	}
	int *show = ctrk_xcalloc((size_t)p->nbars, sizeof *show);
	int n = pick_bars(p, lines, show);
	for (int i = 0; i < n; i++) {
		render_bar(&p->bars[show[i]], label_w, short_w, now, cols, line);
		frame_add(p, "\r\033[K");
		frame_add(p, line);
		next_line(p, i);
	}
	if (n < p->nbars) {
		int finished = 0;
		for (int i = 0; i < p->nbars; i++)
			finished += p->bars[i].state == BAR_DONE || p->bars[i].state == BAR_EXISTS;
		fits(line, cols, "... %d more, %d of %d finished", p->nbars - n, finished, p->nbars);
		line[cols] = '\0';
		frame_add(p, "\r\033[K");
		frame_add(p, line);
		next_line(p, n);
		n++;
	}
	free(show);
	frame_add(p, "\033[J");
	fwrite(p->frame, 1, p->frame_len, stderr);
	fflush(stderr);
	p->drawn = n;
}

static void *
redraw_loop(void *arg)
{
	progress_t *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		draw(p);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += REDRAW_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->wake, &p->lock, &until);
	}
	draw(p);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

progress_t *
progress_new(bool enabled)
{
	if (!enabled)
		return NULL;
	progress_t *p = ctrk_xcalloc(1, sizeof *p);
	p->t0 = now_s();
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	return p;
}

void
progress_begin(progress_t *p, int nbars)
{
	if (!p || nbars <= 0)
		return;
	progress_end(p);
	p->nbars = nbars;
	p->bars = ctrk_xcalloc((size_t)nbars, sizeof *p->bars);
	p->blobs += nbars;
	p->drawn = 0;
	p->made = 0;
}

void
progress_bar_init(progress_t *p, int bar, const char *label, long long total)
{
	if (!p || bar < 0 || bar >= p->nbars)
		return;
	snprintf(p->bars[bar].label, LABEL_MAX, "%s", label);
	p->bars[bar].total = total;
	/* The thread starts once every bar has a label. */
	if (bar == p->nbars - 1) {
		p->stopping = false;
		p->running = pthread_create(&p->thread, NULL, redraw_loop, p) == 0;
	}
}

void
progress_bar_start(progress_t *p, int bar, long long offset)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	struct bar *b = &p->bars[bar];
	b->start = offset;
	b->t0 = now_s();
	atomic_store(&b->done, offset);
	b->state = BAR_ACTIVE;
	pthread_mutex_unlock(&p->lock);
}

void
progress_bar_set(progress_t *p, int bar, long long done)
{
	if (p)
		atomic_store(&p->bars[bar].done, done);
}

void
progress_bar_done(progress_t *p, int bar)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	struct bar *b = &p->bars[bar];
	p->fetched += b->total - b->start;
	atomic_store(&b->done, b->total);
	b->state = BAR_DONE;
	pthread_mutex_unlock(&p->lock);
}

void
progress_bar_exists(progress_t *p, int bar)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->bars[bar].state = BAR_EXISTS;
	p->existing++;
	pthread_mutex_unlock(&p->lock);
}

void
progress_end(progress_t *p)
{
	if (!p || !p->bars)
		return;
	pthread_mutex_lock(&p->lock);
	bool running = p->running;
	p->stopping = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	if (running)
		pthread_join(p->thread, NULL);
	p->running = false;
	free(p->bars);
	p->bars = NULL;
	p->nbars = 0;
}

/* WHAT with anything that is not printable ASCII replaced: a file name
 * must not send escape sequences to the terminal. */
static void
printable(const char *what, char *out, size_t len)
{
	size_t i = 0;
	for (; what[i] && i + 1 < len; i++)
		out[i] = what[i] >= 0x20 && what[i] < 0x7f ? what[i] : '?';
	out[i] = '\0';
}

void
progress_summary(progress_t *p, const char *what)
{
	if (!p)
		return;
	progress_end(p);
	int cols, rows;
	term_size(&cols, &rows);
	cols = usable_cols(cols);
	double el = now_s() - p->t0;
	char ref[LINE_COLS + 1], blobs[64], size[16], rate[24], line[LINE_COLS + 1];
	printable(what, ref, sizeof ref);
	if (p->existing)
		snprintf(blobs, sizeof blobs, "%d blob%s (%d in the store)", p->blobs, p->blobs == 1 ? "" : "s", p->existing);
	else
		snprintf(blobs, sizeof blobs, "%d blob%s", p->blobs, p->blobs == 1 ? "" : "s");
	human((double)p->fetched, size, sizeof size);
	human_rate(el > 0 ? (double)p->fetched / el : 0, rate, sizeof rate);
	if (!fits(line, cols, "pulled %s: %s, %s in %.1f s (%s)", ref, blobs, size, el, rate) &&
	    !fits(line, cols, "pulled %s: %s, %s in %.1f s", ref, blobs, size, el) &&
	    !fits(line, cols, "pulled %s, %s in %.1f s (%s)", blobs, size, el, rate))
		fits(line, cols, "pulled %s, %s in %.1f s", blobs, size, el);
	line[cols] = '\0';
	fprintf(stderr, "\r\033[K%s\n", line);
	fflush(stderr);
}

void
progress_free(progress_t *p)
{
	if (!p)
		return;
	progress_end(p);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	free(p->frame);
	free(p);
}
