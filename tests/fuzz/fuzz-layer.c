/* libFuzzer target: layer apply, the code that writes what a stranger's tar
 * says into a directory as root.  Whatever the bytes (a tar, maybe gzip or
 * zstd compressed), apply_layer() in both modes, and the overlay fixup, must
 * never crash, leak or read out of bounds, and nothing may land outside the
 * root: the sibling directory "outside" (the target of the seeds' hostile
 * paths, also under its absolute path) and the root's parent must be
 * unchanged after each input.  The root is removed after each input.
 *
 * Seeds: tests/fuzz/seeds-layer.sh OUTDIR (the corpus of
 * tests/fixtures/hostile-layers.py, aimed at FUZZ_OUTSIDE below). */
/* fuzz-sources: ctrk-snap/apply.c ctrk-snap/apply_stream.c */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctrk-snap/apply.h"
#include "extract.h"
#include "fsutil.h"

/* Where the seeds' absolute paths point (seeds-layer.sh passes it on). */
#define FUZZ_OUTSIDE "/tmp/ctrk-fuzz-layer-outside"

static char base[] = "/tmp/ctrk-fuzz-layer-XXXXXX";
static char root[64], sibling[64];

typedef struct snap {
	struct stat dir, canary;
	char data[32];
	int entries;
} snap_t;

static snap_t base_before, sibling_before, fixed_before;

static int
count_entries(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void
take(const char *dir, snap_t *s)
{
	memset(s, 0, sizeof *s);
	char path[128];
	snprintf(path, sizeof path, "%s/canary", dir);
	lstat(dir, &s->dir);
	lstat(path, &s->canary);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, s->data, sizeof s->data - 1) < 0)
			s->data[0] = '\0';
		close(fd);
	}
	s->entries = count_entries(dir);
}

static int
same(const snap_t *a, const snap_t *b)
{
	return a->dir.st_ino == b->dir.st_ino && a->dir.st_mode == b->dir.st_mode &&
	       a->dir.st_mtim.tv_sec == b->dir.st_mtim.tv_sec && a->dir.st_mtim.tv_nsec == b->dir.st_mtim.tv_nsec &&
	       a->dir.st_nlink == b->dir.st_nlink && a->canary.st_ino == b->canary.st_ino &&
	       a->canary.st_mode == b->canary.st_mode && a->canary.st_nlink == b->canary.st_nlink &&
	       a->canary.st_ctim.tv_nsec == b->canary.st_ctim.tv_nsec && strcmp(a->data, b->data) == 0 &&
	       a->entries == b->entries;
}

static void
make_outside(const char *dir)
{
	char path[128];
	mkdir(dir, 0755);
	snprintf(path, sizeof path, "%s/canary", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, "canary\n", 7) != 7)
			abort();
		close(fd);
	}
}

static void
cleanup_base(void)
{
	ctrk_remove_tree(base, &(ctrk_error_t){0});
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!mkdtemp(base))
		abort();
	atexit(cleanup_base);
	snprintf(root, sizeof root, "%s/root", base);
	snprintf(sibling, sizeof sibling, "%s/outside", base);
	make_outside(sibling);
	make_outside(FUZZ_OUTSIDE);
	take(base, &base_before);
	take(sibling, &sibling_before);
	take(FUZZ_OUTSIDE, &fixed_before);
	return 0;
}

static void
apply_once(int layer, apply_whiteouts_t mode)
{
	if (mkdir(root, 0755) < 0)
		abort();
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		abort();
	char diff_id[CTRK_DIGEST_LEN + 1];
	apply_stats_t stats;
	apply_fixups_t fix;
	ctrk_error_t err = {0};
	lseek(layer, 0, SEEK_SET);
	if (apply_layer(rootfd, layer, mode, diff_id, &stats, &fix, &err) == 0 && mode == APPLY_WHITEOUTS_OVERLAY) {
		/* No layer below: every whiteout and implicit directory is
		 * looked at. */
		(void)apply_overlay_fixup(rootfd, NULL, 0, &fix, &err);
	}
	apply_fixups_free(&fix);
	close(rootfd);

	snap_t b, s, f;
	take(base, &b);
	take(sibling, &s);
	take(FUZZ_OUTSIDE, &f);
	/* The base holds "outside" and "root" now: one entry more. */
	b.entries--;
	if (!same(&b, &base_before) && b.entries != base_before.entries) {
		fprintf(stderr, "fuzz-layer: something appeared next to the root\n");
		abort();
	}
	if (!same(&s, &sibling_before) || !same(&f, &fixed_before)) {
		fprintf(stderr, "fuzz-layer: the outside changed\n");
		abort();
	}
	ctrk_error_t rm = {0};
	/* Made unwritable by the layer: the removal needs write access to
	 * every directory (root has it anyway). */
	if (ctrk_remove_tree(root, &rm) < 0 || access(root, F_OK) == 0) {
		fprintf(stderr, "fuzz-layer: cannot clean the root: %s\n", rm.msg);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	if (!once++) {
		/* A small layer may expand (gzip, zstd) into huge files: a
		 * write past the limit fails (EFBIG) instead of filling the
		 * disk.  Here, not in LLVMFuzzerInitialize(): libFuzzer sets
		 * its own SIGXFSZ handler after that. */
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit lim = {256 << 20, 256 << 20};
		setrlimit(RLIMIT_FSIZE, &lim);
	}
	int layer = memfd_create("layer", MFD_CLOEXEC);
	if (layer < 0)
		abort();
	if (size && write(layer, data, size) != (ssize_t)size)
		abort();
	apply_once(layer, APPLY_WHITEOUTS_OVERLAY);
	apply_once(layer, APPLY_WHITEOUTS_DELETE);
	close(layer);
	return 0;
}
