#include "progress.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"

#define LABEL_MAX 24
#define REDRAW_MS 100

struct bar {
	char label[LABEL_MAX];
	char note[16];
	long long total;
	atomic_llong done;
};

struct progress {
	int nbars;
	struct bar *bars;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool started;
	bool stopping;
	bool drawn;
};

static void
human(long long n, char *out, size_t len)
{
	const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void
draw(progress_t *p)
{
	if (p->drawn)
		fprintf(stderr, "\033[%dA", p->nbars);
	for (int i = 0; i < p->nbars; i++) {
		struct bar *b = &p->bars[i];
		long long done = atomic_load(&b->done);
		char d[16], t[16], line[32];
		human(done, d, sizeof d);
		human(b->total, t, sizeof t);
		int width = 30, fill = b->total > 0 ? (int)(width * (double)done / (double)b->total) : 0;
		if (fill > width)
			fill = width;
		memset(line, '=', (size_t)fill);
		memset(line + fill, ' ', (size_t)(width - fill));
		line[width] = '\0';
		if (b->note[0])
			fprintf(stderr, "\r\033[K%-*s %s\n", LABEL_MAX - 1, b->label, b->note);
		else
			fprintf(stderr, "\r\033[K%-*s [%s] %s / %s\n", LABEL_MAX - 1, b->label, line, d, t);
	}
	fflush(stderr);
	p->drawn = true;
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
progress_start(bool enabled, int nbars)
{
	if (!enabled || nbars <= 0)
		return NULL;
	progress_t *p = ctrk_xcalloc(1, sizeof *p);
	p->nbars = nbars;
	p->bars = ctrk_xcalloc((size_t)nbars, sizeof *p->bars);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	return p;
}

void
progress_bar_init(progress_t *p, int bar, const char *label, long long total)
{
	if (!p)
		return;
	snprintf(p->bars[bar].label, LABEL_MAX, "%s", label);
	p->bars[bar].total = total;
	/* The thread starts once every bar has a label. */
	if (bar == p->nbars - 1)
		p->started = pthread_create(&p->thread, NULL, redraw_loop, p) == 0;
}

void
progress_bar_set(progress_t *p, int bar, long long done)
{
	if (p)
		atomic_store(&p->bars[bar].done, done);
}

void
progress_bar_skip(progress_t *p, int bar, const char *why)
{
	if (p) {
		pthread_mutex_lock(&p->lock);
		snprintf(p->bars[bar].note, sizeof p->bars[bar].note, "%s", why);
		pthread_mutex_unlock(&p->lock);
	}
}

void
progress_stop(progress_t *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	bool running = p->started;
	p->stopping = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	if (running)
		pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	free(p->bars);
	free(p);
}
