/* task: one file to distribute, keyed by its task id: its identity (task URL, md5,
 * identifier, range), how to reach the source (URL, headers, TLS settings), the state of
 * its CDN copy (length, geometry, piece md5s, digests, a remembered source failure), and
 * its progress (clients, pieces, transfers).
 *
 * Locking: `lock` guards every field tagged "lock" and the whole progress. Fields tagged
 * "immutable" never change after sn_task_new. `refs` and `gen` are atomic. The waiters
 * list belongs to the wait queue's lock (waitq.h). Never do network or disk I/O, nor call
 * MHD, with the lock held.
 *
 * Lifetime: reference counted. The registry holds one reference while the task is listed;
 * every user (a request, a CDN job) takes its own with sn_task_ref.
 */
#ifndef SN_TASK_H
#define SN_TASK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "taskid.h"
#include "waitq.h"

struct sn_regreq;
struct sn_progress;

/* Download reports (/task/metrics) kept per task: the last SN_TASK_DL_KEEP durations. */
#define SN_TASK_DL_KEEP 64

/* What the task's clients and its CDN copy did, for operators (REST API, status page).
 * Guarded by the task lock. */
struct sn_task_stats {
	int64_t bytes_from_peers; /* content bytes its clients reported fetched from peers */
	int64_t bytes_from_sn;	  /* ... and from the supernode */
	int64_t cdn_start_ms;	  /* monotonic: the CDN job started; 0 never */
	int64_t cdn_end_ms;	  /* monotonic: it ended; 0 while running */
	int64_t dl_ok, dl_failed; /* download reports */
	double dl_min_s, dl_max_s;
	double dl_recent_s[SN_TASK_DL_KEEP]; /* ring of the last successful durations */
	int dl_n, dl_pos;
};

enum sn_cdn_state {
	SN_CDN_NEW,	/* nothing known: the next registration starts a CDN job */
	SN_CDN_PROBING, /* a CDN job is learning the source length */
	SN_CDN_RUNNING, /* length known; pieces appear as the fetch writes them */
	SN_CDN_DONE,	/* every piece is cached */
	SN_CDN_FAILED,	/* the source failed: answer fail_code until fail_until_ms */
};

struct sn_task {
	char id[DF_TASK_ID_LEN + 1]; /* immutable */
	char *task_url;		     /* immutable */
	char *md5;		     /* immutable; "" when none */
	char *identifier;	     /* immutable; "" when none */
	char *range;		     /* immutable; the Range header of the task, "" when none */
	char *path;		     /* immutable: the cache file */
	char *meta_path;	     /* immutable */
	char *http_path;	     /* immutable: "/download/<id[0:3]>/<id>" */
	atomic_int refs;
	atomic_uint_fast64_t gen; /* bumped (under lock) whenever work may have appeared */
	struct sn_waitlist waiters; /* requests waiting for this task (waitq's lock) */
	pthread_mutex_t lock;

	/* The source, as the latest registration that (re)started the CDN job gave it. */
	char *raw_url;	     /* lock */
	char **headers;	     /* lock; NULL-terminated "K: V" */
	uint64_t source_hash; /* lock: of the URL and headers (sn_source_hash) */
	bool insecure;	     /* lock */
	char *ca_pem;	     /* lock; NULL: system CAs */
	size_t ca_len;	     /* lock */

	enum sn_cdn_state state; /* lock */
	bool job_running;	 /* lock: a CDN job thread works on this task */
	int fail_code;		 /* lock: protocol code while FAILED */
	char *fail_msg;		 /* lock */
	uint64_t fail_hash;	 /* lock: source_hash of the registration that failed */
	int64_t fail_until_ms;	 /* lock: monotonic */
	int64_t src_len;	 /* lock: source length, -1 unknown */
	int32_t piece_size;	 /* lock: 0 until known */
	char (*piece_md5)[48];	 /* lock: "<md5 of the framed piece>:<framed length>" */
	int64_t md5_cap;	 /* lock */
	char file_md5[33];	 /* lock: of the whole content, when DONE */
	char file_sha256[65];	 /* lock */
	bool cache_hit;		 /* lock: served from a cache of an earlier run or task */
	struct sn_progress *prog; /* lock */
	int64_t last_access_ms;	 /* lock: monotonic */
	int64_t created_ms;	 /* immutable */
	int sn_fails;		 /* lock: transfers from the supernode reported failed */
	struct sn_task_stats st; /* lock */
	_Atomic int64_t source_bytes; /* content bytes read from the source for this task */
};

/* A new task for registration r (identity, source). repo_dir is the cache directory.
 * Returns it with one reference (the caller's). */
struct sn_task *sn_task_new(const char *id, const struct sn_regreq *r, const char *repo_dir,
			    int64_t now_ms);
void sn_task_ref(struct sn_task *t);
/* Drop a reference; the last one frees the task. Accepts NULL. */
void sn_task_unref(struct sn_task *t);

/* Does r name the same file as t (task URL, md5, identifier)? Immutable fields only: no
 * lock needed. */
bool sn_task_same_identity(const struct sn_task *t, const struct sn_regreq *r);
/* Take r's source settings (URL, headers, TLS) for the next source request. */
void sn_task_set_source_locked(struct sn_task *t, const struct sn_regreq *r);
/* Record the md5 and framed length of piece n (grows the table). */
void sn_task_set_piece_md5_locked(struct sn_task *t, int64_t n, const char *md5,
				  int64_t framed_len);
/* The framed length of the whole file, or -1 while the source length is unknown. */
int64_t sn_task_framed_len_locked(const struct sn_task *t);
/* Work may have appeared: bump gen (lock held). Then, without the lock, wake waiters. */
void sn_task_bump_locked(struct sn_task *t);

/* A hash of a source request (the URL and the headers, in any order), to tell whether a
 * registration would ask the source differently from the one that failed. Pure. */
uint64_t sn_source_hash(const char *url, const char *const *headers);

/* Copy a NULL-terminated string array (the caller's; sn_strv_free). */
char **sn_strv_dup(const char *const *v);
void sn_strv_free(char **v);

#endif
