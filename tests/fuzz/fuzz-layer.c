/* libFuzzer target: layer apply, the code that writes what a stranger's tar
 * says into a directory as root.
 *
 * An input is an image of one or more layers:
 * - as it is: one layer (a tar, maybe gzip or zstd compressed);
 * - or, when it starts with "#layers\n", a script the harness turns into
 *   tars with libarchive's writer, so that mutations reach the applier
 *   rather than stop at tar's header checksums.  One entry a line: a type
 *   (f file, d directory, l symlink, h hardlink, c device 1:3, z device 0:0,
 *   p fifo), a mode digit (an index into MODES), the path, and for l and h
 *   ">" and the target; a line "---" starts the next layer.
 *
 * Each image is applied twice: DELETE, every layer onto one root (the
 * native driver); OVERLAY, every layer into its own directory, then fixed
 * up over the ones below (the overlay driver, as unpack.c does).  Checked:
 * no crash, leak or bad access (ASan, UBSan); nothing lands outside (the
 * sibling directory "outside" and one at the seeds' absolute target stay
 * unchanged, nothing appears next to the roots); both modes accept or both
 * refuse the image; and when both accept it, overlayfs' merged view of the
 * layers (mounted in a mount namespace of the harness's own, when it can
 * make one) and the DELETE root hold the same tree.  The roots are removed
 * after each input.
 *
 * Seeds: tests/fuzz/seeds-layer.sh OUTDIR. */
/* fuzz-sources: ctrk-snap/apply.c ctrk-snap/apply_stream.c */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "ctrk-snap/apply.h"
#include "extract.h"
#include "fsutil.h"

/* Where the seeds' absolute paths point (seeds-layer.sh passes it on). */
#define FUZZ_OUTSIDE "/tmp/ctrk-fuzz-layer-outside"
#define MAX_LAYERS 8

static const mode_t MODES[] = {0755, 0700, 0644, 01777, 04755, 0000, 0711, 0555};

/* /tmp/ctrk-fuzz-layer.PID: one a process, so that the next run can tell a
 * crashed one's leftovers (no such PID) from another job's. */
#define BASE_PREFIX "ctrk-fuzz-layer."
static char base[64], root[96], ov[96], mnt[96], sibling[96];
static bool can_mount;

static void found(const char *fmt, const char *a, const char *b);

/* --- the outside ------------------------------------------------------------ */

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

static bool
same(const snap_t *a, const snap_t *b)
{
	return a->dir.st_ino == b->dir.st_ino && a->dir.st_mode == b->dir.st_mode &&
	       a->dir.st_nlink == b->dir.st_nlink && a->canary.st_ino == b->canary.st_ino &&
	       a->canary.st_mode == b->canary.st_mode && a->canary.st_nlink == b->canary.st_nlink &&
	       a->canary.st_ctim.tv_sec == b->canary.st_ctim.tv_sec &&
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
check_outside(void)
{
	snap_t b, s, f;
	take(base, &b);
	take(sibling, &s);
	take(FUZZ_OUTSIDE, &f);
	/* "root" and "ov" are new there. */
	if (b.entries != base_before.entries + 2)
		found("fuzz-layer: something appeared next to the roots%s%s\n", "", "");
	if (!same(&s, &sibling_before) || !same(&f, &fixed_before))
		found("fuzz-layer: the outside changed%s%s\n", "", "");
}

static void
cleanup_base(void)
{
	if (can_mount)
		umount2(mnt, MNT_DETACH);
	ctrk_remove_tree(base, &(ctrk_error_t){0});
}

/* A finding: say what, clean up, and let libFuzzer keep the input. */
static void
found(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, fmt, a, b);
	cleanup_base();
	abort();
}

