/* SPDX-License-Identifier: MIT */
/* The remote state backend over an in-memory object store: the ETag and
 * If-Match bookkeeping of every save, the lock object, and the lock note's
 * parser (fuzzed: a note deploy did not write is a clear error). */
#include "cmocka-setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/backend.h"
#include "state/lock-note.h"
#include "state/objstore.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* --- an object store in memory, with S3's conditional semantics ------- */

#define MAX_OBJECTS 4

struct mem_object {
	char *key;
	struct buf body;
	char etag[32];
};

/* The objects, shared by every head (a run's backend) over them. */
struct mem_store {
	struct mem_object o[MAX_OBJECTS];
	unsigned next_etag;
	unsigned puts;
	/* Faults: */
	bool take_then_412;   /* the next PUT is stored but answered 412,
				 as a retry after a lost answer sees it */
	const char *fail_put; /* a PUT of this key is answered 500 */
	/* The last PUT's conditions. */
	char last_if_match[32];
	bool last_if_none_match;
};

static struct mem_object *find(struct mem_store *m, const char *key)
{
	for (size_t i = 0; i < MAX_OBJECTS; i++)
		if (m->o[i].key && !strcmp(m->o[i].key, key))
			return &m->o[i];
	return NULL;
}

static void mem_set(struct mem_store *m, const char *key, const char *text)
{
	struct mem_object *o = find(m, key);

	for (size_t i = 0; !o && i < MAX_OBJECTS; i++)
		if (!m->o[i].key) {
			o = &m->o[i];
			o->key = xstrdup(key);
			buf_init(&o->body, 0);
		}
	assert_non_null(o);
	buf_reset(&o->body);
	buf_adds(&o->body, text);
	snprintf(o->etag, sizeof(o->etag), "\"e%u\"", ++m->next_etag);
}

static void mem_remove(struct mem_object *o)
{
	free(o->key);
	buf_free(&o->body);
	memset(o, 0, sizeof(*o));
}

struct mem_head {
	struct objstore base;
	struct mem_store *m;
};

static struct mem_store *mem(struct objstore *s)
{
	return ((struct mem_head *)s)->m;
}

static int mem_get(struct objstore *s, const char *key,
		   struct objstore_result *r, struct error *err)
{
	struct mem_object *o = find(mem(s), key);

	(void)err;
	r->status = o ? 200 : 404;
	free(r->etag);
	r->etag = o ? xstrdup(o->etag) : NULL;
	snprintf(r->code, sizeof(r->code), "%s", o ? "" : "NoSuchKey");
	buf_reset(&r->body);
	if (o)
		buf_add(&r->body, o->body.data, o->body.len);
	return 0;
}

static int mem_put(struct objstore *s, const char *key, const void *body,
		   size_t len, const struct objstore_put_opts *po,
		   struct objstore_result *r, struct error *err)
{
	struct mem_store *m = mem(s);
	struct mem_object *o = find(m, key);
	char *text = xstrndup(body, len);

	(void)err;
	m->puts++;
	snprintf(m->last_if_match, sizeof(m->last_if_match), "%s",
		 po->if_match ? po->if_match : "");
	m->last_if_none_match = po->if_none_match;
	free(r->etag);
	r->etag = NULL;
	r->retried = false;
	if (m->fail_put && !strcmp(m->fail_put, key)) {
		r->status = 500;
		snprintf(r->code, sizeof(r->code), "InternalError");
	} else if ((po->if_none_match && o) ||
		   (po->if_match && (!o || strcmp(o->etag, po->if_match)))) {
		r->status = 412;
		snprintf(r->code, sizeof(r->code), "PreconditionFailed");
	} else {
		mem_set(m, key, text);
		r->status = 200;
		r->etag = xstrdup(find(m, key)->etag);
		r->code[0] = '\0';
		if (m->take_then_412) {
			m->take_then_412 = false;
			r->status = 412;
			r->retried = true;
			snprintf(r->code, sizeof(r->code),
				 "PreconditionFailed");
			free(r->etag);
			r->etag = NULL;
		}
	}
	free(text);
	return 0;
}

