/* rtnetlink through libmnl: see nl.h. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "cleanup.h"
#include "fsutil.h"
#include "nl.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* Room reserved for the message being built: mnl_attr_put() does not check
 * the buffer, so every message gets this much before it starts.  The
 * largest one ctrk builds (a veth with its peer, addresses as separate
 * messages) is well under 1 KiB. */
#define NL_MSG_ROOM 8192
/* Acks and dump answers are read this many bytes at a time (what the
 * kernel sends in one datagram at most for a dump: 32 KiB pages). */
#define NL_RECV_SIZE 32768
/* A batch is sent in pieces of at most this size, so that the acks of one
 * piece always fit in the socket's receive buffer. */
#define NL_BATCH_PIECE 16384

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	uint32_t seq;
	char *out;         /* queued messages */
	size_t out_cap;
	size_t last;       /* offset of the message being built */
	size_t queued;     /* how many are queued */
	uint32_t first_seq; /* sequence number of the first queued one */
	char recv[NL_RECV_SIZE];
};

/* ---- Stepping into a namespace and back ---- */

int
netns_enter(int netns_fd, ctrk_error_t *err)
{
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		return ctrk_error_errno(err, "opening this process's network namespace");
	if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0) {
		close(home);
		return ctrk_error_errno(err, "entering the network namespace");
	}
	return home;
}

void
netns_leave(int home)
{
	if (setns(home, CLONE_NEWNET) < 0) {
		/* Whatever came next would be done in the wrong namespace: a
		 * container's links changed, or removed, for the host's. */
		fprintf(stderr, "%s: fatal: cannot return to this process's network namespace: %s\n",
			ctrk_progname, strerror(errno));
		abort();
	}
	close(home);
}

nl_t *
nl_open(int netns_fd, ctrk_error_t *err)
{
	/* A netlink socket belongs to the namespace it was made in: step
	 * in, make it, step back. */
	int home = netns_fd >= 0 ? netns_enter(netns_fd, err) : -1;
	if (netns_fd >= 0 && home < 0)
		return NULL;
	struct mnl_socket *sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int saved = errno;
	if (home >= 0)
		netns_leave(home);
	if (!sock)
		return ctrk_error_set(err, saved, "opening a netlink socket"), NULL;
	int one = 1;
	/* Extended acks carry the kernel's reason; capped acks do not echo
	 * the request back. */
	mnl_socket_setsockopt(sock, NETLINK_EXT_ACK, &one, sizeof one);
	mnl_socket_setsockopt(sock, NETLINK_CAP_ACK, &one, sizeof one);
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		ctrk_error_errno(err, "binding a netlink socket");
		mnl_socket_close(sock);
		return NULL;
	}
	nl_t *nl = calloc(1, sizeof *nl);
	if (!nl) {
		mnl_socket_close(sock);
		return ctrk_error_set(err, ENOMEM, "netlink"), NULL;
	}
	nl->sock = sock;
	nl->portid = mnl_socket_get_portid(sock);
	nl->seq = (uint32_t)getpid() << 8; /* any start; acks are matched by it */
	return nl;
}

void
nl_close(nl_t *nl)
{
	mnl_socket_close(nl->sock);
	free(nl->out);
	free(nl);
}

void
nl_reset(nl_t *nl)
{
	nl->queued = 0;
	nl->last = 0;
}

/* Bytes queued: up to the end of the message being built. */
static size_t
nl_used(const nl_t *nl)
{
	if (!nl->queued)
		return 0;
	const struct nlmsghdr *h = (const void *)(nl->out + nl->last);
	return nl->last + MNL_ALIGN(h->nlmsg_len);
}

struct nlmsghdr *
nl_msg(nl_t *nl, uint16_t type, uint16_t flags)
{
	size_t used = nl_used(nl);
	if (nl->out_cap < used + NL_MSG_ROOM) {
		size_t cap = nl->out_cap ? nl->out_cap * 2 : NL_MSG_ROOM * 2;
		while (cap < used + NL_MSG_ROOM)
			cap *= 2;
		nl->out = ctrk_xrealloc(nl->out, cap);
		nl->out_cap = cap;
	}
	memset(nl->out + used, 0, NL_MSG_ROOM);
	struct nlmsghdr *h = mnl_nlmsg_put_header(nl->out + used);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags | NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = ++nl->seq;
	if (!nl->queued)
		nl->first_seq = h->nlmsg_seq;
	nl->last = used;
	nl->queued++;
	return h;
}