/* Remove the directories of runs that crashed (their PID is gone). */
static void
remove_stale(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, BASE_PREFIX, sizeof BASE_PREFIX - 1) != 0)
			continue;
		char *end;
		long pid = strtol(de->d_name + sizeof BASE_PREFIX - 1, &end, 10);
		if (*end || pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno != ESRCH))
			continue;
		if (kill((pid_t)pid, 0) == 0)
			continue;
		char path[300];
		snprintf(path, sizeof path, "/tmp/%s", de->d_name);
		ctrk_remove_tree(path, &(ctrk_error_t){0});
	}
	if (d)
		closedir(d);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	remove_stale();
	snprintf(base, sizeof base, "/tmp/" BASE_PREFIX "%d", (int)getpid());
	ctrk_remove_tree(base, &(ctrk_error_t){0});
	if (mkdir(base, 0700) < 0)
		abort();
	atexit(cleanup_base);
	snprintf(root, sizeof root, "%s/root", base);
	snprintf(ov, sizeof ov, "%s/ov", base);
	snprintf(mnt, sizeof mnt, "%s/mnt", base);
	snprintf(sibling, sizeof sibling, "%s/outside", base);
	make_outside(sibling);
	make_outside(FUZZ_OUTSIDE);
	mkdir(mnt, 0755);
	/* Overlay mounts in a namespace of this process only: none outlives
	 * it, whatever happens. */
	can_mount = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
	take(base, &base_before);
	take(sibling, &sibling_before);
	take(FUZZ_OUTSIDE, &fixed_before);
	return 0;
}

/* --- the image ------------------------------------------------------------- */

typedef struct image {
	int fd[MAX_LAYERS];
	int n;
} image_t;

static int
memfd_of(const void *data, size_t size)
{
	int fd = memfd_create("layer", MFD_CLOEXEC);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	return fd;
}

/* One layer of the script: lines [P, END). */
static int
script_layer(const char *p, const char *end)
{
	size_t cap = 1 << 20, used = 0;
	char *buf = ctrk_xmalloc(cap);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK)
		abort();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		if (eol - p >= 3) {
			char line[4096];
			size_t len = (size_t)(eol - p) < sizeof line - 1 ? (size_t)(eol - p) : sizeof line - 1;
			memcpy(line, p, len);
			line[len] = '\0';
			char *target = strchr(line + 2, '>');
			if (target)
				*target++ = '\0';
			struct archive_entry *e = archive_entry_new();
			archive_entry_set_pathname(e, line + 2);
			archive_entry_set_perm(e, MODES[(unsigned char)line[1] % 8]);
			archive_entry_set_mtime(e, 1700000000, 0);
			bool data = false;
			switch (line[0]) {
			case 'd':
				archive_entry_set_filetype(e, AE_IFDIR);
				break;
			case 'l':
				archive_entry_set_filetype(e, AE_IFLNK);
				archive_entry_set_symlink(e, target ? target : "");
				break;
			case 'h':
				archive_entry_set_filetype(e, AE_IFREG);
				archive_entry_set_hardlink(e, target ? target : "");
				break;
			case 'c':
			case 'z':
				archive_entry_set_filetype(e, AE_IFCHR);
				archive_entry_set_rdevmajor(e, line[0] == 'c');
				archive_entry_set_rdevminor(e, line[0] == 'c' ? 3 : 0);
				break;
			case 'p':
				archive_entry_set_filetype(e, AE_IFIFO);
				break;
			default:
				archive_entry_set_filetype(e, AE_IFREG);
				archive_entry_set_size(e, 5);
				data = true;
			}
			if (archive_write_header(a, e) == ARCHIVE_OK && data)
				archive_write_data(a, "data\n", 5);
			archive_entry_free(e);
		}
		p = nl ? nl + 1 : end;
	}
	archive_write_close(a);
	archive_write_free(a);
	int fd = memfd_of(buf, used);
	free(buf);
	return fd;
}

static void
image_of(const uint8_t *data, size_t size, image_t *img)
{
	static const char magic[] = "#layers\n";
	img->n = 0;
	if (size < sizeof magic - 1 || memcmp(data, magic, sizeof magic - 1) != 0) {
		img->fd[img->n++] = memfd_of(data, size);
		return;
	}
	const char *p = (const char *)data + sizeof magic - 1, *end = (const char *)data + size;
	while (img->n < MAX_LAYERS) {
		const char *sep = memmem(p, (size_t)(end - p), "\n---\n", 5);
		img->fd[img->n++] = script_layer(p, sep ? sep + 1 : end);
		if (!sep)
			break;
		p = sep + 5;
	}
}

