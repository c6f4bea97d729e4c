/* SPDX-License-Identifier: MIT */
/* plan_build/plan_apply and the provider kit, on the fake providers. */
#include "cmocka-setup.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "graph/graph.h"
#include "plan/artifact-changes.h"
#include "plan/plan.h"
#include "providers/fake/fake.h"
#include "providers/provider.h"
#include "ssh/probe.h"
#include "state/state.h"
#include "topology/topology.h"
#include "util/buf.h"

static char dir[] = "/tmp/deploy-test-plan.XXXXXX";

/* One run's pieces, as cli/lifecycle.c holds them. */
struct world {
	struct topology *t;
	struct graph *g;
	struct state *s;
	char path[600];
	volatile int stop;
	int stop_after_saves; /* set stop at this save (0: never) */
	int saves;
};

static int setup(void **state)
{
	(void)state;
	memcpy(dir, "/tmp/deploy-test-plan.XXXXXX", sizeof(dir));
	fake_reset();
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	fake_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* The save a run makes: a step of the fake (a crash stops saving), then
 * the real state_save. */
static int save(struct provider_run *run, struct error *err)
{
	struct world *w = run->ctx;
	int rc = fake_step("save", err);

	if (rc)
		return rc;
	if (++w->saves == w->stop_after_saves)
		w->stop = 1;
	return state_save(run->state, err);
}

static void open_world(struct world *w, const char *text)
{
	struct diag_list dl;
	struct error err;

	memset(w, 0, sizeof(*w));
	diag_list_init(&dl);
	error_init(&err);
	assert_int_equal(
		topology_parse("p.yml", text, strlen(text), &w->t, &dl, &err),
		0);
	assert_int_equal(dl.errors, 0);
	assert_int_equal(graph_build(w->t, &w->g, &err), 0);
	snprintf(w->path, sizeof(w->path), "%s/p.state.json", dir);
	assert_int_equal(state_load(w->path, w->t->name, &w->s, &err), 0);
	diag_list_free(&dl);
}

/* The state as a new process reads it (after a crash). */
static void reload(struct world *w)
{
	struct error err;

	error_init(&err);
	state_free(w->s);
	assert_int_equal(state_load(w->path, w->t->name, &w->s, &err), 0);
}

/* The state file stays: open_world() goes on from it (fake_reset() and
 * a new state file go together: see fresh_world()). */
static void close_world(struct world *w)
{
	state_free(w->s);
	graph_free(w->g);
	topology_free(w->t);
}

static void fresh_world(struct world *w, const char *text)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/p.state.json", dir);
	unlink(p);
	fake_reset();
	open_world(w, text);
}

struct opts {
	bool down;
	bool include_protected;
	bool adopt;
	struct plan **keep; /* hand the plan back instead of freeing it */
};

/* One `up` (or `down`): plan with refresh, then apply. */
static int run_opts(struct world *w, const struct opts *o, struct error *err)
{
	struct lifecycle lc;
	struct plan *p = NULL;
	int rc;

	lifecycle_init(&lc, w->t, w->g, w->s);
	lc.save = save;
	lc.ctx = w;
	lc.stop = &w->stop;
	lc.include_protected = o->include_protected;
	lc.adopt = o->adopt;
	rc = plan_build(&lc, o->down, true, &p, err);
	if (!rc && o->keep) {
		*o->keep = p;
		p = NULL;
	} else if (!rc) {
		rc = plan_apply(&lc, p, NULL, NULL, err);
	}
	plan_free(p);
	lifecycle_release(&lc);
	return rc;
}

static int up(struct world *w, struct error *err)
{
	struct opts o = { 0 };

	return run_opts(w, &o, err);
}

static int down(struct world *w, struct error *err)
{
	struct opts o = { .down = true };

	return run_opts(w, &o, err);
}

static const struct state_resource *rec(struct world *w, const char *prov,
					const char *kind, const char *name)
{
	return state_resource_find(w->s, prov, kind, name);
}

