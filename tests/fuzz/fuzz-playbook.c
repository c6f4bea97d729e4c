/* SPDX-License-Identifier: MIT */
/* libFuzzer target: playbooks (load, check, compile), when: conditions. */

/*
 * libFuzzer target: any bytes as a playbook (a playbook may come from a
 * git source deploy does not trust), loaded, checked and compiled into a
 * host's script; and the same bytes as a `when:` condition, evaluated.
 * Nothing may crash, leak or overflow, and neither the step labels nor an
 * error message may hold the host's secret value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "playbook/compile.h"
#include "playbook/context.h"
#include "playbook/playbook.h"
#include "topology/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "Zq8s3cr3t-fuzz-value"
#define TOPO                                                      \
	"version: 1\nname: t\nproviders: {ssh: {}}\n"             \
	"ssh: {admin_cidrs: [203.0.113.7/32]}\n"                  \
	"vars: {on: true, word: two, mode: \"{{secrets.pw}}\"}\n" \
	"secrets: {pw: {env: FUZZ_PW}}\n"                         \
	"roles:\n  n: {hosts: [{name: h, address: 192.0.2.1}]}\n"

static struct topology *topo;
static struct host_context *ctx;

static void setup(void)
{
	static const struct secret_value secrets[] = {
		{ "pw", SECRET, sizeof(SECRET) - 1 },
	};
	struct context_input in = { .secrets = secrets, .nr_secrets = 1 };
	struct diag_list dl;
	struct error err;

	diag_list_init(&dl);
	error_init(&err);
	if (topology_parse("t.yml", TOPO, strlen(TOPO), &topo, &dl, &err) ||
	    context_build(topo, topology_find_host(topo, "h"), &in, &ctx, &err))
		abort();
	diag_list_free(&dl);
}

static void no_secret(const char *s)
{
	if (s && strstr(s, SECRET))
		abort();
}

static void fuzz_when(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size < 512 ? size : 512);
	struct when_expr w = { 0 };
	const char *why = NULL;

	if (text && !when_parse(text, &w, &why)) {
		struct error err;
		bool v;

		error_init(&err);
		when_eval(&w, ctx->data, &v, &err);
		error_clear(&err);
		when_clear(&w);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The secret written in the playbook itself is not a leak. */
	bool has_secret = memmem(data, size, SECRET, sizeof(SECRET) - 1);
	struct playbook *pb = NULL;
	struct script *s = NULL;
	struct compile_opts co = { .nonce = "0123456789abcdef" };
	struct diag_list dl;
	struct error err;

	if (!topo)
		setup();
	diag_list_init(&dl);
	error_init(&err);
	if (!playbook_parse("/nonexistent/pb.yml", (const char *)data, size,
			    "/nonexistent", &pb, &dl, &err)) {
		if (!compile_script(ctx, &pb, 1, &co, &s, &err)) {
			if (s->nr_steps + s->nr_handlers && !s->items)
				abort();
			for (size_t i = 0;
			     !has_secret && i < s->nr_steps + s->nr_handlers;
			     i++)
				no_secret(s->items[i].label);
			script_free(s);
		}
		playbook_free(pb);
	}
	if (!has_secret)
		no_secret(err.msg);
	error_clear(&err);
	diag_list_free(&dl);
	fuzz_when(data, size);
	return 0;
}