/* --- applying -------------------------------------------------------------- */

static int
apply_fd(int dirfd, int layer, apply_whiteouts_t mode, apply_fixups_t *fix, ctrk_error_t *err)
{
	char diff_id[CTRK_DIGEST_LEN + 1];
	apply_stats_t stats;
	lseek(layer, 0, SEEK_SET);
	return apply_layer(dirfd, layer, mode, diff_id, &stats, fix, err);
}

static int
apply_delete(const image_t *img, ctrk_error_t *err)
{
	if (mkdir(root, 0755) < 0)
		abort();
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		abort();
	int rc = 0;
	for (int i = 0; i < img->n && rc == 0; i++)
		rc = apply_fd(rootfd, img->fd[i], APPLY_WHITEOUTS_DELETE, NULL, err);
	close(rootfd);
	return rc;
}

/* Every layer into ov/I, then fixed up over the ones below; *NVISIBLE: how
 * many of the top ones overlay must see (up to an opaque root). */
static int
apply_overlay(const image_t *img, int *nvisible, ctrk_error_t *err)
{
	int fds[MAX_LAYERS], rc = 0;
	apply_fixups_t fix[MAX_LAYERS] = {0};
	if (mkdir(ov, 0755) < 0)
		abort();
	for (int i = 0; i < img->n; i++) {
		char path[96];
		snprintf(path, sizeof path, "%s/%d", ov, i);
		if (mkdir(path, 0755) < 0 || (fds[i] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			abort();
		if (rc == 0)
			rc = apply_fd(fds[i], img->fd[i], APPLY_WHITEOUTS_OVERLAY, &fix[i], err);
	}
	for (int i = 0; i < img->n && rc == 0; i++) {
		int lower[MAX_LAYERS], n = 0;
		for (int j = i - 1; j >= 0; j--) {
			lower[n++] = fds[j];
			if (apply_root_is_opaque(fds[j]))
				break;
		}
		rc = apply_overlay_fixup(fds[i], lower, (size_t)n, &fix[i], err);
	}
	*nvisible = img->n;
	for (int i = img->n - 1; i >= 0; i--)
		if (apply_root_is_opaque(fds[i])) {
			*nvisible = img->n - i;
			break;
		}
	for (int i = 0; i < img->n; i++) {
		apply_fixups_free(&fix[i]);
		close(fds[i]);
	}
	return rc;
}

/* --- comparing ------------------------------------------------------------- */

typedef struct entry {
	char *line; /* "PATH TYPE-AND-MODE OWNER ..." */
	dev_t dev;
	ino_t ino;
	bool dir;
} entry_t;

typedef struct entries {
	entry_t *v;
	size_t n, cap;
} entries_t;

static void
list_tree(entries_t *out, const char *top, const char *rel)
{
	char path[8192];
	snprintf(path, sizeof path, "%s%s%s", top, *rel ? "/" : "", rel);
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			free(names[i]);
			continue;
		}
		char crel[8192], full[8192];
		snprintf(crel, sizeof crel, "%s%s%s", rel, *rel ? "/" : "", name);
		snprintf(full, sizeof full, "%s/%s", top, crel);
		char *line = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&line, &len);
		struct stat st;
		if (lstat(full, &st) < 0) {
			/* overlayfs' ghost: listed by readdir, not found */
			fprintf(f, "%s: listed, but lstat: %s", crel, strerror(errno));
			memset(&st, 0, sizeof st);
		} else {
			fprintf(f, "%s %o %u:%u", crel, st.st_mode, st.st_uid, st.st_gid);
		}
		if (S_ISREG(st.st_mode)) {
			fprintf(f, " size %lld", (long long)st.st_size);
		} else if (S_ISLNK(st.st_mode)) {
			char t[4096];
			ssize_t tl = readlink(full, t, sizeof t - 1);
			fprintf(f, " -> %.*s", (int)(tl > 0 ? tl : 0), t);
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			fprintf(f, " %u,%u", major(st.st_rdev), minor(st.st_rdev));
		}
		char keys[4096];
		ssize_t kl = llistxattr(full, keys, sizeof keys);
		for (ssize_t k = 0; kl > 0 && k < kl; k += (ssize_t)strlen(keys + k) + 1)
			if (strncmp(keys + k, "trusted.overlay.", 16) != 0 &&
			    strncmp(keys + k, "user.overlay.", 13) != 0)
				fprintf(f, " %s", keys + k);
		fclose(f);
		if (out->n == out->cap) {
			out->cap = out->cap ? 2 * out->cap : 64;
			out->v = ctrk_xrealloc(out->v, out->cap * sizeof *out->v);
		}
		out->v[out->n++] = (entry_t){line, st.st_dev, st.st_ino, S_ISDIR(st.st_mode)};
		if (S_ISDIR(st.st_mode))
			list_tree(out, top, crel);
		free(names[i]);
	}
	free(names);
}

