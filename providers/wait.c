/* SPDX-License-Identifier: MIT */
/* The wait until a provider's new hosts run: one list a round (wait.h). */
#include "providers/wait.h"

#include <stdlib.h>
#include <string.h>

#include "util/file.h"
#include "util/xalloc.h"
#include "util/banned.h"

int provider_wait_hosts(struct provider_run *run, struct host *const *hosts,
			size_t nr, const struct host_wait *w, struct error *err)
{
	bool *done = xcalloc(nr + 1, sizeof(bool));
	bool *seen = xcalloc(nr + 1, sizeof(bool));
	int *missing = xcalloc(nr + 1, sizeof(int));
	long long deadline = now_ms() + w->deadline_s * 1000LL;
	const char *word = strrchr(w->noun, ' ');
	size_t left = nr;
	long pause = 500;
	int rc = 0;

	word = word ? word + 1 : w->noun;
	while (left) {
		memset(seen, 0, nr * sizeof(bool));
		rc = w->round(run, w->ud, done, seen, err);
		if (rc)
			break;
		rc = run->save(run, err);
		left = 0;
		for (size_t i = 0; !rc && i < nr; i++) {
			missing[i] = done[i] || seen[i] ? 0 : missing[i] + 1;
			left += !done[i];
			if (missing[i] >= w->max_missing)
				rc = error_set(
					err, DEPLOY_ERR_REMOTE, NULL, 0, 0,
					"%s '%s' is gone %s: run again "
					"to make it anew",
					w->noun, hosts[i]->name, w->gone_why);
		}
		if (rc || !left)
			break;
		if (run->stop && *run->stop) {
			rc = error_set(err, DEPLOY_ERR_INTERRUPTED, NULL, 0, 0,
				       "interrupted while waiting for %ss",
				       w->noun);
			break;
		}
		if (now_ms() > deadline) {
			rc = error_set(err, DEPLOY_ERR_TIMEOUT, NULL, 0, 0,
				       "%s: %zu %s%s not %s after %d s",
				       w->provider, left, word,
				       left == 1 ? "" : "s", w->state,
				       w->deadline_s);
			break;
		}
		provider_sleep(run, pause / 2 + (long)(now_ms() % (pause / 2)));
		if (pause < 5000)
			pause *= 2;
	}
	free(done);
	free(seen);
	free(missing);
	return rc;
}
