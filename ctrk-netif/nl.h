/* rtnetlink, through libmnl: one socket per network namespace, requests
 * acknowledged one by one or sent in one batch, dumps with a callback.
 *
 * Why netlink and not `ip`: one request per change instead of one process,
 * and the kernel's extended ack says exactly what it refused ("Invalid
 * MTU", "Master device not found") where ip would print its own guess.
 *
 * Building a request: nl_msg() starts one in the socket's buffer; add the
 * family header with mnl_nlmsg_put_extra_header() and attributes with
 * mnl_attr_put*(); then nl_call() sends it and waits for its ack.  Several
 * nl_msg() in a row, then nl_call_batch(), send them all in one sendmsg and
 * collect every ack (gc deletes fifty links in one round trip that way). */
#ifndef CTRK_NETIF_NL_H
#define CTRK_NETIF_NL_H

#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

#include "error.h"

typedef struct nl nl_t;

/* ---- Stepping into a network namespace and back ----
 * The tool is single-threaded.  Whatever must be made inside another
 * namespace (a netlink socket, a sysctl's fd, a namespace itself) is made
 * between these two; failing to get back ends the process, since going on
 * in the wrong namespace could change a container's links for the host's.
 * Here rather than in netns.c because nl_open() is their first user. */

/* Step this thread into the namespace NETNS_FD (-1: stay, only remember
 * where it is): returns an fd of the namespace it was in, for
 * netns_leave(); -1 with ERR (still at home) when it cannot. */
int netns_enter(int netns_fd, ctrk_error_t *err);

/* Back into HOME (from netns_enter), and close it.  Failing that ends the
 * process (abort): nothing may go on in the wrong namespace. */
void netns_leave(int home);

/* ---- rtnetlink ---- */

/* A rtnetlink socket in the network namespace NETNS_FD (-1: the caller's).
 * The socket stays in that namespace for its whole life, whatever the
 * process does with its own namespace afterwards. */
nl_t *nl_open(int netns_fd, ctrk_error_t *err);
void nl_close(nl_t *nl);
#define cleanup_nl __attribute__((cleanup(nl_closep)))
static inline void
nl_closep(nl_t **p)
{
	if (*p)
		nl_close(*p);
}

/* Start a new message of TYPE with FLAGS (NLM_F_REQUEST and NLM_F_ACK are
 * added) after those already queued.  Never fails: the buffer grows. */
struct nlmsghdr *nl_msg(nl_t *nl, uint16_t type, uint16_t flags);

/* Send the one queued message and wait for its ack.  0, or -1 with errno
 * and ERR set to "WHAT: <the kernel's extended ack, or strerror>". */
int nl_call(nl_t *nl, const char *what, ctrk_error_t *err);

/* Send every queued message in one go and wait for all acks.  ERRNOS (N
 * entries, N the number queued) gets each message's result: 0 or a
 * positive errno.  Returns -1 only when the exchange itself failed. */
int nl_call_batch(nl_t *nl, int *errnos, size_t n, ctrk_error_t *err);

/* Send the one queued message as a dump request (NLM_F_DUMP) and call CB
 * for every message of the answer; CB returns MNL_CB_OK to go on,
 * MNL_CB_ERROR (with errno set) to fail. */
int nl_dump(nl_t *nl, mnl_cb_t cb, void *data, const char *what, ctrk_error_t *err);

/* Send the one queued message as a plain request (a RTM_GET* of one
 * object) and call CB for its answer; the ack ends the exchange.  -1 with
 * errno (ENODEV: no such link) and ERR when the kernel refused it. */
int nl_get(nl_t *nl, mnl_cb_t cb, void *data, const char *what, ctrk_error_t *err);

/* Drop the queued messages (after a failure while building one). */
void nl_reset(nl_t *nl);

#endif
