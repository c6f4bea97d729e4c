/* SPDX-License-Identifier: MIT */
/* What up records of a host it configured: when, artifacts, playbooks. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "playbook/compile.h"
#include "playbook/playbook.h"
#include "run/record.h"
#include "util/buf.h"
#include "util/banned.h"

void record_now(char *out, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void file_digest(const char *path, char *out, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	struct buf text = BUF_INIT;

	out[0] = '\0';
	if (buf_read_file(&text, path) ||
	    !EVP_Digest(text.data, text.len, md, &n, EVP_sha256(), NULL)) {
		buf_free(&text);
		return;
	}
	for (unsigned int i = 0; i < n && 2 * i + 2 < size; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	buf_free(&text);
}

/* What the host's artifact steps put there, for plan's "~" lines. */
static void record_artifacts(struct state_host *sh, const struct script *sc)
{
	cJSON_Delete(sh->artifacts);
	sh->artifacts = NULL;
	if (!sc || !sc->nr_artifacts)
		return;
	sh->artifacts = cJSON_CreateObject();
	for (size_t i = 0; i < sc->nr_artifacts; i++) {
		const struct script_artifact *sa = &sc->artifacts[i];
		cJSON *o = cJSON_CreateObject();
		char sum[65];
		size_t j;

		for (j = 0; j < 64 && sa->a->sha256[j]; j++)
			sum[j] = (char)(sa->a->sha256[j] >= 'A' &&
							sa->a->sha256[j] <= 'F'
						? sa->a->sha256[j] - 'A' + 'a'
						: sa->a->sha256[j]);
		sum[j] = '\0';
		cJSON_AddStringToObject(o, "sha256", sum);
		if (sa->a->version)
			cJSON_AddStringToObject(o, "version", sa->a->version);
		if (sa->playbook)
			cJSON_AddStringToObject(o, "playbook", sa->playbook);
		cJSON_AddBoolToObject(o, "restart", sa->restart);
		cJSON_DeleteItemFromObjectCaseSensitive(sh->artifacts,
							sa->a->name);
		cJSON_AddItemToObject(sh->artifacts, sa->a->name, o);
	}
}

void record_applied(struct state_host *sh, const char *when,
		    const struct script *sc, const struct role *role,
		    struct playbook *const *pbs)
{
	state_host_set(&sh->applied_at, when);
	record_artifacts(sh, sc);
	cJSON_Delete(sh->playbooks);
	sh->playbooks = cJSON_CreateObject();
	for (size_t j = 0; j < role->nr_playbooks; j++) {
		char digest[80];

		file_digest(pbs[j]->file, digest, sizeof(digest));
		cJSON_AddStringToObject(sh->playbooks, role->playbooks[j],
					digest);
	}
}