/* Every host of the topology is recorded as created with the id of the
 * one live resource of its name, and the world holds nothing else. */
static void assert_converged(struct world *w, const char *prov, size_t nr_hosts)
{
	size_t recorded = 0;

	for (size_t i = 0; i < w->s->nr_resources; i++) {
		const struct state_resource *r = &w->s->resources[i];

		assert_int_equal(r->status, RESOURCE_CREATED);
		assert_non_null(r->id);
		assert_string_equal(r->id,
				    fake_id_of(r->provider, r->kind, r->name));
		recorded +=
			!strcmp(r->kind, "host") && !strcmp(r->provider, prov);
	}
	assert_int_equal(recorded, nr_hosts);
	assert_int_equal(fake_count(prov, "host"), nr_hosts);
	assert_int_equal(fake_count(prov, "network"), 1);
}

static size_t count_lines(const char *log, const char *what)
{
	size_t n = 0;

	for (const char *at = log; (at = strstr(at, what)); at++)
		n++;
	return n;
}

#define TWO_LEVELS                                     \
	"version: 1\nname: p\nproviders: {fake: {}}\n" \
	"roles:\n"                                     \
	"  db: {count: 1}\n"                           \
	"  web: {count: 2, after: [db]}\n"

static void test_up_creates_once_and_then_keeps(void **state)
{
	struct world w;
	struct error err;

	(void)state;
	error_init(&err);
	open_world(&w, TWO_LEVELS);
	assert_int_equal(up(&w, &err), 0);
	assert_converged(&w, "fake", 3);
	/* db's level before web's: one hosts_up per provider and level. */
	assert_non_null(strstr(fake_log(), "fake hosts_up db-0\n"));
	assert_true(strstr(fake_log(), "fake hosts_up db-0\n") <
		    strstr(fake_log(), "fake hosts_up web-0,web-1\n"));
	fake_log_clear();
	assert_int_equal(up(&w, &err), 0);
	assert_null(strstr(fake_log(), "hosts_up"));
	assert_null(strstr(fake_log(), "create"));
	assert_converged(&w, "fake", 3);
	close_world(&w);
}

static void test_down_destroys_from_the_top_level_down(void **state)
{
	struct world w;
	struct error err;
	const char *log, *c, *b, *a, *net;

	(void)state;
	error_init(&err);
	open_world(&w, "version: 1\nname: p\nproviders: {fake: {}}\n"
		       "roles:\n  a: {}\n  b: {after: [a]}\n"
		       "  c: {after: [b]}\n");
	assert_int_equal(up(&w, &err), 0);
	fake_log_clear();
	assert_int_equal(down(&w, &err), 0);
	log = fake_log();
	c = strstr(log, "fake destroy host c-0");
	b = strstr(log, "fake destroy host b-0");
	a = strstr(log, "fake destroy host a-0");
	net = strstr(log, "fake destroy network net");
	assert_non_null(c);
	assert_non_null(b);
	assert_non_null(a);
	assert_non_null(net);
	assert_true(c < b && b < a && a < net);
	assert_int_equal(w.s->nr_resources, 0);
	assert_int_equal(w.s->nr_hosts, 0);
	assert_int_equal(fake_count("fake", "host"), 0);
	assert_int_equal(fake_count("fake", "network"), 0);
	close_world(&w);
}

