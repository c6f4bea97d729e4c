/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a host script's output through the progress reader. */

/*
 * libFuzzer target: any bytes as a host's script stdout, read by the
 * runner's progress reader (lines, nonce'd markers, their order). The
 * first two bytes choose the script's number of steps and handlers. The
 * same bytes fed at once, byte by byte, and in uneven pieces must give the
 * same verdict and the same markers; an "end ok" that is believed means
 * every step ran. Nothing may crash, leak or grow past the line cap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "run/progress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NONCE "0123456789abcdef"

struct seen {
	size_t markers;
	size_t sum; /* of types and numbers: cheap to compare */
};

static void count(void *data, const struct marker *m)
{
	struct seen *s = data;

	s->markers++;
	s->sum = s->sum * 31 + (size_t)m->type * 7 + m->n + m->total +
		 (size_t)m->status + m->text_len;
}

static void read_all(const uint8_t *data, size_t size, size_t steps,
		     size_t handlers, int how, struct progress *p,
		     struct seen *s)
{
	size_t i = 0;

	progress_init(p, NONCE, steps, handlers);
	while (i < size) {
		size_t n = how == 0   ? size - i
			   : how == 1 ? 1
				      : 1 + (data[i] % 97);

		if (n > size - i)
			n = size - i;
		progress_feed(p, (const char *)data + i, n, count, s);
		if (p->line.len > PROGRESS_LINE_MAX)
			abort();
		i += n;
	}
	progress_close(p, count, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct progress p[3];
	struct seen s[3];
	size_t steps, handlers;

	if (size < 2)
		return 0;
	steps = data[0] % 8;
	handlers = data[1] % 4;
	data += 2;
	size -= 2;
	for (int how = 0; how < 3; how++) {
		memset(&s[how], 0, sizeof(s[how]));
		read_all(data, size, steps, handlers, how, &p[how], &s[how]);
	}
	for (int how = 1; how < 3; how++)
		if (p[how].lied != p[0].lied || p[how].ended != p[0].ended ||
		    p[how].end_ok != p[0].end_ok ||
		    strcmp(p[how].why, p[0].why) ||
		    s[how].markers != s[0].markers || s[how].sum != s[0].sum)
			abort();
	if (!p[0].lied && p[0].ended && p[0].end_ok &&
	    (p[0].step != steps || p[0].open || p[0].failed))
		abort();
	for (int how = 0; how < 3; how++)
		progress_free(&p[how]);
	return 0;
}
