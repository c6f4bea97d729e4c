/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_CALLS_H
#define DEPLOY_CALLS_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"
#include "util/error.h"

/*
 * Many calls to a cloud API at once, written once for every provider: at
 * most `parallel` in flight (curl multi), a call asked again after a pause
 * of exponential backoff with full jitter (anywhere in [0, min(cap, base *
 * 2^attempt))) or of what the server named (spread by up to base more), at
 * most `attempts` times; a set stop flag cuts pauses short and starts no
 * retry. The provider says what an attempt sends (start), what its answer
 * means (judge) and how it keeps to its rate limit: a window all calls
 * share (window: once it says wait, every call waits) or a token each call
 * pays before it goes (pay).
 */

/* One call, as the scheduler keeps it. */
struct api_call {
	int *rc;	      /* the call's result: the provider's request's */
	struct error *err;    /* its error: cleared before each attempt */
	int tries;	      /* attempts made */
	long long not_before; /* monotonic ms */
	bool paid;	      /* its token for the next attempt is taken */
	bool renew;	      /* refused for its credentials this round */
	bool done;
};

/* What an answer (or its absence) means for the call. */
enum api_verdict {
	API_DONE,  /* the result stands */
	API_AGAIN, /* ask again after a pause, while attempts are left */
	API_RENEW, /* its credentials were refused: ask again at once with
		      new ones (this attempt is not counted) */
};

/* What a provider gives the scheduler: a const table per provider. */
struct api_call_ops {
	/*
	 * MUST: ready call i before its first attempt: point call->rc and
	 * call->err at its result (both initialised); one that cannot be made
	 * is failed here (api_call_fail()).
	 */
	void (*prepare)(void *ud, size_t i, struct api_call *call);
	/*
	 * MUST: make call i's next attempt, its request and response into x;
	 * a non-zero return (its error set) fails the call.
	 */
	int (*start)(void *ud, size_t i, struct http_exchange *x);
	/*
	 * MUST: judge the answer to call i's last attempt, or its absence (rc,
	 * the call's error then says why), and set the call's result; *wait
	 * may name the pause before the next attempt (ms; -1: the backoff).
	 */
	enum api_verdict (*judge)(void *ud, size_t i, int rc, long long *wait);
	/* MAY: before each round; a non-zero return fails every call left
	 * with err. */
	int (*round)(void *ud, struct error *err);
	/* MAY: ms until one more call keeps within the shared limit (0: it
	 * may go), then held(ms) after each pause it made. */
	long long (*window)(void *ud);
	void (*held)(void *ud, long long ms);
	/* MAY: call i takes its token: ms until the request it pays for may
	 * go. */
	long long (*pay)(void *ud, size_t i);
	/* MAY: the stop flag ends call i, never asked yet: set its error.
	 * Without it, calls go on and end at their next answer. */
	void (*interrupted)(void *ud, size_t i);
	/* MAY (MUST when judge says API_RENEW): new credentials. */
	int (*renew)(void *ud, struct error *err);
};

/* One batch of calls: the client's retry policy, its ops and their data. */
struct api_calls {
	unsigned parallel;
	long base_ms, cap_ms;
	int attempts;
	const volatile int *stop;
	unsigned *retries; /* the provider's count of them */
	const struct api_call_ops *ops;
	void *ud;
};

/*
 * The n calls, each until its result stands or its attempts are spent;
 * returns the number that failed.
 */
size_t api_call_many(const struct api_calls *a, size_t n);

/* End call with the error rc, msg. */
void api_call_fail(struct api_call *call, int rc, const char *msg);

#endif
