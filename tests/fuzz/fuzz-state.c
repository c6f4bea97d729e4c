/* SPDX-License-Identifier: MIT */
/* libFuzzer target: state files and source lock files. */

/*
 * libFuzzer target: any bytes as a state file (.deploy/NAME.state.json),
 * as a source lock file (NAME.lock) and as a remote run lock's note (the
 * S3 lock object). A state that loads is saved and loaded again with the
 * same resources and hosts; a lock file or a lock note that parses is
 * written, parsed again and reads the same. Nothing may crash, leak or
 * overflow. The files live in a private directory under /dev/shm (or
 * TMPDIR) that the target removes at exit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/source.h"
#include "state/lock-note.h"
#include "state/state.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char in_path[128], out_path[128];

static void cleanup(void)
{
	char p[160];

	unlink(in_path);
	unlink(out_path);
	snprintf(p, sizeof(p), "%s.backup", out_path);
	unlink(p);
	rmdir(dir);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/fuzz-state-XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	if (!mkdtemp(dir))
		abort();
	snprintf(in_path, sizeof(in_path), "%s/in.state.json", dir);
	snprintf(out_path, sizeof(out_path), "%s/out.state.json", dir);
	atexit(cleanup);
}

static void fuzz_state(const uint8_t *data, size_t size)
{
	struct state *s = NULL, *again = NULL;
	struct error err;
	FILE *f = fopen(in_path, "w");
	long serial;

	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	error_init(&err);
	if (state_load(in_path, "fuzz", &s, &err))
		goto out;
	free(s->path);
	s->path = strdup(out_path);
	serial = s->serial;
	if (state_save(s, &err))
		abort(); /* what was read can be written */
	if (state_load(out_path, "fuzz", &again, &err))
		abort(); /* and read back */
	if (again->nr_resources != s->nr_resources ||
	    again->nr_hosts != s->nr_hosts || again->serial != serial + 1 ||
	    strcmp(again->lineage, s->lineage))
		abort();
out:
	state_free(s);
	state_free(again);
	error_clear(&err);
}

static void fuzz_lock(const uint8_t *data, size_t size)
{
	struct source_lock *l = NULL, *l2 = NULL;
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct error err;

	error_init(&err);
	if (source_lock_parse("fuzz.lock", (const char *)data, size, &l, &err))
		goto out;
	source_lock_format(l, &a);
	if (source_lock_parse("fuzz.lock", a.data, a.len, &l2, &err))
		abort(); /* what was read can be written and read back */
	source_lock_format(l2, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len))
		abort();
out:
	source_lock_free(l);
	source_lock_free(l2);
	buf_free(&a);
	buf_free(&b);
	error_clear(&err);
}

static void fuzz_lock_note(const uint8_t *data, size_t size)
{
	struct lock_note n, again;
	struct error err;
	char *text, *d1, *d2;

	error_init(&err);
	if (lock_note_parse((const char *)data, size, &n, &err)) {
		if (err.code != DEPLOY_ERR_SYNTAX)
			abort(); /* a refusal is the clear one */
		error_clear(&err);
		return;
	}
	text = lock_note_text(&n);
	if (lock_note_parse(text, strlen(text), &again, &err))
		abort(); /* what was read can be written and read back */
	d1 = lock_note_describe(&n);
	d2 = lock_note_describe(&again);
	if (strcmp(d1, d2))
		abort();
	free(d1);
	free(d2);
	free(text);
	lock_note_free(&n);
	lock_note_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0])
		setup();
	fuzz_state(data, size);
	fuzz_lock(data, size);
	fuzz_lock_note(data, size);
	return 0;
}
