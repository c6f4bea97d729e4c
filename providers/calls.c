/* SPDX-License-Identifier: MIT */
/* The cloud providers' API calls at once: retries, backoff, limits (calls.h).
 */
#include "providers/calls.h"

#include <stdlib.h>

#include "util/file.h"
#include "util/pause.h"
#include "util/xalloc.h"
#include "util/banned.h"

static bool stopped(const struct api_calls *a)
{
	return a->stop && *a->stop;
}

void api_call_fail(struct api_call *call, int rc, const char *msg)
{
	*call->rc = error_set(call->err, rc, NULL, 0, 0, "%s", msg);
	call->done = true;
}

/* After call i's answer (or its absence, rc): done, or when to ask again. */
static void judged(const struct api_calls *a, struct api_call *call, size_t i,
		   int rc)
{
	long long wait = -1;
	enum api_verdict v = a->ops->judge(a->ud, i, rc, &wait);

	if (v == API_RENEW) {
		call->renew = true;
		call->tries--;
		return;
	}
	if (v == API_DONE || call->tries >= a->attempts || stopped(a)) {
		if (v == API_AGAIN && call->tries >= a->attempts)
			error_append(call->err, " (after %d attempts)",
				     call->tries);
		call->done = true;
		return;
	}
	if (wait < 0)
		wait = backoff_ms(a->base_ms, a->cap_ms, call->tries - 1);
	else /* spread the calls that were told the same moment */
		wait += (long long)random_below((unsigned long)a->base_ms);
	(*a->retries)++;
	call->not_before = now_ms() + wait;
}

/* The calls of this round refused for their credentials: new ones for
 * each while they come; once they do not, the rest fail with why. */
static void renew(const struct api_calls *a, struct api_call *calls,
		  const size_t *sent, size_t nr)
{
	struct error e;
	int rc = 0;

	error_init(&e);
	for (size_t k = 0; k < nr; k++) {
		struct api_call *call = &calls[sent[k]];

		if (!call->renew)
			continue;
		call->renew = false;
		if (!rc)
			rc = a->ops->renew(a->ud, &e);
		if (rc)
			api_call_fail(call, rc, e.msg);
	}
	error_clear(&e);
}

size_t api_call_many(const struct api_calls *a, size_t n)
{
	const struct api_call_ops *ops = a->ops;
	struct api_call *calls = xcalloc(n + 1, sizeof(*calls));
	struct http_exchange *x = xcalloc(n + 1, sizeof(*x));
	size_t *sent = xcalloc(n + 1, sizeof(*sent));
	size_t left = n, failed = 0;

	for (size_t i = 0; i < n; i++) {
		ops->prepare(a->ud, i, &calls[i]);
		if (calls[i].done)
			left--;
	}
	while (left) {
		long long now = now_ms(), wake = -1, limit = 0;
		size_t nr = 0;
		struct error e;
		int rc = 0;

		error_init(&e);
		if (ops->round)
			rc = ops->round(a->ud, &e);
		for (size_t i = 0; i < n; i++) {
			struct api_call *call = &calls[i];

			if (call->done)
				continue;
			if (rc) {
				api_call_fail(call, rc, e.msg);
				left--;
				continue;
			}
			if (stopped(a) && ops->interrupted) {
				/* A call asked before keeps its last answer. */
				if (!call->tries)
					ops->interrupted(a->ud, i);
				call->done = true;
				left--;
				continue;
			}
			if (call->not_before <= now && !call->paid &&
			    ops->pay) {
				call->paid = true;
				call->not_before = now + ops->pay(a->ud, i);
			}
			if (call->not_before <= now && !limit && ops->window)
				limit = ops->window(a->ud);
			if (call->not_before > now || limit) {
				long long at = call->not_before > now
						       ? call->not_before
						       : now + limit;

				if (wake < 0 || at < wake)
					wake = at;
				continue;
			}
			error_clear(call->err);
			*call->rc = ops->start(a->ud, i, &x[nr]);
			if (*call->rc) {
				call->done = true;
				left--;
				continue;
			}
			call->paid = false;
			call->tries++;
			sent[nr++] = i;
		}
		error_clear(&e);
		if (!nr) {
			if (left && wake > now) {
				pause_ms(wake - now, a->stop);
				if (limit && ops->held)
					ops->held(a->ud, wake - now);
			}
			continue;
		}
		http_do_many(x, nr, a->parallel);
		for (size_t k = 0; k < nr; k++) {
			struct api_call *call = &calls[sent[k]];

			if (x[k].rc)
				error_set(call->err, x[k].rc, NULL, 0, 0, "%s",
					  x[k].err.msg);
			error_clear(&x[k].err);
			judged(a, call, sent[k], x[k].rc);
		}
		renew(a, calls, sent, nr);
		for (size_t k = 0; k < nr; k++)
			if (calls[sent[k]].done)
				left--;
	}
	for (size_t i = 0; i < n; i++)
		if (*calls[i].rc)
			failed++;
	free(calls);
	free(x);
	free(sent);
	return failed;
}