static void test_protect_and_static_ip_keep_hosts(void **state)
{
	struct world w;
	struct error err;
	struct opts all = { .down = true, .include_protected = true };

	(void)state;
	error_init(&err);
	open_world(&w, "version: 1\nname: p\nproviders: {fake: {}}\n"
		       "roles:\n  keep: {protect: true}\n"
		       "  ip: {static_ip: true}\n  plain: {}\n");
	assert_int_equal(up(&w, &err), 0);
	assert_int_equal(down(&w, &err), 0);
	assert_null(rec(&w, "fake", "host", "plain-0"));
	assert_non_null(rec(&w, "fake", "host", "keep-0"));
	assert_non_null(rec(&w, "fake", "host", "ip-0"));
	assert_int_equal(fake_count("fake", "host"), 2);
	/* The network stays while hosts are left. */
	assert_int_equal(fake_count("fake", "network"), 1);
	close_world(&w);

	/* A protected role removed from the topology is kept too: the state
	 * recorded its protection. */
	open_world(&w, "version: 1\nname: p\nproviders: {fake: {}}\n"
		       "roles:\n  plain: {}\n");
	assert_int_equal(up(&w, &err), 0);
	assert_non_null(rec(&w, "fake", "host", "keep-0"));
	assert_int_equal(run_opts(&w, &all, &err), 0);
	assert_int_equal(w.s->nr_resources, 0);
	assert_int_equal(fake_count("fake", "host"), 0);
	assert_int_equal(fake_count("fake", "network"), 0);
	close_world(&w);
}

static void test_unrecorded_host_is_reported_then_adopted(void **state)
{
	struct world w;
	struct error err;
	struct plan *p = NULL;
	struct opts look = { .keep = &p };
	struct opts adopt = { .adopt = true };

	(void)state;
	error_init(&err);
	fake_make("fake", "p", "host", "web-1");
	open_world(&w, "version: 1\nname: p\nproviders: {fake: {}}\n"
		       "roles:\n  web: {count: 2}\n");
	assert_int_equal(run_opts(&w, &look, &err), 0);
	assert_int_equal(p->unrecorded, 1);
	assert_int_equal(p->creates, 1);
	plan_free(p);
	assert_int_equal(run_opts(&w, &adopt, &err), 0);
	assert_converged(&w, "fake", 2);
	assert_int_equal(count_lines(fake_log(), "create host web-1"), 0);
	assert_int_equal(count_lines(fake_log(), "create host web-0"), 1);
	close_world(&w);
}

static void test_host_gone_is_made_anew_with_a_new_key(void **state)
{
	struct world w;
	struct error err;
	char *old_key;

	(void)state;
	error_init(&err);
	open_world(&w, TWO_LEVELS);
	assert_int_equal(up(&w, &err), 0);
	old_key = strdup(rec(&w, "fake", "host", "web-0")->key);
	fake_delete("fake", "host", "web-0");
	assert_int_equal(up(&w, &err), 0);
	assert_converged(&w, "fake", 3);
	assert_string_not_equal(rec(&w, "fake", "host", "web-0")->key, old_key);
	free(old_key);
	/* The network, recorded and there, is kept: looked up by id. */
	assert_int_equal(count_lines(fake_log(), "create network net"), 1);
	close_world(&w);
}

/*
 * The protocol resumed from every step: the first run crashes (or fails)
 * at step N (a hook or a save), a new run (from the state on disk, for a
 * crash) finishes it. Nothing is made twice, nothing made is unrecorded.
 */
static void resume_at_every_step(enum fake_mode mode)
{
	unsigned n;

	for (n = 1;; n++) {
		struct world w;
		struct error err;
		int rc;

		error_init(&err);
		fresh_world(&w, TWO_LEVELS);
		fake_fail_at(n, mode);
		rc = up(&w, &err);
		error_clear(&err);
		if (!rc) {
			/* Past the last step: nothing failed. */
			assert_false(fake_crashed());
			assert_converged(&w, "fake", 3);
			close_world(&w);
			break;
		}
		assert_int_equal(rc, mode == FAKE_CRASH ? DEPLOY_ERR_INTERRUPTED
							: DEPLOY_ERR_IO);
		if (mode == FAKE_CRASH)
			reload(&w);
		fake_fail_at(0, mode); /* the new process works */
		rc = up(&w, &err);
		if (rc)
			fail_msg("resume after step %u: %s\n%s", n, err.msg,
				 fake_log());
		assert_converged(&w, "fake", 3);
		/* And down removes every one of them. */
		assert_int_equal(down(&w, &err), 0);
		assert_int_equal(fake_count("fake", "host"), 0);
		assert_int_equal(fake_count("fake", "network"), 0);
		close_world(&w);
	}
	/* Every step of three creates and their saves was tried. */
	assert_true(n > 12);
}