/* The kernel's own words in an error ack (NLMSGERR_ATTR_MSG), or NULL. */
struct extack {
	const char *msg;
};

static int
extack_attr(const struct nlattr *a, void *data)
{
	struct extack *x = data;
	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		x->msg = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

static const char *
extack_message(const struct nlmsghdr *h)
{
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
	size_t off = sizeof *e;
	size_t len = mnl_nlmsg_get_payload_len(h);
	if (len < off)
		return NULL;
	/* Uncapped, the request is echoed before the attributes. */
	if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
			return NULL;
		off += MNL_ALIGN(e->msg.nlmsg_len) - sizeof(struct nlmsghdr);
	}
	if (off >= len)
		return NULL;
	struct extack x = {0};
	mnl_attr_parse_payload((const char *)e + off, len - off, extack_attr, &x);
	return x.msg;
}

/* Send the queued messages from FIRST (index) to the end of the piece that
 * starts there; returns how many were sent, or -1. */
static ssize_t
send_piece(nl_t *nl, size_t *off, size_t end)
{
	size_t start = *off, pos = start;
	ssize_t count = 0;
	while (pos < end) {
		const struct nlmsghdr *h = (const void *)(nl->out + pos);
		size_t len = MNL_ALIGN(h->nlmsg_len);
		if (pos > start && pos + len - start > NL_BATCH_PIECE)
			break;
		pos += len;
		count++;
	}
	if (mnl_socket_sendto(nl->sock, nl->out + start, pos - start) < 0)
		return -1;
	*off = pos;
	return count;
}

/* Read acks until COUNT more have arrived; record each in ERRNOS and the
 * first failure's extended ack in ERR when ERR_MSG is wanted. */
static int
read_acks(nl_t *nl, int *errnos, size_t n, size_t count, char *first_msg, size_t first_msg_size)
{
	while (count > 0) {
		ssize_t got = mnl_socket_recvfrom(nl->sock, nl->recv, sizeof nl->recv);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		const struct nlmsghdr *h = (const void *)nl->recv;
		int len = (int)got;
		for (; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) {
			if (h->nlmsg_pid != nl->portid || h->nlmsg_type != NLMSG_ERROR)
				continue;
			uint32_t idx = h->nlmsg_seq - nl->first_seq;
			if (idx >= n)
				continue; /* an answer to an earlier, abandoned request */
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
			if (mnl_nlmsg_get_payload_len(h) < sizeof *e)
				errnos[idx] = EPROTO; /* too short to say */
			else
				errnos[idx] = e->error < 0 ? -e->error : 0;
			if (errnos[idx] && first_msg && !first_msg[0]) {
				const char *m = extack_message(h);
				if (m)
					snprintf(first_msg, first_msg_size, "%s", m);
			}
			count--;
		}
	}
	return 0;
}

static int
call_all(nl_t *nl, int *errnos, size_t n, char *msg, size_t msg_size, ctrk_error_t *err)
{
	size_t queued = nl->queued, end = nl_used(nl), off = 0;
	if (n < queued) {
		nl_reset(nl);
		return ctrk_error_set(err, EINVAL, "netlink: %zu messages queued for %zu results", queued, n);
	}
	for (size_t i = 0; i < queued; i++)
		errnos[i] = 0;
	while (off < end) {
		ssize_t sent = send_piece(nl, &off, end);
		if (sent < 0 || read_acks(nl, errnos, queued, (size_t)sent, msg, msg_size) < 0) {
			nl_reset(nl);
			return ctrk_error_errno(err, "talking to the kernel over netlink");
		}
	}
	nl_reset(nl);
	return 0;
}