/* The listing of TOP, one line an entry.  Hard links show as the group of
 * names sharing an inode in this tree ("link:" the first), not as st_nlink:
 * overlayfs reports a lower file's count in its own layer, names an upper
 * layer replaced included. */
static char *
listing(const char *top)
{
	entries_t es = {0};
	list_tree(&es, top, "");
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	for (size_t i = 0; i < es.n; i++) {
		fputs(es.v[i].line, out);
		if (!es.v[i].dir && es.v[i].ino) {
			size_t first = i, count = 0;
			for (size_t j = 0; j < es.n; j++)
				if (!es.v[j].dir && es.v[j].dev == es.v[i].dev && es.v[j].ino == es.v[i].ino) {
					if (count++ == 0)
						first = j;
				}
			if (count > 1)
				fprintf(out, " link:%.*s", (int)strcspn(es.v[first].line, " "), es.v[first].line);
		}
		fputc('\n', out);
	}
	fclose(out);
	for (size_t i = 0; i < es.n; i++)
		free(es.v[i].line);
	free(es.v);
	return text;
}

static void
compare(int nlayers, int nvisible)
{
	/* The lowerdir list, the top layer first, and an empty one below:
	 * overlay wants two lower directories without an upper one. */
	char opts[1024] = "lowerdir=";
	for (int i = nlayers - 1; i >= nlayers - nvisible; i--)
		snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "%s/%d:", ov, i);
	char empty[96];
	snprintf(empty, sizeof empty, "%s/empty", ov);
	mkdir(empty, 0755);
	snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "%s", empty);
	if (mount("overlay", mnt, "overlay", MS_RDONLY, opts) < 0) {
		fprintf(stderr, "fuzz-layer: cannot mount overlay (%s): %s\n", opts, strerror(errno));
		abort();
	}
	char *a = listing(root), *b = listing(mnt);
	umount2(mnt, MNT_DETACH);
	if (strcmp(a, b) != 0)
		found("fuzz-layer: the trees differ\n--- native\n%s--- overlay\n%s", a, b);
	free(a);
	free(b);
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
	image_t img;
	image_of(data, size, &img);
	ctrk_error_t derr = {0}, oerr = {0};
	int nvisible = 0;
	int drc = apply_delete(&img, &derr);
	int orc = apply_overlay(&img, &nvisible, &oerr);
	check_outside();
	if ((drc == 0) != (orc == 0))
		found("fuzz-layer: native %s, overlay %s\n", drc ? derr.msg : "applied", orc ? oerr.msg : "applied");
	if (drc == 0 && can_mount)
		compare(img.n, nvisible);
	for (int i = 0; i < img.n; i++)
		close(img.fd[i]);
	ctrk_error_t rm = {0};
	if (ctrk_remove_tree(root, &rm) < 0 || ctrk_remove_tree(ov, &rm) < 0 || access(root, F_OK) == 0 ||
	    access(ov, F_OK) == 0)
		found("fuzz-layer: cannot clean up: %s%s\n", rm.msg, "");
	return 0;
}