static void test_resume_after_a_crash_at_every_step(void **state)
{
	(void)state;
	resume_at_every_step(FAKE_CRASH);
}

static void test_resume_after_a_failure_at_every_step(void **state)
{
	(void)state;
	resume_at_every_step(FAKE_FAIL);
}

static void test_stop_flag_finishes_the_level_and_starts_nothing(void **state)
{
	struct world w;
	struct error err;

	(void)state;
	error_init(&err);
	open_world(&w, TWO_LEVELS);
	w.stop = 1;
	assert_int_equal(up(&w, &err), PLAN_STOPPED);
	error_clear(&err);
	assert_null(strstr(fake_log(), "hosts_up"));
	assert_int_equal(fake_count("fake", "host"), 0);

	/* Stopped during db's level: db is made and recorded, web not. */
	w.stop = 0;
	w.stop_after_saves = 2;
	assert_int_equal(up(&w, &err), PLAN_STOPPED);
	error_clear(&err);
	assert_int_equal(fake_count("fake", "host"), 1);
	assert_int_equal(rec(&w, "fake", "host", "db-0")->status,
			 RESOURCE_CREATED);
	assert_null(rec(&w, "fake", "host", "web-0"));
	assert_null(strstr(fake_log(), "hosts_up web"));

	w.stop = 0;
	w.stop_after_saves = 0;
	assert_int_equal(up(&w, &err), 0);
	assert_converged(&w, "fake", 3);
	close_world(&w);
}

static void test_two_providers_in_one_level_overlap(void **state)
{
	struct world w;
	struct error err;

	(void)state;
	error_init(&err);
	open_world(&w, "version: 1\nname: p\n"
		       "providers: {fake: {}, fake2: {}}\n"
		       "roles:\n  a: {provider: fake, count: 2}\n"
		       "  b: {provider: fake2, count: 2}\n"
		       "  c: {provider: fake, after: [a, b]}\n");
	/* Each hosts_up waits until the other one is running too. */
	fake_rendezvous(true);
	assert_int_equal(up(&w, &err), 0);
	assert_true(fake_met());
	assert_converged(&w, "fake", 3);
	assert_int_equal(fake_count("fake2", "host"), 2);
	assert_int_equal(fake_count("fake2", "network"), 1);
	assert_non_null(rec(&w, "fake2", "host", "b-1"));
	close_world(&w);
}

static void test_a_failing_provider_lets_the_other_finish(void **state)
{
	struct world w;
	struct error err;

	(void)state;
	error_init(&err);
	open_world(&w, "version: 1\nname: p\n"
		       "providers: {fake: {}, fake2: {}}\n"
		       "roles:\n  a: {provider: fake}\n"
		       "  b: {provider: fake2}\n"
		       "  c: {provider: fake, after: [a, b]}\n");
	/* Step 1 is the first provider's first lookup. */
	fake_fail_at(1, FAKE_FAIL);
	assert_int_equal(up(&w, &err), DEPLOY_ERR_IO);
	error_clear(&err);
	assert_null(strstr(fake_log(), "hosts_up c-0"));
	/* The one that did not fail made its network and host. */
	assert_int_equal(fake_count(NULL, "host"), 1);
	assert_int_equal(fake_count(NULL, "network"), 1);
	fake_fail_at(0, FAKE_FAIL);
	assert_int_equal(up(&w, &err), 0);
	assert_int_equal(fake_count(NULL, "host"), 3);
	assert_int_equal(fake_count(NULL, "network"), 2);
	close_world(&w);
}

