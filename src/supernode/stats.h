/* stats: the supernode's counters, in one place, for the logs, /metrics and the REST API
 * (metrics.h renders them). Every field is atomic; update with SN_STAT_ADD from any
 * thread. */
#ifndef SN_STATS_H
#define SN_STATS_H

#include <stdatomic.h>
#include <stdint.h>

struct sn_stats {
	_Atomic int64_t source_bytes;	 /* content bytes read from sources */
	_Atomic int64_t source_requests; /* HTTP requests sent to sources */
	_Atomic int64_t source_errors;	 /* probes and fetches that failed */
	_Atomic int64_t served_bytes;	 /* framed bytes the piece server queued */
	_Atomic int64_t piece_requests;	 /* piece server requests answered 206 */
	_Atomic int64_t piece_rejects;	 /* piece server requests answered 4xx */
	_Atomic int64_t pieces_from_peers;     /* piece tasks handed out with a peer source */
	_Atomic int64_t pieces_from_supernode; /* piece tasks handed out from the supernode */
	_Atomic int64_t cdn_hits;	 /* tasks served from the disk cache */
	_Atomic int64_t cdn_misses;	 /* tasks fetched from the source */
	_Atomic int64_t cdn_resumes;	 /* fetches resumed from a partial cache file */
	_Atomic int64_t registrations;
	_Atomic int64_t pulls;	   /* /peer/task requests */
	_Atomic int64_t pull_holds; /* /peer/task requests that waited for work */
	_Atomic int64_t pull_waits; /* /peer/task answers 602 */
	_Atomic int64_t bad_requests; /* 4xx answers of the API */
	_Atomic int64_t peers_isolated;
	/* Content bytes clients reported (piece/suc) having fetched from peers, and from the
	 * supernode: what the fleet moved without the source. */
	_Atomic int64_t p2p_bytes;
	_Atomic int64_t sn_piece_bytes;
	_Atomic int64_t gc_tasks;	 /* idle tasks forgotten */
	_Atomic int64_t gc_clients;	 /* clients dropped (gone, isolated or silent) */
	_Atomic int64_t gc_cache_files; /* cached files deleted by the disk collection */
	_Atomic int64_t gc_cache_bytes;
	_Atomic int64_t downloads_ok;	  /* /task/metrics reports of finished downloads */
	_Atomic int64_t downloads_failed; /* ... and of failed ones */
};

extern struct sn_stats sn_stats;

#define SN_STAT_ADD(field, n) atomic_fetch_add_explicit(&sn_stats.field, (n), memory_order_relaxed)
#define SN_STAT_GET(field) atomic_load_explicit(&sn_stats.field, memory_order_relaxed)

#endif
