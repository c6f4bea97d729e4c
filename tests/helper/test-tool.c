/* SPDX-License-Identifier: MIT */
/* deploy-test-tool: its verbs, which reach internals from shell tests. */
#include <stdio.h>
#include <string.h>

#include "test-tool.h"

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
};

static const struct verb verbs[] = {
	{ "aws-creds", cmd_aws_creds,
	  "aws-creds [--profile P] [--role-region R] [--block-region R] "
	  "[--block-endpoint URL]" },
	{ "do-call", cmd_do_call,
	  "do-call [--context C] [--safe] METHOD PATH [JSON]" },
	{ "do-creds", cmd_do_creds,
	  "do-creds [--context C] [--block-endpoint URL]" },
	{ "do-list", cmd_do_list,
	  "do-list [--context C] [--repeat N] PATH KEY" },
	{ "gcp-call", cmd_gcp_call,
	  "gcp-call [--credentials F] [--endpoint URL] --project P "
	  "[--body JSON] [--request-id ID|new] [--list FILTER] METHOD PATH "
	  "WHAT" },
	{ "gcp-creds", cmd_gcp_creds,
	  "gcp-creds [--credentials F] [--endpoint URL] [--tokens N] "
	  "[--sleep-ms MS]" },
	{ "http-get", cmd_http_get,
	  "http-get [--parallel P | --loop P] [--timeout MS] [--max BYTES] "
	  "[--stop-on-sigint] URL..." },
	{ "local", cmd_local,
	  "local up|down TOPOLOGY SUBNET [PUBKEY_FILE] HOST... | running "
	  "TOPOLOGY HOST" },
	{ "mustache", cmd_mustache,
	  "mustache --template T --data D.json [--partials P.json]" },
	{ "playbook-compile", cmd_playbook_compile,
	  "playbook-compile --topology T --host H [--playbook P]... "
	  "[--notify-dir D] [--nonce N] [--check] [--address H=A[,PRIV]]..." },
	{ "playbook-context", cmd_playbook_context,
	  "playbook-context --topology T --host H [--playbook P] "
	  "[--address H=A[,PRIV]]..." },
	{ "playbook-markers", cmd_playbook_markers,
	  "playbook-markers --nonce N < OUTPUT" },
	{ "playbook-validate", cmd_playbook_validate,
	  "playbook-validate FILE..." },
	{ "sigv4", cmd_sigv4,
	  "sigv4 --request FILE.req --access-key K --secret S --region R "
	  "--service SVC --date YYYYMMDDTHHMMSSZ [--token T]" },
};

static int usage(void)
{
	fprintf(stderr, "usage: deploy-test-tool <verb> [args]\nverbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(stderr, "  %s\n", verbs[i].usage);
	return 64;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "deploy-test-tool: unknown verb '%s'\n", argv[1]);
	return usage();
}