static int mem_del(struct objstore *s, const char *key, const char *if_match,
		   struct objstore_result *r, struct error *err)
{
	struct mem_object *o = find(mem(s), key);

	(void)err;
	if (!o)
		r->status = 404;
	else if (if_match && strcmp(if_match, o->etag))
		r->status = 412;
	else {
		mem_remove(o);
		r->status = 204;
	}
	return 0;
}

static int mem_answer_error(struct objstore *s, const struct objstore_result *r,
			    const char *what, const char *key,
			    struct error *err)
{
	return error_set(err, DEPLOY_ERR_INVALID, NULL, 0, 0,
			 "%s%s: %s: HTTP %ld (%s)", s->prefix, key, what,
			 r->status, r->code);
}

static bool mem_no_bucket(const struct objstore_result *r)
{
	return !strcmp(r->code, "NoSuchBucket");
}

static void mem_close(struct objstore *s)
{
	free(s); /* the head; the objects are the test's */
}

static const struct objstore_ops mem_ops = {
	.get = mem_get,
	.put = mem_put,
	.del = mem_del,
	.answer_error = mem_answer_error,
	.no_bucket = mem_no_bucket,
	.close = mem_close,
};

/* A backend over m's objects: one run's. */
static struct state_backend *open_backend(struct mem_store *m)
{
	struct mem_head *h = xcalloc(1, sizeof(*h));
	struct state_backend *b;

	h->base.ops = &mem_ops;
	h->base.prefix = xstrdup("mem://bucket/");
	h->base.key = xstrdup("t.state.json");
	h->m = m;
	assert_int_equal(state_backend_object_new(&h->base, &b), 0);
	return b;
}

static struct mem_store *new_store(void)
{
	return xcalloc(1, sizeof(struct mem_store));
}

static void free_store(struct mem_store *m)
{
	for (size_t i = 0; i < MAX_OBJECTS; i++)
		if (m->o[i].key)
			mem_remove(&m->o[i]);
	free(m);
}

/* --- saves: the ETag read is the condition of the write --------------- */

static void test_saves_are_compare_and_swap(void **unused)
{
	struct mem_store *m = new_store();
	struct state_backend *b = open_backend(m);
	struct state *s = NULL;
	struct error err;
	char etag1[32];

	(void)unused;
	error_init(&err);
	assert_int_equal(state_backend_load(b, "t", &s, &err), 0);
	/* No state yet: the first save may only create. */
	assert_int_equal(state_backend_save(b, s, &err), 0);
	assert_true(m->last_if_none_match);
	assert_string_equal(m->last_if_match, "");
	snprintf(etag1, sizeof(etag1), "%s", find(m, "t.state.json")->etag);
	/* The next one goes over exactly what this run wrote. */
	assert_int_equal(state_backend_save(b, s, &err), 0);
	assert_false(m->last_if_none_match);
	assert_string_equal(m->last_if_match, etag1);
	assert_int_equal(s->serial, 2);
	state_free(s);
	state_backend_free(b);
	free_store(m);
}

static void test_a_newer_state_is_never_overwritten(void **unused)
{
	struct mem_store *m = new_store();
	struct state_backend *b = open_backend(m);
	struct state *s = NULL;
	struct error err;
	const char *newer = "{\"forged\": true}";

	(void)unused;
	error_init(&err);
	assert_int_equal(state_backend_load(b, "t", &s, &err), 0);
	assert_int_equal(state_backend_save(b, s, &err), 0);
	/* Another run writes between this run's read and its write. */
	mem_set(m, "t.state.json", newer);
	assert_int_not_equal(state_backend_save(b, s, &err), 0);
	assert_non_null(strstr(err.msg, "mem://bucket/t.state.json: the state "
					"was changed by another run since this "
					"run read it (HTTP 412 "
					"PreconditionFailed)"));
	assert_string_equal(find(m, "t.state.json")->body.data, newer);
	assert_int_equal(s->serial, 1); /* not counted */
	error_clear(&err);
	state_free(s);
	state_backend_free(b);
	free_store(m);
}

