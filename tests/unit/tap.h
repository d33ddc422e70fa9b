/* A tiny TAP producer for the unit tests: ok(cond, name), then done(). */
#ifndef CTRK_TAP_H
#define CTRK_TAP_H

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                              \
	do {                                                       \
		int ok_ = !!(cond);                                \
		printf("%sok %d - ", ok_ ? "" : "not ", ++tap_n);  \
		printf(__VA_ARGS__);                               \
		printf("\n");                                      \
		if (!ok_) {                                        \
			tap_failed++;                              \
			printf("#   at %s:%d\n", __FILE__, __LINE__); \
		}                                                  \
	} while (0)

#define is_str(got, want, ...)                                                  \
	do {                                                                    \
		const char *g_ = (got), *w_ = (want);                           \
		int same_ = (g_ == NULL && w_ == NULL) ||                       \
			    (g_ && w_ && strcmp(g_, w_) == 0);                  \
		ok(same_, __VA_ARGS__);                                         \
		if (!same_)                                                     \
			printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", \
			       w_ ? w_ : "(null)");                             \
	} while (0)

/* The open file descriptors (and the one reading them): compare before and
 * after to find a leak. */
static inline int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static inline int
tap_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* rm -rf PATH without a shell: symlinks are not followed and other file
 * systems (a test's mounts) are not entered. */
static inline int
rm_rf(const char *path)
{
	return nftw(path, tap_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
