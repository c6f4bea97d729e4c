/* SPDX-License-Identifier: MIT */
/* SSH engine: direct-tcpip tunnels on a bastion for hosts behind it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ssh/engine-internal.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* --- tunnels (on the bastion) ----------------------------------------------
 */

/* Detach from the tunnel that carried us; the bastion sees EOF. */
void tunnel_let_go(struct ssh_host *h)
{
	struct tunnel *t = h->tunnel;

	if (!t)
		return;
	h->tunnel = NULL;
	t->inner = NULL;
}

void tunnel_destroy(struct tunnel *t)
{
	struct ssh_host *b = t->bastion;
	struct tunnel **pp;

	for (pp = &b->tunnels; *pp && *pp != t; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = t->next;
	if (b->opening == t)
		b->opening = NULL;
	if (b->blocked == t)
		b->blocked = NULL;
	if (t->ch && b->session)
		libssh2_channel_free(t->ch); /* only after a session error */
	poller_close(&t->poll);
	if (t->fd >= 0)
		close(t->fd);
	if (t->inner) {
		t->inner->tunnel = NULL;
		t->inner = NULL;
	}
	free(t);
}

/* The bastion's own session broke: it fails, and with it every host
 * behind it (fail_dependents()), each naming it. */
static void bastion_lost(struct ssh_host *b)
{
	b->why = SSH_WHY_LOST;
	host_fail(b, SSH_UNREACHABLE, DEPLOY_ERR_UNREACHABLE,
		  "host '%s' unreachable: connection lost: %s", b->name,
		  ssh_errmsg(b));
}

/* Ask the bastion for a channel to h (h->via is READY). */
void tunnel_request(struct ssh_host *h)
{
	struct ssh_host *b = h->via;
	struct tunnel *t, **pp;

	t = xcalloc(1, sizeof(*t));
	t->bastion = b;
	t->inner = h;
	t->fd = -1;
	t->state = TS_WAIT;
	for (pp = &b->tunnels; *pp; pp = &(*pp)->next)
		;
	*pp = t;
	h->tunnel = t;
	h->state = HS_TUNNEL;
	host_drive(b);
}

/* The channel opened: hand the inner host its end of a socketpair. */
static void tunnel_opened(struct ssh_host *b, struct tunnel *t)
{
	struct ssh_host *h = t->inner;
	int sv[2];

	if (!h) {
		t->state = TS_CLOSING;
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv)) {
		t->state = TS_CLOSING;
		tunnel_let_go(h);
		host_fail(h, SSH_FAILED, DEPLOY_ERR_IO,
			  "host '%s': cannot make a socketpair: %s", h->name,
			  strerror(errno));
		return;
	}
	t->fd = sv[0];
	t->poll = poller_new(b, t->fd);
	t->state = TS_OPEN;
	h->fd = sv[1];
	session_start(h);
	if (h->state == HS_HANDSHAKE)
		host_drive(h);
}

static bool tunnel_open_step(struct ssh_host *b, struct tunnel *t)
{
	struct ssh_host *h = t->inner;
	int rc;

	if (t->state == TS_WAIT) {
		if (!h) {
			tunnel_destroy(t);
			return true;
		}
		if (b->opening)
			return false;
		b->opening = t;
		t->state = TS_OPENING;
	}
	/* The inner host's address is kept even when it let go. */
	t->ch = libssh2_channel_direct_tcpip_ex(
		b->session, h ? h->address : "127.0.0.1", h ? h->port : 22,
		"127.0.0.1", 22);
	if (t->ch) {
		b->opening = NULL;
		unblock(b, t);
		tunnel_opened(b, t);
		return true;
	}
	rc = last_errno(b);
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return wait_io(b, t);
	b->opening = NULL;
	unblock(b, t);
	if (session_dead(rc)) {
		bastion_lost(b);
		return true;
	}
	if (h) {
		char why[400];

		snprintf(why, sizeof(why),
			 "bastion '%s' could not connect to %s port %d: %s",
			 b->name, h->address, h->port, ssh_errmsg(b));
		t->inner = NULL;
		h->tunnel = NULL;
		tunnel_destroy(t);
		h->why = SSH_WHY_REFUSED;
		attempt_failed(h, "%s", why);
	} else {
		tunnel_destroy(t);
	}
	return true;
}