static void test_a_retried_write_that_was_taken_is_success(void **unused)
{
	struct mem_store *m = new_store();
	struct state_backend *b = open_backend(m);
	struct state *s = NULL;
	struct error err;
	char etag[32];

	(void)unused;
	error_init(&err);
	assert_int_equal(state_backend_load(b, "t", &s, &err), 0);
	assert_int_equal(state_backend_save(b, s, &err), 0);
	m->take_then_412 = true;
	assert_int_equal(state_backend_save(b, s, &err), 0);
	/* And the ETag is the stored version's: the next save goes on. */
	snprintf(etag, sizeof(etag), "%s", find(m, "t.state.json")->etag);
	assert_int_equal(state_backend_save(b, s, &err), 0);
	assert_string_equal(m->last_if_match, etag);
	assert_int_equal(s->serial, 3);
	state_free(s);
	state_backend_free(b);
	free_store(m);
}

static void test_a_failed_save_is_an_error(void **unused)
{
	struct mem_store *m = new_store();
	struct state_backend *b = open_backend(m);
	struct state *s = NULL;
	struct error err;

	(void)unused;
	error_init(&err);
	assert_int_equal(state_backend_load(b, "t", &s, &err), 0);
	m->fail_put = "t.state.json";
	assert_int_not_equal(state_backend_save(b, s, &err), 0);
	assert_string_equal(err.msg, "mem://bucket/t.state.json: cannot write "
				     "the state: HTTP 500 (InternalError)");
	assert_int_equal(s->serial, 0);
	assert_null(find(m, "t.state.json"));
	error_clear(&err);
	state_free(s);
	state_backend_free(b);
	free_store(m);
}

static void test_write_text_refuses_an_existing_state(void **unused)
{
	struct mem_store *m = new_store();
	struct state_backend *b = open_backend(m);
	struct error err;

	(void)unused;
	error_init(&err);
	mem_set(m, "t.state.json", "{}");
	assert_int_not_equal(state_backend_write_text(b, "x", 1, false, &err),
			     0);
	assert_string_equal(err.msg, "mem://bucket/t.state.json: a state is "
				     "already there: deploy will not "
				     "overwrite it unless told (--force)");
	error_clear(&err);
	assert_int_equal(state_backend_write_text(b, "x", 1, true, &err), 0);
	assert_string_equal(find(m, "t.state.json")->body.data, "x");
	state_backend_free(b);
	free_store(m);
}

/* --- the lock object ---------------------------------------------------- */

static void test_lock_names_its_holder_and_breaks(void **unused)
{
	struct mem_store *m = new_store();
	struct state_backend *a = open_backend(m), *b = open_backend(m);
	char *holder = NULL, *id = NULL, want[200];
	struct error err;

	(void)unused;
	error_init(&err);
	assert_int_equal(state_backend_lock(a, "deploy up", 0, &err), 0);
	assert_non_null(find(m, "t.state.json.lock"));
	assert_int_not_equal(state_backend_lock(b, "deploy up", 0, &err), 0);
	assert_int_equal(state_backend_holder(b, &holder, &id, &err), 0);
	assert_non_null(id);
	snprintf(want, sizeof(want), "run 'deploy unlock %s'", id);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, "is locked by another deploy ("));
	assert_non_null(strstr(holder, "'deploy up', since "));
	error_clear(&err);
	/* Broken only with the holder's id. */
	assert_int_not_equal(
		state_backend_break_lock(
			b, "00000000-0000-4000-8000-000000000000", &err),
		0);
	error_clear(&err);
	assert_int_equal(state_backend_break_lock(b, id, &err), 0);
	assert_null(find(m, "t.state.json.lock"));
	/* b takes it; a's release (If-Match a's ETag) leaves b's alone. */
	assert_int_equal(state_backend_lock(b, "deploy down", 0, &err), 0);
	state_backend_unlock(a);
	assert_non_null(find(m, "t.state.json.lock"));
	state_backend_unlock(b);
	assert_null(find(m, "t.state.json.lock"));
	free(holder);
	free(id);
	state_backend_free(b);
	state_backend_free(a);
	free_store(m);
}

