/* task: task objects, their identity, source settings and piece md5 table (see task.h for
 * the locking rules). */
#include "config.h"
#include "task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "piece.h"
#include "progress.h"
#include "regreq.h"
#include "xalloc.h"

char **sn_strv_dup(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **out = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

void sn_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 31);
}

uint64_t sn_source_hash(const char *url, const char *const *headers)
{
	uint64_t sum = fnv(url) * 31;
	for (size_t i = 0; headers && headers[i]; i++)
		sum += fnv(headers[i]); /* a sum: the order of the headers does not matter */
	return sum;
}

struct sn_task *sn_task_new(const char *id, const struct sn_regreq *r, const char *repo_dir,
			    int64_t now_ms)
{
	struct sn_task *t = xcalloc(1, sizeof(*t));
	memcpy(t->id, id, DF_TASK_ID_LEN);
	t->id[DF_TASK_ID_LEN] = '\0';
	t->task_url = xstrdup(r->task_url);
	t->md5 = xstrdup(r->md5);
	t->identifier = xstrdup(*r->md5 ? "" : r->identifier);
	const char *range = sn_regreq_range(r);
	t->range = xstrdup(range ? range : "");
	t->path = xasprintf("%s/%.3s/%s", repo_dir, id, id);
	t->meta_path = xasprintf("%s.meta", t->path);
	t->http_path = xasprintf("/download/%.3s/%s", id, id);
	atomic_init(&t->refs, 1);
	atomic_init(&t->gen, 0);
	pthread_mutex_init(&t->lock, NULL);
	t->state = SN_CDN_NEW;
	t->src_len = -1;
	t->prog = sn_progress_new();
	t->last_access_ms = now_ms;
	t->created_ms = now_ms;
	sn_task_set_source_locked(t, r);
	return t;
}

void sn_task_ref(struct sn_task *t)
{
	atomic_fetch_add(&t->refs, 1);
}

void sn_task_unref(struct sn_task *t)
{
	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	free(t->task_url);
	free(t->md5);
	free(t->identifier);
	free(t->range);
	free(t->path);
	free(t->meta_path);
	free(t->http_path);
	free(t->raw_url);
	sn_strv_free(t->headers);
	free(t->ca_pem);
	free(t->fail_msg);
	free(t->piece_md5);
	sn_progress_free(t->prog);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

bool sn_task_same_identity(const struct sn_task *t, const struct sn_regreq *r)
{
	const char *ident = *r->md5 ? "" : r->identifier;
	return strcmp(t->task_url, r->task_url) == 0 && strcmp(t->md5, r->md5) == 0 &&
	       strcmp(t->identifier, ident) == 0;
}

void sn_task_set_source_locked(struct sn_task *t, const struct sn_regreq *r)
{
	free(t->raw_url);
	t->raw_url = xstrdup(r->raw_url);
	sn_strv_free(t->headers);
	t->headers = sn_strv_dup((const char *const *)r->headers);
	t->source_hash = sn_source_hash(r->raw_url, (const char *const *)r->headers);
	t->insecure = r->insecure;
	free(t->ca_pem);
	t->ca_pem = NULL;
	t->ca_len = 0;
	if (r->root_cas && r->root_cas_len) {
		t->ca_pem = xmalloc(r->root_cas_len + 1);
		memcpy(t->ca_pem, r->root_cas, r->root_cas_len + 1);
		t->ca_len = r->root_cas_len;
	}
}

void sn_task_set_piece_md5_locked(struct sn_task *t, int64_t n, const char *md5,
				  int64_t framed_len)
{
	if (n >= t->md5_cap) {
		int64_t cap = t->md5_cap ? t->md5_cap : 16;
		while (cap <= n)
			cap *= 2;
		t->piece_md5 = xrealloc(t->piece_md5, (size_t)cap * sizeof(*t->piece_md5));
		memset(t->piece_md5 + t->md5_cap, 0,
		       (size_t)(cap - t->md5_cap) * sizeof(*t->piece_md5));
		t->md5_cap = cap;
	}
	snprintf(t->piece_md5[n], sizeof(t->piece_md5[n]), "%.32s:%lld", md5,
		 (long long)framed_len);
}

int64_t sn_task_framed_len_locked(const struct sn_task *t)
{
	if (t->src_len < 0 || t->piece_size <= 0)
		return -1;
	return df_piece_framed_len(t->src_len, t->piece_size);
}

void sn_task_bump_locked(struct sn_task *t)
{
	atomic_fetch_add(&t->gen, 1);
}
