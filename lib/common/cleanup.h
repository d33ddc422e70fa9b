/* Scope-bound cleanup, as crun and systemd do it.  A variable declared
 * `cleanup_free char *p = NULL;` is freed when it goes out of scope;
 * steal_pointer() hands ownership out of such a variable.  Side effects that
 * must be undone in order (mounts, namespaces) use an explicit `goto undo`. */
#ifndef CTRK_CLEANUP_H
#define CTRK_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>
#include <cjson/cJSON.h>

static inline void
ctrk_freep(void *p)
{
	free(*(void **)p);
}

static inline void
ctrk_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void
ctrk_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void
ctrk_json_deletep(cJSON **j)
{
	cJSON_Delete(*j);
}

#define cleanup_free __attribute__((cleanup(ctrk_freep)))
#define cleanup_close __attribute__((cleanup(ctrk_closep)))
#define cleanup_fclose __attribute__((cleanup(ctrk_fclosep)))
#define cleanup_json __attribute__((cleanup(ctrk_json_deletep)))

#define steal_pointer(pp)                          \
	__extension__({                            \
		__typeof__(*(pp)) stolen_ = *(pp); \
		*(pp) = NULL;                      \
		stolen_;                           \
	})

#define steal_fd(fdp)                  \
	__extension__({                \
		int stolen_fd_ = *(fdp); \
		*(fdp) = -1;           \
		stolen_fd_;            \
	})

#endif
