/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_TEST_TOOL_H
#define DEPLOY_TEST_TOOL_H

/*
 * deploy-test-tool: internals of deploy exposed to the shell tests, as git's
 * t/helper/test-tool does. Built, never installed. Each verb is one function
 * listed in test-tool.c's table; it returns the process exit code.
 */
int cmd_aws_creds(int argc, char **argv);
int cmd_do_call(int argc, char **argv);
int cmd_do_creds(int argc, char **argv);
int cmd_do_list(int argc, char **argv);
int cmd_gcp_call(int argc, char **argv);
int cmd_gcp_creds(int argc, char **argv);
int cmd_http_get(int argc, char **argv);
int cmd_local(int argc, char **argv);
int cmd_mustache(int argc, char **argv);
int cmd_playbook_compile(int argc, char **argv);
int cmd_playbook_context(int argc, char **argv);
int cmd_playbook_markers(int argc, char **argv);
int cmd_playbook_validate(int argc, char **argv);
int cmd_sigv4(int argc, char **argv);

#endif