/* A listener on 127.0.0.1 that greets every connection with `greeting`. */
struct listener {
	int fd;
	int port;
	const char *greeting;
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct listener *l = arg;
	int c;

	while ((c = accept(l->fd, NULL, NULL)) >= 0) {
		if (write(c, l->greeting, strlen(l->greeting)) < 0)
			break;
		close(c);
	}
	return NULL;
}

static void listen_on(struct listener *l, const char *greeting)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l->greeting = greeting;
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l->fd >= 0);
	assert_int_equal(bind(l->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l->fd, 8), 0);
	assert_int_equal(getsockname(l->fd, (struct sockaddr *)&a, &len), 0);
	l->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&l->thread, NULL, serve, l), 0);
}

static void stop_listening(struct listener *l)
{
	shutdown(l->fd, SHUT_RDWR);
	close(l->fd);
	pthread_join(l->thread, NULL);
}

static void test_probe_wants_an_ssh_banner(void **state)
{
	struct listener ssh, http;
	int closed;

	(void)state;
	listen_on(&ssh, "SSH-2.0-OpenSSH_9.2\r\n");
	listen_on(&http, "HTTP/1.1 400\r\n");
	assert_true(ssh_probe("127.0.0.1", ssh.port, 2000));
	assert_false(ssh_probe("127.0.0.1", http.port, 2000));
	assert_false(ssh_probe("not-an-address", ssh.port, 2000));
	closed = http.port;
	stop_listening(&http);
	assert_false(ssh_probe("127.0.0.1", closed, 2000));
	stop_listening(&ssh);
}

static void test_runner_waits_for_ssh_of_configured_hosts(void **state)
{
	struct world w;
	struct error err;
	struct listener ssh;

	(void)state;
	error_init(&err);
	/* Hosts with playbooks are waited for: here they answer. */
	listen_on(&ssh, "SSH-2.0-test\r\n");
	fake_address("127.0.0.1", ssh.port);
	open_world(&w, "version: 1\nname: p\nproviders: {fake: {}}\n"
		       "roles:\n  a: {playbooks: [harden]}\n");
	assert_int_equal(up(&w, &err), 0);
	close_world(&w);
	stop_listening(&ssh);

	/* Nothing answers (a closed port): the wait is bounded (the fake's
	 * 1 s) and names the host. Hosts without playbooks or behind a
	 * bastion are not waited for. */
	fresh_world(&w, "version: 1\nname: p\nproviders: {fake: {}}\n"
			"roles:\n  quiet: {}\n"
			"  inner: {via: quiet, playbooks: [harden]}\n");
	fake_address("127.0.0.1", ssh.port);
	assert_int_equal(up(&w, &err), 0);
	close_world(&w);
	fresh_world(&w, "version: 1\nname: p\nproviders: {fake: {}}\n"
			"roles:\n  a: {playbooks: [harden]}\n");
	fake_address("127.0.0.1", ssh.port);
	assert_int_equal(up(&w, &err), DEPLOY_ERR_TIMEOUT);
	assert_non_null(strstr(err.msg, "host 'a-0' (127.0.0.1) does not "
					"answer on port"));
	error_clear(&err);
	close_world(&w);
}

static void test_registry_lists_the_fakes_in_test_builds(void **state)
{
	char *makers = provider_list(1, " and ");
	char *all = provider_list(-1, " or ");

	(void)state;
	assert_non_null(provider_find("fake"));
	assert_string_equal(all, "aws, gcp, digitalocean, ssh, local, fake "
				 "or fake2");
	assert_string_equal(makers,
			    "aws, gcp, digitalocean, local, fake and fake2");
	free(makers);
	free(all);
}

#define NEW_SHA \
	"3b1f6e0c9d2a4f8b7e6d5c4b3a29181706f5e4d3c2b1a09f8e7d6c5b4a392817"
