/* registry: the supernode's maps: task id -> task, and peer host ("ip:port") -> peer
 * record. One lock, held only for map operations (never for I/O or while taking a task
 * lock). Tasks handed out carry a reference the caller drops with sn_task_unref.
 * Thread-safe. */
#ifndef SN_REGISTRY_H
#define SN_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sn_task;

/* What we know of a peer host (informational: for operators and GC). */
struct sn_peer_info {
	char ip[64];
	char host_name[128];
	int port;
	char version[32];
	int64_t first_seen_ms; /* wall clock */
	int64_t last_seen_ms;  /* wall clock */
};

void sn_registry_init(void);
/* Drop every task and peer (at exit). */
void sn_registry_cleanup(void);

/* The task with id (a new reference), or NULL. */
struct sn_task *sn_registry_get(const char *id);
/* The task with t's id if one is listed (a new reference, and *added_r = false), else
 * list t (the registry takes its own reference; *added_r = true) and return it with a new
 * reference. */
struct sn_task *sn_registry_add(struct sn_task *t, bool *added_r);
/* Unlist t if it is listed (drops the registry's reference). Returns true if it was. */
bool sn_registry_remove(struct sn_task *t);
/* Every listed task (new references) in a heap array (the caller's). */
struct sn_task **sn_registry_tasks(size_t *n_r);
size_t sn_registry_task_count(void);

/* Record that a peer host registered now. */
void sn_registry_peer_seen(const char *ip, int port, const char *host_name,
			   const char *version, int64_t now_wall_ms);
/* Forget the record of peer ip:port. Returns true if there was one. */
bool sn_registry_peer_remove(const char *ip, int port);
/* Forget peers not seen since before_wall_ms. Returns how many. */
size_t sn_registry_peer_expire(int64_t before_wall_ms);
size_t sn_registry_peer_count(void);
/* Copies of every peer record (the caller's array). */
struct sn_peer_info *sn_registry_peers(size_t *n_r);

#endif