int
nl_call(nl_t *nl, const char *what, ctrk_error_t *err)
{
	int e = 0;
	char msg[256] = "";
	if (call_all(nl, &e, 1, msg, sizeof msg, err) < 0)
		return ctrk_error_wrap(err, "%s", what);
	if (!e)
		return 0;
	if (msg[0])
		ctrk_error_set(err, 0, "%s: %s", what, msg);
	else
		ctrk_error_set(err, e, "%s", what);
	errno = e;
	return -1;
}

int
nl_call_batch(nl_t *nl, int *errnos, size_t n, ctrk_error_t *err)
{
	return call_all(nl, errnos, n, NULL, 0, err);
}

/* Does the datagram of LEN bytes in NL's buffer hold the end of the answer
 * to SEQ (NLMSG_DONE, or an error ack)? */
static bool
answer_ends(const nl_t *nl, size_t len, uint32_t seq)
{
	int left = (int)len;
	for (const struct nlmsghdr *h = (const void *)nl->recv; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
		if (h->nlmsg_seq == seq && (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR))
			return true;
	return false;
}

/* An interrupted dump still runs to its end: read the rest, so that the
 * socket can be used again.  LEN bytes of the answer are in the buffer
 * already and may hold its end: the kernel appends NLMSG_DONE to the last
 * datagram of a dump (flagged NLM_F_DUMP_INTR too), so reading on after it
 * would wait for ever. */
static void
drain(nl_t *nl, size_t len, uint32_t seq)
{
	while (!answer_ends(nl, len, seq)) {
		ssize_t got = mnl_socket_recvfrom(nl->sock, nl->recv, sizeof nl->recv);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return;
		len = (size_t)got;
	}
}

/* The kernel's own words in the error ack to SEQ among the LEN bytes in
 * NL's buffer, or NULL. */
static const char *
error_extack(const nl_t *nl, size_t len, uint32_t seq)
{
	int left = (int)len;
	for (const struct nlmsghdr *h = (const void *)nl->recv; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
		if (h->nlmsg_seq == seq && h->nlmsg_type == NLMSG_ERROR &&
		    mnl_nlmsg_get_payload_len(h) >= sizeof(struct nlmsgerr))
			return extack_message(h);
	return NULL;
}

/* Send the one queued request (a dump when DUMP) and run CB on its answer
 * up to NLMSG_DONE or the ack. */
static int
exchange(nl_t *nl, bool dump, mnl_cb_t cb, void *data, const char *what, ctrk_error_t *err)
{
	if (nl->queued != 1) {
		nl_reset(nl);
		return ctrk_error_set(err, EINVAL, "%s: one request expected", what);
	}
	struct nlmsghdr *h = (void *)nl->out;
	if (dump)
		h->nlmsg_flags = (h->nlmsg_flags & ~NLM_F_ACK) | NLM_F_DUMP;
	uint32_t seq = h->nlmsg_seq;
	size_t len = h->nlmsg_len;
	nl_reset(nl);
	if (mnl_socket_sendto(nl->sock, h, len) < 0)
		return ctrk_error_errno(err, "%s", what);
	for (;;) {
		ssize_t got = mnl_socket_recvfrom(nl->sock, nl->recv, sizeof nl->recv);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return ctrk_error_errno(err, "%s", what);
		}
		int r = mnl_cb_run(nl->recv, (size_t)got, seq, nl->portid, cb, data);
		if (r == MNL_CB_STOP)
			return 0;
		if (r < 0) {
			/* EINTR here is NLM_F_DUMP_INTR: the table changed
			 * while it was read; the caller may start again. */
			int e = errno;
			if (e == EINTR) {
				ctrk_error_set(err, 0, "%s: the table changed while it was read", what);
				drain(nl, (size_t)got, seq);
			} else {
				const char *m = error_extack(nl, (size_t)got, seq);
				if (m)
					ctrk_error_set(err, 0, "%s: %s", what, m);
				else
					ctrk_error_set(err, e, "%s", what);
			}
			errno = e;
			return -1;
		}
	}
}

int
nl_dump(nl_t *nl, mnl_cb_t cb, void *data, const char *what, ctrk_error_t *err)
{
	return exchange(nl, true, cb, data, what, err);
}

int
nl_get(nl_t *nl, mnl_cb_t cb, void *data, const char *what, ctrk_error_t *err)
{
	return exchange(nl, false, cb, data, what, err);
}