#define OLD_SHA \
	"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

/* plan --json: one artifact_change event per host whose recorded artifact
 * the topology now pins at another digest, with the text line's facts. */
static void test_artifact_changes_as_json_events(void **state)
{
	struct world w;
	struct artifact_change *c = NULL;
	struct state_host *sh;
	char *line;
	cJSON *o;
	struct host *limit;
	size_t n;

	(void)state;
	open_world(&w, "version: 1\nname: p\nproviders: {fake: {}}\n"
		       "artifacts:\n"
		       "  neard: {url: 'file:///n', sha256: " NEW_SHA
		       ", version: 2.4.0}\n"
		       "  cfg: {url: 'file:///c', sha256: " NEW_SHA "}\n"
		       "roles:\n  validator: {count: 3}\n");
	/* validator-0 had 2.3.0 (and cfg at the pinned digest already);
	 * validator-1 an unversioned one; validator-2 nothing recorded. */
	sh = state_host_get(w.s, "validator-0", true);
	sh->artifacts = cJSON_Parse(
		"{\"neard\":{\"sha256\":\"" OLD_SHA "\",\"version\":\"2.3.0\","
		"\"playbook\":\"near-node\",\"restart\":true},"
		"\"cfg\":{\"sha256\":\"" NEW_SHA "\"}}");
	sh = state_host_get(w.s, "validator-1", true);
	sh->artifacts = cJSON_Parse("{\"neard\":{\"sha256\":\"" OLD_SHA "\"}}");
	n = artifact_changes(w.t, w.s, NULL, 0, &c);
	assert_int_equal(n, 2);
	o = artifact_change_json(&c[0]);
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	assert_string_equal(
		line,
		"{\"type\":\"artifact_change\",\"host\":\"validator-0\","
		"\"role\":\"validator\",\"playbook\":\"near-node\","
		"\"artifact\":\"neard\",\"from\":\"2.3.0\",\"to\":\"2.4.0\","
		"\"from_sha256\":\"" OLD_SHA "\",\"to_sha256\":\"" NEW_SHA
		"\",\"restart\":true,\"text\":\"~ validator-0: near-node: "
		"neard 2.3.0 \xe2\x86\x92 2.4.0, restart\"}");
	cJSON_free(line);
	/* No playbook recorded: no key (not null); short digest as from. */
	o = artifact_change_json(&c[1]);
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	assert_null(strstr(line, "\"playbook\""));
	assert_non_null(strstr(line, "\"from\":\"9f86d081884c\""));
	assert_non_null(strstr(line, "\"restart\":false"));
	assert_non_null(strstr(line, "\"text\":\"~ validator-1: neard "
				     "9f86d081884c \xe2\x86\x92 2.4.0\""));
	cJSON_free(line);
	free(c);
	/* --limit: only the hosts named. */
	limit = &w.t->roles[0].hosts[1];
	n = artifact_changes(w.t, w.s, &limit, 1, &c);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].host, "validator-1");
	free(c);
	close_world(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_up_creates_once_and_then_keeps, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_down_destroys_from_the_top_level_down, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_protect_and_static_ip_keep_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unrecorded_host_is_reported_then_adopted, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_host_gone_is_made_anew_with_a_new_key, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_resume_after_a_crash_at_every_step, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_resume_after_a_failure_at_every_step, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_stop_flag_finishes_the_level_and_starts_nothing,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_two_providers_in_one_level_overlap, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_a_failing_provider_lets_the_other_finish, setup,
			teardown),
		cmocka_unit_test(test_probe_wants_an_ssh_banner),
		cmocka_unit_test_setup_teardown(
			test_runner_waits_for_ssh_of_configured_hosts, setup,
			teardown),
		cmocka_unit_test(test_registry_lists_the_fakes_in_test_builds),
		cmocka_unit_test_setup_teardown(
			test_artifact_changes_as_json_events, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