static void test_an_unreadable_lock_is_named_and_breakable(void **unused)
{
	struct mem_store *m = new_store();
	struct state_backend *b = open_backend(m);
	char *holder = NULL, *id = NULL;
	struct error err;

	(void)unused;
	error_init(&err);
	mem_set(m, "t.state.json.lock", "garbage");
	assert_int_not_equal(state_backend_lock(b, "deploy up", 0, &err), 0);
	assert_string_equal(err.msg,
			    "mem://bucket/t.state.json is locked by an object "
			    "deploy cannot read at mem://bucket/"
			    "t.state.json.lock (not a lock note deploy wrote: "
			    "not JSON): if no deploy run is under way, 'deploy "
			    "unlock --yes' removes it");
	error_clear(&err);
	assert_int_equal(state_backend_holder(b, &holder, &id, &err), 0);
	assert_null(id);
	assert_non_null(holder);
	assert_int_not_equal(
		state_backend_break_lock(
			b, "00000000-0000-4000-8000-000000000000", &err),
		0);
	error_clear(&err);
	assert_int_equal(state_backend_break_lock(b, NULL, &err), 0);
	assert_null(find(m, "t.state.json.lock"));
	free(holder);
	state_backend_free(b);
	free_store(m);
}

/* --- the lock note -------------------------------------------------------- */

#define UUID "0f8fad5b-d9cb-469f-a165-70867728950e"

static void test_lock_note_round_trip(void **unused)
{
	struct lock_note n = { UUID, "ops@ci-7", "4242", "deploy up",
			       "2026-01-02T03:04:05Z" };
	struct lock_note r;
	struct error err;
	char *text = lock_note_text(&n), *d;

	(void)unused;
	error_init(&err);
	assert_int_equal(lock_note_parse(text, strlen(text), &r, &err), 0);
	d = lock_note_describe(&r);
	assert_string_equal(d, "ops@ci-7, pid 4242, 'deploy up', since "
			       "2026-01-02T03:04:05Z; lock id " UUID);
	free(d);
	free(text);
	lock_note_free(&r);
}

static void test_lock_note_refusals(void **unused)
{
	static const struct {
		const char *text;
		const char *why;
	} bad[] = {
		{ "", "not JSON" },
		{ "{", "not JSON" },
		{ "[]", "not a JSON object" },
		{ "null", "not a JSON object" },
		{ "\"" UUID "\"", "not a JSON object" },
		{ "{}", "no string 'id'" },
		{ "{\"id\": 7}", "no string 'id'" },
		{ "{\"id\": \"x\"}", "its 'id' is not a lock id (a UUID)" },
		{ "{\"id\": \"" UUID "x\"}",
		  "its 'id' is not a lock id (a UUID)" },
		{ "{\"id\": \"0F8FAD5B-D9CB-469F-A165-70867728950E\"}",
		  "its 'id' is not a lock id (a UUID)" },
		{ "{\"id\": \"" UUID "\", \"who\": 5}", "no string 'who'" },
		{ "{\"id\": \"" UUID "\", \"who\": \"a\\nb\"}",
		  "no string 'who'" },
		{ "{\"id\": \"" UUID "\", \"pid\": \"12a\"}",
		  "its 'pid' is not a number" },
		{ "{\"id\": \"" UUID "\", \"pid\": \"\"}",
		  "its 'pid' is not a number" },
	};
	struct lock_note n;
	struct error err;
	char want[128];

	(void)unused;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_init(&err);
		assert_int_equal(lock_note_parse(bad[i].text,
						 strlen(bad[i].text), &n, &err),
				 DEPLOY_ERR_SYNTAX);
		snprintf(want, sizeof(want), "not a lock note deploy wrote: %s",
			 bad[i].why);
		assert_string_equal(err.msg, want);
		assert_null(n.id);
		error_clear(&err);
	}
	/* Only the id is required. */
	error_init(&err);
	assert_int_equal(lock_note_parse("{\"id\": \"" UUID "\"}",
					 strlen("{\"id\": \"" UUID "\"}"), &n,
					 &err),
			 0);
	lock_note_free(&n);
}

