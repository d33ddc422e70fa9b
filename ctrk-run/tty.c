#include "tty.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

int
tty_console_listen(const char *path, ctrk_error_t *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return ctrk_error_set(err, ENAMETOOLONG, "cannot make console socket '%s'", path);
	strcpy(sa.sun_path, path);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ctrk_error_errno(err, "cannot make a socket");
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0)
		return ctrk_error_errno(err, "cannot listen on console socket '%s'", path);
	return steal_fd(&fd);
}

int
tty_console_receive(int listen_fd, ctrk_error_t *err)
{
	cleanup_close int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (conn < 0)
		return ctrk_error_errno(err, "the runtime sent no terminal");
	char name[256];
	struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof control.buf,
	};
	ssize_t n;
	while ((n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return ctrk_error_errno(err, "cannot receive the terminal from the runtime");
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return ctrk_error_set(err, 0, "the runtime sent no terminal on the console socket");
	int master;
	memcpy(&master, CMSG_DATA(cm), sizeof master);
	return master;
}

int
tty_make_raw(int fd, tty_raw_t *r, ctrk_error_t *err)
{
	r->fd = -1;
	if (fd < 0 || !isatty(fd))
		return 0;
	if (tcgetattr(fd, &r->saved) < 0)
		return ctrk_error_errno(err, "cannot read the terminal's settings");
	struct termios raw = r->saved;
	cfmakeraw(&raw);
	/* Output processing stays on: the container's terminal does its own
	 * newline translation, ours adds none (cfmakeraw clears OPOST). */
	if (tcsetattr(fd, TCSADRAIN, &raw) < 0)
		return ctrk_error_errno(err, "cannot put the terminal in raw mode");
	r->fd = fd;
	return 0;
}

void
tty_restore(tty_raw_t *r)
{
	if (r->fd >= 0)
		tcsetattr(r->fd, TCSADRAIN, &r->saved);
	r->fd = -1;
}

void
tty_copy_size(int from, int to)
{
	struct winsize ws;
	if (from >= 0 && to >= 0 && ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}
