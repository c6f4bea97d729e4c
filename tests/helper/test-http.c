/* SPDX-License-Identifier: MIT */
/* deploy-test-tool http-get: GETs through core/http, one by one or at once. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "http/http.h"
#include "util/xalloc.h"
#include "test-tool.h"

/*
 * http-get [--parallel P | --loop P] [--timeout MS] [--max BYTES]
 *          [--stop-on-sigint] URL...:
 * each URL once, one after another with http_do() or, with --parallel,
 * all with http_do_many() (at most P in flight); with --loop, all on an
 * http_client on a uv loop of this tool's own, beside a repeating 10 ms
 * timer on the same loop (the line "loop: timer ran while exchanges were
 * in flight" says it was not blocked). A line each, in the order given:
 * "STATUS BODY-LENGTH URL" or "error URL: MESSAGE". Exits 1 when any
 * failed. With --stop-on-sigint, SIGINT sets every request's stop flag
 * (as deploy's handler sets cli_stop).
 */
static volatile int stop_flag;

static void on_sigint(int sig)
{
	stop_flag = sig;
}

struct on_loop {
	uv_timer_t tick;
	bool done;
	unsigned ticks_in_flight;
};

static void loop_tick(uv_timer_t *t)
{
	struct on_loop *l = t->data;

	if (!l->done)
		l->ticks_in_flight++;
}

static void loop_done(void *data)
{
	struct on_loop *l = data;

	l->done = true;
	uv_timer_stop(&l->tick);
}

static int on_own_loop(struct http_exchange *x, size_t n, unsigned parallel)
{
	struct on_loop l = { .done = false };
	struct http_client *c;
	uv_loop_t loop;

	if (uv_loop_init(&loop))
		return -1;
	c = http_client_new(&loop);
	if (!c) {
		uv_loop_close(&loop);
		return -1;
	}
	uv_timer_init(&loop, &l.tick);
	l.tick.data = &l;
	uv_timer_start(&l.tick, loop_tick, 10, 10);
	http_client_start(c, x, n, parallel, loop_done, &l);
	/* Runs until the exchanges end (the timer stops then): the client
	 * keeps the loop alive while it has work, and not after. */
	uv_run(&loop, UV_RUN_DEFAULT);
	if (!l.done)
		printf("loop: ended before the exchanges\n");
	else if (l.ticks_in_flight)
		printf("loop: timer ran while exchanges were in flight\n");
	http_client_free(c);
	uv_close((uv_handle_t *)&l.tick, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	return uv_loop_close(&loop) ? -1 : 0;
}

int cmd_http_get(int argc, char **argv)
{
	unsigned parallel = 0;
	bool own_loop = false;
	long timeout_ms = 20000;
	size_t max = 0;
	bool stoppable = false;
	struct http_exchange *x;
	struct http_request *req;
	struct http_response *resp;
	size_t n;
	int i = 1, failed = 0;

	for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--parallel")) {
			parallel = (unsigned)atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--timeout")) {
			timeout_ms = atol(argv[++i]);
		} else if (!strcmp(argv[i], "--max")) {
			max = (size_t)atol(argv[++i]);
		} else if (!strcmp(argv[i], "--stop-on-sigint")) {
			struct sigaction sa = { 0 };

			sa.sa_handler = on_sigint;
			sigemptyset(&sa.sa_mask);
			sigaction(SIGINT, &sa, NULL);
			stoppable = true;
		} else if (!strcmp(argv[i], "--loop")) {
			own_loop = true;
			parallel = (unsigned)atoi(argv[++i]);
		} else {
			break;
		}
	}
	if (i >= argc || !strncmp(argv[i], "--", 2)) {
		fprintf(stderr, "usage: deploy-test-tool http-get "
				"[--parallel P | --loop P] [--timeout MS] "
				"[--max BYTES] [--stop-on-sigint] URL...\n");
		return 64;
	}
	n = (size_t)(argc - i);
	x = xcalloc(n, sizeof(*x));
	req = xcalloc(n, sizeof(*req));
	resp = xcalloc(n, sizeof(*resp));
	for (size_t k = 0; k < n; k++) {
		req[k].method = "GET";
		req[k].url = argv[i + (int)k];
		req[k].timeout_ms = timeout_ms;
		req[k].max_body = max;
		req[k].stop = stoppable ? &stop_flag : NULL;
		http_response_init(&resp[k]);
		x[k].req = &req[k];
		x[k].resp = &resp[k];
	}
	if (own_loop) {
		if (on_own_loop(x, n, parallel))
			failed = 1;
	} else if (parallel) {
		http_do_many(x, n, parallel);
	} else {
		for (size_t k = 0; k < n; k++) {
			error_init(&x[k].err);
			x[k].rc = http_do(&req[k], &resp[k], &x[k].err);
		}
	}
	for (size_t k = 0; k < n; k++) {
		if (x[k].rc) {
			printf("error %s: %s\n", req[k].url, x[k].err.msg);
			failed = 1;
		} else {
			printf("%ld %zu %s\n", resp[k].status, resp[k].body.len,
			       req[k].url);
		}
		error_clear(&x[k].err);
		http_response_free(&resp[k]);
	}
	free(x);
	free(req);
	free(resp);
	return failed;
}