static void test_lock_note_too_long(void **unused)
{
	size_t len = LOCK_NOTE_MAX + 1;
	char *text = xcalloc(1, len + 1);
	struct lock_note n;
	struct error err;

	(void)unused;
	memset(text, ' ', len);
	error_init(&err);
	assert_int_equal(lock_note_parse(text, len, &n, &err),
			 DEPLOY_ERR_SYNTAX);
	assert_string_equal(err.msg, "not a lock note deploy wrote: longer "
				     "than a lock note");
	free(text);
}

/* Mutations of a valid note (bytes flipped, cut, spliced): each either
 * parses to a note with a UUID id or is a clear error; never anything
 * else (and under ASan, no bad access). Fixed seed: reproducible. */
static void test_lock_note_fuzzed(void **unused)
{
	struct lock_note n = { UUID, "ops@ci-7", "4242", "deploy up",
			       "2026-01-02T03:04:05Z" };
	char *good = lock_note_text(&n);
	size_t glen = strlen(good);
	unsigned long seed = 0x5eed;
	static const char alphabet[] = "{}[]\":,\\ \n0aZ-\x01\xff";
	unsigned ok = 0, refused = 0;

	(void)unused;
	for (int iter = 0; iter < 20000; iter++) {
		char buf[1024];
		size_t len = glen;
		struct lock_note r;
		struct error err;
		int rc;

		memcpy(buf, good, glen);
		for (int k = 0; k < 1 + iter % 4; k++) {
			size_t at;

			seed = seed * 6364136223846793005UL +
			       1442695040888963407UL;
			at = (seed >> 33) % len;
			switch ((seed >> 20) % 3) {
			case 0:
				buf[at] = alphabet[(seed >> 8) %
						   (sizeof(alphabet) - 1)];
				break;
			case 1:
				len = at; /* cut */
				break;
			default:
				if (len < sizeof(buf) - 1) {
					memmove(buf + at + 1, buf + at,
						len - at);
					buf[at] = alphabet[(seed >> 8) %
							   (sizeof(alphabet) -
							    1)];
					len++;
				}
			}
			if (!len)
				break;
		}
		error_init(&err);
		rc = lock_note_parse(buf, len, &r, &err);
		if (rc) {
			assert_int_equal(rc, DEPLOY_ERR_SYNTAX);
			assert_memory_equal(
				err.msg, "not a lock note deploy wrote: ", 30);
			assert_null(r.id);
			refused++;
		} else {
			assert_int_equal(strlen(r.id), 36);
			lock_note_free(&r);
			ok++;
		}
		error_clear(&err);
	}
	assert_true(ok > 0 && refused > 0);
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_saves_are_compare_and_swap),
		cmocka_unit_test(test_a_newer_state_is_never_overwritten),
		cmocka_unit_test(
			test_a_retried_write_that_was_taken_is_success),
		cmocka_unit_test(test_a_failed_save_is_an_error),
		cmocka_unit_test(test_write_text_refuses_an_existing_state),
		cmocka_unit_test(test_lock_names_its_holder_and_breaks),
		cmocka_unit_test(
			test_an_unreadable_lock_is_named_and_breakable),
		cmocka_unit_test(test_lock_note_round_trip),
		cmocka_unit_test(test_lock_note_refusals),
		cmocka_unit_test(test_lock_note_too_long),
		cmocka_unit_test(test_lock_note_fuzzed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
