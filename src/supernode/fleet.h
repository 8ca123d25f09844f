/* fleet: read-only views of the supernode's state for operators (the REST API, the status
 * page, /metrics), and the operators' deletions.
 *
 * A peer is a host's uploader, named "<ip>:<port>" (port 0: a client without an uploader);
 * its view joins the registry's record (host name, version, first and last registration)
 * with what its clients do in every task (load, transfers, pieces, down or isolated).
 * A task view copies the CDN state, the pieces, the clients, the bytes moved and the
 * download times.
 *
 * Views are copies, the caller's. They are made under one task lock at a time (never two
 * locks at once, no I/O under a lock). Thread-safe.
 */
#ifndef SN_FLEET_H
#define SN_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sn_ctx;

/* A peer's health: healthy, down (its uploader said service/down), isolated (it failed
 * as a source and is no longer handed out). */
enum sn_health { SN_HEALTH_OK, SN_HEALTH_DOWN, SN_HEALTH_ISOLATED, SN_HEALTH_COUNT };
const char *sn_health_name(enum sn_health h);

struct sn_peer_view {
	char id[96]; /* "ip:port" */
	char ip[64];
	char host_name[128];
	int port;
	char version[32];
	int64_t created_ms;   /* wall clock of its first registration; 0 unknown */
	int64_t last_seen_ms; /* wall clock of its last registration or request */
	enum sn_health health;
	const char *activity; /* "downloading", "seeding" or "idle" (static) */
	int tasks;	      /* tasks it is a client of */
	int downloading;      /* ... not finished */
	int finished;
	int down, isolated;   /* of its clients */
	int load;	      /* uploads others run from it now */
	int inflight;	      /* its own piece downloads in flight */
	int64_t pieces;	      /* pieces it holds, all tasks */
	bool serves;	      /* it has an uploader others may fetch from */
};

/* Every peer: registry records and clients of tasks. The caller frees the array. */
struct sn_peer_view *sn_fleet_peers(size_t *n_r);
/* One peer by id; false when unknown. */
bool sn_fleet_peer(const char *id, struct sn_peer_view *v_r);
/* Sort by key: id, ip, hostName, port, created, lastSeen, load, tasks, pieces, health.
 * Returns 0, or -EINVAL for another key. Pure. */
int sn_fleet_sort_peers(struct sn_peer_view *v, size_t n, const char *key, bool desc);
/* Forget a peer: its record and its clients in every task (their transfers end; their
 * next request is told to register again). Returns the number of clients dropped, or
 * -ENOENT when no such peer exists. */
int sn_fleet_delete_peer(struct sn_ctx *ctx, const char *id);

/* A task's status for operators: the original's CDN states. */
enum sn_task_status {
	SN_TS_WAITING,	    /* registered; the CDN job has not learned the length yet */
	SN_TS_RUNNING,	    /* the CDN copy is being fetched */
	SN_TS_SUCCESS,	    /* every piece is cached */
	SN_TS_FAILED,	    /* the CDN job failed (the supernode's side) */
	SN_TS_SOURCE_ERROR, /* the source refused, was not found or failed (607, 608, 610) */
	SN_TS_COUNT,
};
const char *sn_task_status_name(enum sn_task_status s);
/* A status name in any case; -1 when unknown. Pure. */
int sn_task_status_parse(const char *name);

struct sn_client_view {
	char *cid;
	char peer_id[96];
	int64_t pieces;
	bool finished, down, isolated, serves;
	int load, inflight;
};

struct sn_task_view {
	char id[65];
	char *task_url;
	enum sn_task_status status;
	const char *phase; /* "new", "probing", "fetching", "cached", "failed" (static) */
	int64_t file_length; /* -1 unknown */
	int32_t piece_size;
	int64_t pieces_total; /* known so far */
	bool total_known;
	int64_t pieces_cached;
	bool cache_hit;
	char md5[33];
	char sha256[65];
	int fail_code;
	char *fail_msg; /* NULL when none */
	int64_t created_ms; /* wall clock */
	int64_t idle_ms;    /* since the last request about it */
	int64_t cdn_ms;	    /* the CDN job's time (so far); -1 never ran */
	/* clients */
	int clients, active, finished, down, isolated;
	double client_progress; /* pieces held over pieces needed, all clients, 0..1 */
	int sn_load;		/* transfers from the supernode in flight */
	int64_t sn_given, peer_given; /* pieces handed out from the supernode / from peers */
	/* bytes */
	int64_t bytes_source, bytes_supernode, bytes_peers;
	/* download times (reports of finished downloads) */
	int64_t downloads, downloads_failed;
	double dl_min_s, dl_median_s, dl_max_s; /* 0 without reports */
	double min_time_s; /* the theoretical minimum (see sn_fleet_min_time); 0 unknown */
	/* detail only (sn_fleet_task with detail): */
	int32_t *holders;  /* per piece: clients that hold it (pieces_total of them) */
	int32_t *sources;  /* per piece: clients that may serve it now */
	struct sn_client_view *client_list;
	size_t nclient_list;
};

/* The theoretical minimum time of a download of len bytes: the time a client needs to
 * receive it at its full rate (client_rate bytes/s: the client-rate setting, or the
 * fastest download reported). 0 when the rate is not known. Pure. */
double sn_fleet_min_time(int64_t len, double client_rate);
/* The median of n values (sorts v). 0 for n == 0. Pure. */
double sn_fleet_median(double *v, size_t n);

/* Every task, newest first. The caller frees with sn_fleet_tasks_free. */
struct sn_task_view *sn_fleet_tasks(struct sn_ctx *ctx, size_t *n_r);
void sn_fleet_tasks_free(struct sn_task_view *v, size_t n);
/* One task, with per-piece and per-client detail when detail. Returns 0 or -ENOENT. */
int sn_fleet_task(struct sn_ctx *ctx, const char *id, bool detail, struct sn_task_view *v_r);
void sn_task_view_cleanup(struct sn_task_view *v);

struct sn_fleet_counts {
	int peers;
	int peers_by_health[SN_HEALTH_COUNT];
	int tasks;
	int tasks_by_status[SN_TS_COUNT];
	int clients; /* of every task */
	int active_clients;
};
void sn_fleet_counts(struct sn_ctx *ctx, struct sn_fleet_counts *c_r);

#endif