/* Move bytes both ways; true when anything moved or changed. */
static bool tunnel_pump(struct ssh_host *b, struct tunnel *t)
{
	bool progress = false;
	ssize_t n;
	int rc;

	if (t->to_ch_off && b->blocked != t) {
		memmove(t->to_ch, t->to_ch + t->to_ch_off, t->to_ch_len);
		t->to_ch_off = 0;
	}
	if (!t->fd_eof && t->to_ch_off + t->to_ch_len < TUNNEL_BUF) {
		n = recv(t->fd, t->to_ch + t->to_ch_off + t->to_ch_len,
			 TUNNEL_BUF - t->to_ch_off - t->to_ch_len, 0);
		if (n > 0) {
			t->to_ch_len += (size_t)n;
			progress = true;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			t->fd_eof = true;
			progress = true;
		}
	}
	if (t->to_ch_len) {
		rc = (int)libssh2_channel_write(t->ch, t->to_ch + t->to_ch_off,
						t->to_ch_len);
		if (rc > 0) {
			unblock(b, t);
			t->to_ch_off += (size_t)rc;
			t->to_ch_len -= (size_t)rc;
			if (!t->to_ch_len)
				t->to_ch_off = 0;
			progress = true;
		} else if (rc == LIBSSH2_ERROR_EAGAIN) {
			wait_io(b, t);
			if (b->blocked == t)
				return progress;
		} else if (session_dead(rc)) {
			unblock(b, t);
			bastion_lost(b); /* t is gone with it */
			return true;
		} else {
			unblock(b, t);
			t->ch_eof = t->fd_eof = true;
			t->to_ch_len = t->to_fd_len = 0;
			progress = true;
		}
	}
	if (!t->ch_eof && t->to_fd_off + t->to_fd_len == 0) {
		rc = (int)libssh2_channel_read(t->ch, t->to_fd, TUNNEL_BUF);
		if (rc > 0) {
			unblock(b, t);
			t->to_fd_len = (size_t)rc;
			progress = true;
		} else if (rc == LIBSSH2_ERROR_EAGAIN) {
			wait_io(b, t);
			if (b->blocked == t)
				return progress;
		} else if (session_dead(rc)) {
			unblock(b, t);
			bastion_lost(b); /* t is gone with it */
			return true;
		} else if (rc < 0 || libssh2_channel_eof(t->ch)) {
			unblock(b, t);
			t->ch_eof = true;
			progress = true;
		}
	}
	if (t->to_fd_len) {
		n = send(t->fd, t->to_fd + t->to_fd_off, t->to_fd_len,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			t->to_fd_off += (size_t)n;
			t->to_fd_len -= (size_t)n;
			if (!t->to_fd_len)
				t->to_fd_off = 0;
			progress = true;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			t->to_fd_len = t->to_fd_off = 0;
			t->fd_eof = true;
			progress = true;
		}
	}
	if (t->ch_eof && !t->to_fd_len && !t->fd_shut) {
		shutdown(t->fd, SHUT_WR);
		t->fd_shut = true;
		progress = true;
	}
	if (t->fd_eof && !t->to_ch_len) {
		t->state = TS_CLOSING;
		poller_close(&t->poll);
		progress = true;
	}
	return progress;
}

bool tunnel_step(struct ssh_host *b, struct tunnel *t)
{
	int rc;

	switch (t->state) {
	case TS_WAIT:
	case TS_OPENING:
		return tunnel_open_step(b, t);
	case TS_OPEN:
		return tunnel_pump(b, t);
	case TS_CLOSING:
		rc = libssh2_channel_free(t->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return wait_io(b, t);
		unblock(b, t);
		t->ch = NULL;
		tunnel_destroy(t);
		return true;
	}
	return false;
}

int tunnel_events(const struct tunnel *t)
{
	int ev = 0;

	if (t->state != TS_OPEN)
		return 0;
	if (!t->fd_eof && t->to_ch_off + t->to_ch_len < TUNNEL_BUF)
		ev |= UV_READABLE;
	if (t->to_fd_len)
		ev |= UV_WRITABLE;
	return ev;
}
