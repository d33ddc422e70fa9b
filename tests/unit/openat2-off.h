/* For the unit tests of code that resolves paths in a root: is openat2(2)
 * there, and a seccomp filter that takes it away, so that the resolution by
 * hand (lib/common/inroot.c) runs as it does on kernels before 5.6 (ENOSYS)
 * or under container profiles that refuse it (EPERM). */
#ifndef CTRK_TEST_OPENAT2_OFF_H
#define CTRK_TEST_OPENAT2_OFF_H

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline bool
have_openat2(void)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* From here on openat2 fails with ERRNUM, for this thread and the threads
 * it starts.  No check of the architecture: the test makes native calls
 * only, and openat2 has one number everywhere since the unified system call
 * table. */
static inline bool
refuse_openat2(int errnum)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)errnum),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof filter / sizeof *filter, .filter = filter};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		printf("# seccomp: %s\n", strerror(errno));
		return false;
	}
	return !have_openat2() && errno == errnum;
}

/* RUN_ALL once with openat2 and once more with it refused (ERRNUM), or
 * only by hand where the kernel (or valgrind 3.19) has no openat2.  *PASS
 * names the pass for the test's messages: "openat2", then "walk". */
#define run_with_and_without_openat2(run_all, pass, errnum)                                   \
	do {                                                                                  \
		if (have_openat2()) {                                                         \
			run_all();                                                            \
			*(pass) = "walk";                                                     \
			bool refused_ = refuse_openat2(errnum);                               \
			ok(refused_, "openat2 refused by a seccomp filter (%s): the walk by hand " \
				     "is tested too",                                          \
			   #errnum);                                                          \
			if (refused_)                                                         \
				run_all();                                                    \
		} else {                                                                      \
			printf("# no openat2 here: the walk by hand only\n");                 \
			*(pass) = "walk";                                                     \
			run_all();                                                            \
		}                                                                             \
	} while (0)

#endif
